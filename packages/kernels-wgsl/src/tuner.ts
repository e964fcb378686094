/**
 * Picks among a kernel's variants by measuring, once per adapter and shape. Ops call `choose()`, which is
 * synchronous: a known shape gets its measured winner; a new shape gets the heuristic's pick now and is
 * queued, with a closure that can run each variant on scratch buffers. `tunePending()` (awaited once, e.g.
 * after a warm-up step) times every queued shape's variants and remembers the fastest. This is the one
 * synchronisation besides readback. Results can be exported and imported to persist them across runs.
 *
 * Forcing: `force({ matmul: 'tiled' })` (or SPARSENET_VARIANTS="matmul=tiled,conv2d=direct" read by the tensor
 * package) makes every choice of that kernel return the named variant, so tests and browser/Node comparisons
 * run the variants they name.
 */
import type { KernelRunner } from './runner.js';

export interface TuneRequest {
  /** The kernel's family name, as used by `force` (e.g. 'matmul'). */
  kernel: string;
  /** The shape key (e.g. '128x2704x120:nt'). */
  shape: string;
  variants: readonly string[];
  /** Records one run of `variant` on the runner (scratch buffers owned by the closure). */
  run: (variant: string) => void;
  /** Frees the closure's scratch buffers. */
  release: () => void;
}

export class KernelTuner {
  private readonly chosen = new Map<string, string>();
  private readonly pending = new Map<string, TuneRequest>();
  private forced: Record<string, string> = {};

  constructor(private readonly runner: KernelRunner) {}

  /** Forces variants by kernel name; an empty object clears. */
  force(variants: Record<string, string>): void {
    this.forced = { ...variants };
  }

  forcedVariant(kernel: string): string | undefined {
    return this.forced[kernel];
  }

  /**
   * The variant to use for `kernel` at `shape`. `heuristic` is used until measured; `request` is called
   * (once per shape) to queue a measurement.
   */
  choose(kernel: string, shape: string, variants: readonly string[], heuristic: string, request: () => TuneRequest): string {
    const forced = this.forced[kernel];
    if (forced !== undefined) {
      if (!variants.includes(forced)) throw new Error(`${kernel}: no variant '${forced}' (variants: ${variants.join(', ')})`);
      return forced;
    }
    const key = `${kernel}:${shape}`;
    const known = this.chosen.get(key);
    if (known !== undefined) return known;
    if (!this.pending.has(key)) this.pending.set(key, request());
    return heuristic;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Measures every queued shape: each variant warmed up, then the median of `repeats` timed runs. */
  async tunePending(repeats = 5): Promise<Map<string, Record<string, number>>> {
    const report = new Map<string, Record<string, number>>();
    for (const [key, request] of this.pending) {
      const times: Record<string, number> = {};
      for (const variant of request.variants) {
        request.run(variant);
        await this.runner.sync();
        const samples: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const start = performance.now();
          request.run(variant);
          await this.runner.sync();
          samples.push(performance.now() - start);
        }
        samples.sort((a, b) => a - b);
        times[variant] = samples[samples.length >> 1];
      }
      request.release();
      const best = Object.entries(times).sort((a, b) => a[1] - b[1])[0][0];
      this.chosen.set(key, best);
      report.set(key, times);
    }
    this.pending.clear();
    return report;
  }

  /** The measured choices, for persisting (key `kernel:shape` to variant). */
  export(): Record<string, string> {
    return Object.fromEntries(this.chosen);
  }

  import(choices: Record<string, string>): void {
    for (const [key, variant] of Object.entries(choices)) this.chosen.set(key, variant);
  }
}
