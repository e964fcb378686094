import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { getDevice, getDeviceInfo, noGrad, runtime, sparseLinear, sparseLinearWeight, tensor, useCompileHelper, type DeviceInfo } from '@sparsenet/tensor';
import { readTuningCache, tuningCacheDir, tuningCacheFile, writeTuningCache, type AdapterIdentity } from '../src/tuning-cache.js';

let device: GPUDevice;
let adapter: DeviceInfo;
const dir = mkdtempSync(join(tmpdir(), 'sparsenet-tuning-cache-'));

beforeAll(async () => {
  device = await getDevice();
  adapter = await getDeviceInfo();
});

/** Two shapes through the dispatchers (odd sizes: unaligned programs), on a runner of its own. */
function dispatchShapes(runner: k.KernelRunner): void {
  const scratch = (floats: number) => runner.createBuffer(floats * 4, k.BufferUsage.STORAGE, 'tuning cache test');
  const [a, b, c] = [scratch(7 * 5), scratch(5 * 9), scratch(7 * 9)];
  k.matmul(runner, a, b, c, 7, 9, 5);
  k.matmul(runner, a, b, c, 5, 9, 7);
}

/** A fresh runner (a fresh tuner) on the same device that imports `identity`'s cache, runs the shapes and tunes. */
async function tunedRun(identity: AdapterIdentity, warnings: string[] = []) {
  const runner = new k.KernelRunner(device);
  const file = tuningCacheFile(dir, identity);
  runner.tuner.import(readTuningCache(file, identity, (line) => warnings.push(line)).tuning);
  dispatchShapes(runner);
  const pending = runner.tuner.pendingCount;
  await runner.tuner.tunePending(1);
  await runner.sync();
  const tuning = runner.tuner.export();
  writeTuningCache(file, identity, { tuning, programs: [] });
  return { measured: runner.tuner.measuredCount, pending, tuning, file };
}

