/**
 * Picks among a kernel's variants by measuring, once per adapter and shape. Ops call `choose()`, which is
 * synchronous: a known shape gets its measured winner; a new shape gets the heuristic's pick now and is
 * queued, with a closure that can run each variant on scratch buffers. `tunePending()` (awaited once, e.g.
 * after a warm-up step) times every queued shape's variants and remembers the fastest. This is the one
 * synchronisation besides readback. Results can be exported and imported to persist them across runs: each
 * record carries its version, a hash of the WGSL its variants run, and an imported record is used only while
 * the kernels still build that WGSL (otherwise the shape is measured again).
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

/** A measured choice as exported: the variant, and the hash of the WGSL of every variant it was measured against. */
export interface TuningRecord {
  variant: string;
  version: string;
}

export class KernelTuner {
  private readonly chosen = new Map<string, TuningRecord>();
  /** Imported records not yet asked for: checked against the kernels' WGSL when their shape is first chosen. */
  private readonly imported = new Map<string, TuningRecord>();
  private readonly pending = new Map<string, TuneRequest>();
  private forced: Record<string, string> = {};
  /** Variants timed so far (a shape whose imported record still holds measures none). */
  measuredCount = 0;

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
    if (known !== undefined) return known.variant;
    if (!this.pending.has(key)) {
      const queued = request();
      const record = this.imported.get(key);
      this.imported.delete(key);
      if (record && variants.includes(record.variant) && record.version === this.versionOf(queued)) {
        // Making the request may have recorded work on its scratch buffers (copies): submit it before freeing them.
        this.runner.flush();
        queued.release();
        this.chosen.set(key, record);
        return record.variant;
      }
      this.pending.set(key, queued);
    }
    return heuristic;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Measures every queued shape: each variant warmed up, then the median of `repeats` timed runs. */
  async tunePending(repeats = 5): Promise<Map<string, Record<string, number>>> {
    const report = new Map<string, Record<string, number>>();
    for (const [key, request] of this.pending) {
      const version = this.versionOf(request);
      const times: Record<string, number> = {};
      for (const variant of request.variants) {
        this.measuredCount++;
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
      this.chosen.set(key, { variant: best, version });
      report.set(key, times);
    }
    this.pending.clear();
    return report;
  }

  /** The measured choices, for persisting (key `kernel:shape` to its record). */
  export(): Record<string, TuningRecord> {
    return Object.fromEntries(this.chosen);
  }

  /** Records to use instead of measuring, each only if its version matches the WGSL its kernel builds now. */
  import(records: Record<string, TuningRecord>): void {
    for (const [key, record] of Object.entries(records)) {
      this.chosen.delete(key);
      this.imported.set(key, { variant: record.variant, version: record.version });
    }
  }

  /** A hash of the WGSL every variant of `request` runs, captured without compiling or dispatching anything. */
  private versionOf(request: TuneRequest): string {
    const texts = request.variants.map((variant) => `${variant}\n${this.runner.programsOf(() => request.run(variant)).map((p) => p.wgsl).join('\n')}`);
    return hashText(texts.join('\n'));
  }
}

/** A 64-bit fingerprint of a string (FNV-1a in two 32-bit lanes with different offsets), as 16 hex digits. */
function hashText(text: string): string {
  const lane = (offset: number) => {
    let h = offset;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return (h >>> 0).toString(16).padStart(8, '0');
  };
  return lane(0x811c9dc5) + lane(0x2f6b4d17);
}
