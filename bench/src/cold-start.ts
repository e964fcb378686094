/**
 * `npm run cold-start`: how long `npm run train` takes from loading its data to its first training step on a
 * machine that has compiled nothing (an empty Mesa shader cache and an empty sparsenet tuning cache: "cold"),
 * then again with both caches as the first run left them ("warm"). Each run is the train CLI in a child
 * process, stopped once its kernels are settled; the time is the child's own "step 1 done" line, and its CPU
 * seconds are read from /proc (other work on the machine stretches wall time, not CPU time).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface StartTiming {
  /** Seconds from the data loaded to step 1 done, as the trainer logs it. */
  toFirstStep: number;
  /** The child's CPU seconds (all threads) when step 1 was done. */
  cpuAtFirstStep: number | null;
  /** The trainer's kernel lines. */
  lines: string[];
}

const TRAIN_CLI = join(import.meta.dirname, '../../packages/sparsenet/dist/cli/train.js');

/** Runs the train CLI until it has written its kernel caches, and returns when step 1 was done. */
function timeStart(env: NodeJS.ProcessEnv, out: string, trainArgs: string[]): Promise<StartTiming> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TRAIN_CLI, '--out', out, ...trainArgs], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: string[] = [];
    let timing: Omit<StartTiming, 'lines'> | null = null;
    let rest = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (line.startsWith('kernels:')) lines.push(line);
        const done = /^kernels: step 1 done ([\d.]+) s after the data loaded/.exec(line);
        if (done) timing = { toFirstStep: Number(done[1]), cpuAtFirstStep: cpuSeconds(child.pid) };
        // The line after tuning: the caches are written, the start-up is over.
        if (/^kernels: \d+ more programs compiled/.test(line)) child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timing) resolve({ ...timing, lines });
      else reject(new Error(`train exited (${signal ?? code}) before its first step:\n${lines.join('\n')}${rest}`));
    });
  });
}

/** utime + stime of a process and its threads, from /proc (null where there is none). */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, args: { type: 'string', default: '' } }, strict: true });
  const trainArgs = values.args.split(' ').filter(Boolean);
  for (let run = 1; run <= Number(values.runs); run++) {
    const root = mkdtempSync(join(tmpdir(), 'sparsenet-cold-start-'));
    const env = { ...process.env, MESA_SHADER_CACHE_DIR: join(root, 'mesa'), SPARSENET_CACHE_DIR: join(root, 'sparsenet') };
    try {
      for (const kind of ['cold', 'warm']) {
        const t = await timeStart(env, join(root, kind), trainArgs);
        const cpu = t.cpuAtFirstStep === null ? '' : ` (process CPU ${t.cpuAtFirstStep.toFixed(1)} s since its start)`;
        console.log(`${kind}: step 1 done ${t.toFirstStep.toFixed(1)} s after the data loaded${cpu}`);
        for (const line of t.lines) console.log(`  ${line}`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
