/**
 * Picks among a kernel's variants by measuring, once per adapter and shape. Ops call `choose()`, which is
 * synchronous: a known shape gets its measured winner; a new shape gets the heuristic's pick now and is
 * queued, with a closure that can run each variant on scratch buffers. `tunePending()` (awaited once, e.g.
 * after a warm-up step) times every queued shape's variants and remembers the fastest. This is the one
 * synchronisation besides readback.
 *
 * Persisting: `export()` gives the choices with the version (a hash of the WGSL, see wgsl-version.ts) they
 * were measured on; `import()` takes such records back as candidates, each used only when the kernel's
 * request for that key, built now, has the same version (an edited kernel is measured again).
 *
 * Forcing: `force({ matmul: 'tiled' })` (or SPARSENET_VARIANTS="matmul=tiled,conv2d=direct" read by the tensor
 * package) makes every choice of that kernel return the named variant, so tests and browser/Node comparisons
 * run the variants they name.
 */
import type { KernelRunner, Program } from './runner.js';
import { programsVersion } from './wgsl-version.js';

export interface TuneRequest<V extends string = string> {
  /** The kernel's family name, as used by `force` (e.g. 'matmul'). */
  kernel: string;
  /** The shape key, with every flag compiled into the WGSL that changes speed (e.g. '128x2704x120:nt+bias+relu'). */
  shape: string;
  variants: readonly V[];
  /** Every program the variants run for this shape (their WGSL is the request's version; a runner may precompile them). */
  programs: readonly Program[];
  /** `programsVersion(programs)`. */
  version: string;
  /** Records one run of `variant` on the runner (scratch buffers owned by the closure, made at first run). */
  run: (variant: V) => void;
  /** Frees the closure's scratch buffers (if it made any). */
  release: () => void;
}

/** A request with its version computed from its programs. */
export function tuneRequest<V extends string>(request: Omit<TuneRequest<V>, 'version'>): TuneRequest<V> {
  return { ...request, version: programsVersion(request.programs) };
}

/** A persisted choice: the variant measured fastest, and the version of the programs it was measured on. */
export interface TuningRecord {
  variant: string;
  version: string;
}

export class KernelTuner {
  private readonly chosen = new Map<string, TuningRecord>();
  /** Imported records not yet confirmed by a request of the same version. */
  private readonly candidates = new Map<string, TuningRecord>();
  private readonly pending = new Map<string, TuneRequest>();
  private forced: Record<string, string> = {};
  /** Variants timed so far by `tunePending` (tests count measurements with it). */
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
   * (once per shape) to queue a measurement, or to confirm an imported record's version.
   */
  choose<V extends string>(kernel: string, shape: string, variants: readonly V[], heuristic: V, request: () => TuneRequest<V>): V {
    const forced = this.forced[kernel];
    if (forced !== undefined) {
      if (!variants.includes(forced as V)) throw new Error(`${kernel}: no variant '${forced}' (variants: ${variants.join(', ')})`);
      return forced as V;
    }
    const key = `${kernel}:${shape}`;
    const known = this.chosen.get(key);
    if (known !== undefined) return known.variant as V;
    if (this.pending.has(key)) return heuristic;
    const queued = request();
    const candidate = this.candidates.get(key);
    this.candidates.delete(key);
    if (candidate && candidate.version === queued.version && variants.includes(candidate.variant as V)) {
      // Making the request may have recorded work on its scratch buffers (copies): submit it before freeing them.
      this.runner.flush();
      queued.release();
      this.chosen.set(key, candidate);
      return candidate.variant as V;
    }
    this.pending.set(key, queued as unknown as TuneRequest);
    return heuristic;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The requests queued for measurement (e.g. to compile their programs ahead). */
  pendingRequests(): TuneRequest[] {
    return [...this.pending.values()];
  }

  /** Measures every queued shape: each variant warmed up, then the median of `repeats` timed runs. */
  async tunePending(repeats = 5): Promise<Map<string, Record<string, number>>> {
    const report = new Map<string, Record<string, number>>();
    for (const [key, request] of this.pending) {
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
      this.chosen.set(key, { variant: best, version: request.version });
      report.set(key, times);
    }
    this.pending.clear();
    return report;
  }

  /** The measured (or imported and confirmed) choices, by key `kernel:shape`. */
  export(): Record<string, TuningRecord> {
    return Object.fromEntries([...this.chosen].map(([key, record]) => [key, { ...record }]));
  }

  /** Takes records (as `export()` gives them) as candidates; throws on anything else, naming the key. */
  import(records: Record<string, TuningRecord>): void {
    if (typeof records !== 'object' || records === null || Array.isArray(records)) throw new Error('tuner.import: expected an object of {variant, version} records by key');
    for (const [key, record] of Object.entries(records)) {
      if (typeof record?.variant !== 'string' || typeof record?.version !== 'string') {
        throw new Error(`tuner.import: '${key}' is not a {variant, version} record: ${JSON.stringify(record)}`);
      }
      if (!this.chosen.has(key)) this.candidates.set(key, { variant: record.variant, version: record.version });
    }
  }
}
