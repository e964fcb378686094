/**
 * What a fresh machine pays to compile the kernels: every program a default LeNet training run can use, each
 * made ready (pipeline and first dispatch: lavapipe compiles at the first dispatch) on an empty Mesa shader
 * cache, in child processes so that this process's warm kernels and the user's cache play no part. Timed one
 * after another (the cost of each first use) and all at once through runner.precompile (what overlaps).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ColdCompileReport } from './cold-compile-child.js';
import type { Table } from './table.js';

const CHILD = join(import.meta.dirname, 'cold-compile-child.js');

export async function measureColdCompile(table: Table, options: { quick: boolean }): Promise<void> {
  const variants = options.quick ? 'heuristic' : 'all';
  const oneByOne = await runChild('one-by-one', variants);
  const together = await runChild('together', variants);
  const uses = [...oneByOne.firstUses].sort((a, b) => a.ms - b.ms);
  const median = uses[uses.length >> 1];
  const largest = uses[uses.length - 1];
  const scope = options.quick ? 'untuned picks only (--quick)' : 'every matmul and conv2d variant';
  table.add({ section: 'cold', name: 'pipelines of a LeNet training run', value: oneByOne.programs, unit: 'count', note: `training and evaluation shapes of the default run, ${scope}` });
  table.add({ section: 'cold', name: 'first use per pipeline, median', value: median.ms, unit: 'ms', note: `empty Mesa cache; CPU ${median.cpuMs.toFixed(0)} ms` });
  table.add({ section: 'cold', name: 'first use per pipeline, largest', value: largest.ms, unit: 'ms', note: `${largest.key}; CPU ${largest.cpuMs.toFixed(0)} ms`, data: { firstUses: oneByOne.firstUses } });
  table.add({ section: 'cold', name: 'all, one after another', value: oneByOne.wallMs / 1000, unit: 's', note: `CPU ${(oneByOne.cpuMs / 1000).toFixed(1)} s` });
  table.add({
    section: 'cold', name: 'all at once (runner.precompile)', value: together.wallMs / 1000, unit: 's', fraction: together.wallMs / oneByOne.wallMs, of: 'one after another',
    note: `CPU ${(together.cpuMs / 1000).toFixed(1)} s; ${together.helpers} compile helper device(s) beside the runner's`,
  });
}

/** One child process on an empty Mesa shader cache of its own. */
function runChild(mode: ColdCompileReport['mode'], variants: 'heuristic' | 'all'): Promise<ColdCompileReport> {
  const cache = mkdtempSync(join(tmpdir(), 'sparsenet-cold-compile-'));
  return new Promise<ColdCompileReport>((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, mode, variants], { env: { ...process.env, MESA_SHADER_CACHE_DIR: cache }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ColdCompileReport);
      else reject(new Error(`bench cold compile (${mode}): child exited ${code}\n${err.trim()}`));
    });
  }).finally(() => rmSync(cache, { recursive: true, force: true }));
}