describe('tuning cache', () => {
  it('a second tuner on the same adapter measures nothing and chooses the same; another driver or kernel version measures again', async () => {
    const first = await tunedRun(adapter);
    expect(first.measured).toBeGreaterThan(0);
    expect(first.pending).toBe(2);
    expect(Object.keys(first.tuning)).toHaveLength(2);

    const second = await tunedRun(adapter);
    expect(second.pending).toBe(0);
    expect(second.measured).toBe(0);
    expect(second.tuning).toEqual(first.tuning);

    // Another driver string (a shard on another machine sharing the folder): its own file, measured afresh.
    const otherDriver = { ...adapter, driver: `${adapter.driver} (another version)` };
    expect(tuningCacheFile(dir, otherDriver)).not.toBe(first.file);
    const other = await tunedRun(otherDriver);
    expect(other.measured).toBeGreaterThan(0);
    // ...and neither overwrote the other.
    expect((await tunedRun(adapter)).measured).toBe(0);

    // A record whose kernel version (the hash of its variants' WGSL) differs from what the kernels build now.
    const body = JSON.parse(readFileSync(first.file, 'utf8'));
    const [staleKey] = Object.keys(body.tuning);
    body.tuning[staleKey].version = 'built-from-older-wgsl';
    writeFileSync(first.file, JSON.stringify(body));
    const stale = await tunedRun(adapter);
    expect(stale.pending).toBe(1);
    expect(stale.measured).toBeGreaterThan(0);
    expect(stale.tuning[staleKey].version).toBe(first.tuning[staleKey].version);
  });

  it('a damaged, foreign or unreadable cache gives a warning and a fresh measurement, never a crash', async () => {
    const identity = { ...adapter, driver: `${adapter.driver} (damaged cache test)` };
    const file = tuningCacheFile(dir, identity);
    const cases: [string, () => void, RegExp][] = [
      ['truncated JSON', () => writeFileSync(file, '{"format": "sparsenet-kernel-cache", "tun'), /kernel cache .* is damaged \(.*JSON/],
      ['a record without a version', () => writeFileSync(file, JSON.stringify({ format: 'sparsenet-kernel-cache', version: 1, adapter: identity, tuning: { 'matmul:7x5x9:nn': { variant: 'register' } }, programs: [] })), /tuning record matmul:7x5x9:nn lacks a variant or version/],
      ['another adapter\'s file', () => writeFileSync(file, JSON.stringify({ format: 'sparsenet-kernel-cache', version: 1, adapter: { ...identity, device: 'another' }, tuning: {}, programs: [] })), /written for another adapter or driver/],
      ['a folder where the file should be', () => {
        rmSync(file, { force: true });
        mkdirSync(file);
      }, /kernel cache .* is unreadable/],
    ];
    for (const [what, damage, warning] of cases) {
      damage();
      const warnings: string[] = [];
      const runner = new k.KernelRunner(device);
      const cache = readTuningCache(file, identity, (line) => warnings.push(line));
      expect(cache, what).toEqual({ tuning: {}, programs: [] });
      expect(warnings.join('\n'), what).toMatch(warning);
      runner.tuner.import(cache.tuning);
      dispatchShapes(runner);
      await runner.tuner.tunePending(1);
      expect(runner.tuner.measuredCount, what).toBeGreaterThan(0);
    }
  });

  it('keeps the programs a run used, and a runner that precompiles them creates no pipeline when it runs them', async () => {
    const first = new k.KernelRunner(device);
    first.tuner.force({ matmul: 'register' });
    const programs = first.programsOf(() => dispatchShapes(first));
    expect(programs.map((p) => p.key)).toEqual([expect.stringMatching(/^matmul_register_/), expect.stringMatching(/^matmul_register_/)]);
    expect(first.counters.pipelinesCreated).toBe(0);
    const identity = { ...adapter, driver: `${adapter.driver} (programs test)` };
    const file = tuningCacheFile(dir, identity);
    writeTuningCache(file, identity, { tuning: {}, programs });

    const next = new k.KernelRunner(device);
    next.tuner.force({ matmul: 'register' });
    const remembered = readTuningCache(file, identity, (line) => expect.fail(line)).programs;
    expect(remembered).toEqual(programs.map(({ key, wgsl, bindings }) => ({ key, wgsl, bindings })));
    const created = await next.precompile(remembered);
    expect(created).toBe(new Set(programs.map((p) => p.key)).size);
    dispatchShapes(next);
    await next.sync();
    expect(next.counters.pipelinesCreated).toBe(created);

    // The same with a compile helper device (lavapipe: it compiles a share, which arrives through Mesa's cache).
    expect(await useCompileHelper()).toBe(adapter.kind === 'lavapipe');
    const helped = new k.KernelRunner(device);
    helped.compileHelpers = runtime().runner.compileHelpers;
    const both = () => ['register', 'tiled'].forEach((matmul) => {
      helped.tuner.force({ matmul });
      dispatchShapes(helped);
    });
    const keys = new Set(helped.programsOf(both).map((p) => p.key));
    expect(keys.size).toBe(2);
    expect(await helped.precompile(helped.programsOf(both))).toBe(2);
    both();
    await helped.sync();
    expect(helped.counters.pipelinesCreated).toBe(2);
  });

  it('an imported record whose kernel copies operands at request time (the sparse ops) is checked without a device error', async () => {
    const { runner } = runtime();
    const weight = sparseLinearWeight(Float32Array.from({ length: 6 * 10 }, (_, i) => (i % 3 === 0 ? 0.5 : 0)), [6, 10]);
    const x = tensor(new Float32Array(3 * 10).fill(1), [3, 10]);
    try {
      const run = async () => (await noGrad(() => sparseLinear(x, weight)).toArray()) as Float32Array;
      const want = await run();
      await runner.tuner.tunePending(1);
      const records = Object.fromEntries(Object.entries(runner.tuner.export()).filter(([key]) => key.startsWith('sparse_linear:')));
      expect(Object.keys(records)).toHaveLength(1);
      runner.tuner.import(records);
      const measured = runner.tuner.measuredCount;
      expect(await run()).toEqual(want);
      await runner.sync();
      expect(runner.tuner.pendingCount).toBe(0);
      expect(runner.tuner.measuredCount).toBe(measured);
    } finally {
      weight.dispose();
      x.dispose();
    }
  });

  it('lives in $SPARSENET_CACHE_DIR, else $XDG_CACHE_HOME/sparsenet, else ~/.cache/sparsenet', () => {
    expect(tuningCacheDir({ SPARSENET_CACHE_DIR: '/a', XDG_CACHE_HOME: '/b' })).toBe('/a');
    expect(tuningCacheDir({ XDG_CACHE_HOME: '/b' })).toBe(join('/b', 'sparsenet'));
    expect(tuningCacheDir({})).toBe(join(homedir(), '.cache', 'sparsenet'));
  });
});
