/**
 * Per-dispatch GPU timing for `KernelRunner.startProfile()`: while profiling, the runner gives every dispatch
 * its own compute pass, and this records the pass's begin and end timestamps (timestamp queries) under the
 * program's key.
 */
import { BufferUsage } from './flags.js';
import type { KernelRunner } from './runner.js';

/** Per-dispatch GPU timing with timestamp queries; one pass per dispatch while profiling. */
export class Profiler {
  private readonly runner: KernelRunner;
  private readonly keys: string[] = [];
  private readonly sets: { set: GPUQuerySet; resolve: GPUBuffer; first: number }[] = [];
  private static readonly PER_SET = 512;

  constructor(runner: KernelRunner) {
    this.runner = runner;
  }

  beginPass(encoder: GPUCommandEncoder, key: string): GPUComputePassEncoder {
    const index = this.keys.length % Profiler.PER_SET;
    if (index === 0) {
      const device = this.runner.device;
      const set = device.createQuerySet({ type: 'timestamp', count: 2 * Profiler.PER_SET });
      const resolve = device.createBuffer({ size: 16 * Profiler.PER_SET, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
      this.sets.push({ set, resolve, first: this.keys.length });
    }
    this.keys.push(key);
    const { set } = this.sets[this.sets.length - 1];
    return encoder.beginComputePass({ timestampWrites: { querySet: set, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 } });
  }

  async collect(): Promise<Map<string, { ms: number; count: number }>> {
    const totals = new Map<string, { ms: number; count: number }>();
    const device = this.runner.device;
    for (const { set, resolve, first } of this.sets) {
      const count = Math.min(Profiler.PER_SET, this.keys.length - first);
      const encoder = device.createCommandEncoder();
      encoder.resolveQuerySet(set, 0, 2 * count, resolve, 0);
      device.queue.submit([encoder.finish()]);
      const bytes = await this.runner.read(resolve, 0, 16 * count);
      const stamps = new BigUint64Array(bytes);
      for (let i = 0; i < count; i++) {
        const key = this.keys[first + i];
        const ns = stamps[2 * i + 1] > stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) : 0;
        const t = totals.get(key) ?? { ms: 0, count: 0 };
        t.ms += ns / 1e6;
        t.count++;
        totals.set(key, t);
      }
      set.destroy();
      resolve.destroy();
    }
    return totals;
  }
}
