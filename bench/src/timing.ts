/**
 * One timing loop for everything the bench measures, ours and the peers': warm-up excluded, then the median
 * over blocks of repeated runs, with one synchronisation (readback or queue drain) per block, never per run.
 * Wall time: the peers cannot be timed any other way, and the same clock must judge both sides.
 */
import type { KernelRunner } from '@sparsenet/kernels-wgsl';

export interface TimingOptions {
  warmup?: number;
  /** Runs per timed block. */
  perBlock?: number;
  blocks?: number;
  /** Stop adding blocks after this many milliseconds (at least 3 blocks run). */
  budgetMs?: number;
}

export interface Timing {
  /** Median milliseconds per run. */
  ms: number;
  /** Timed runs and blocks (each block ends with one synchronisation). */
  runs: number;
  blocks: number;
}

/** Median milliseconds per run of `record`, which records GPU work on `runner`. */
export async function timeBlocks(runner: KernelRunner, record: () => void, options: TimingOptions = {}): Promise<number> {
  return (await timeSync(record, () => runner.sync(), options)).ms;
}

/**
 * The same loop for any backend: `run` records one run, `sync` waits for all recorded work. `onTimed` is
 * called when timing starts (after the warm-up's synchronisation), so callers can snapshot counters.
 */
export async function timeSync(run: () => void | Promise<void>, sync: () => Promise<unknown>, options: TimingOptions = {}, onTimed?: () => void): Promise<Timing> {
  const { warmup = 2, perBlock = 5, blocks = 5, budgetMs = 20_000 } = options;
  for (let i = 0; i < warmup; i++) await run();
  await sync();
  onTimed?.();
  const samples: number[] = [];
  const started = performance.now();
  for (let b = 0; b < blocks; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBlock; i++) await run();
    await sync();
    samples.push((performance.now() - t0) / perBlock);
    if (b >= 2 && performance.now() - started > budgetMs) break;
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[samples.length >> 1], runs: samples.length * perBlock, blocks: samples.length };
}

/** Milliseconds per block that calibrated timing aims for: long enough to dwarf a synchronisation. */
const TARGET_BLOCK_MS = 150;

/**
 * timeBlocks with runs per block chosen from one trial run (after a first run that compiles pipelines), so
 * that a microsecond kernel and a second-long one both get blocks of about TARGET_BLOCK_MS.
 */
export async function calibrated(runner: KernelRunner, record: () => void, options: TimingOptions = {}): Promise<number> {
  record();
  await runner.sync();
  const t0 = performance.now();
  record();
  await runner.sync();
  const trial = performance.now() - t0;
  const perBlock = Math.max(1, Math.min(50, Math.round(TARGET_BLOCK_MS / Math.max(trial, 0.01))));
  return timeBlocks(runner, record, { warmup: 1, ...options, perBlock });
}
