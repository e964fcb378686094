/**
 * sparsenet's LeNet workloads: the training step exactly as the trainer runs it (upload the batch, forward,
 * cross-entropy, backward, Adam, running loss and accuracy on the GPU, scope end) and inference (upload,
 * forward without gradients), timed by the shared loop with one readback per block. Also the counters that
 * must stay at zero in the timed steps, and a per-kernel profile of one step.
 */
import type { KernelRunner, Program, UniformValue } from '@sparsenet/kernels-wgsl';
import { LeNet, INPUT_SIZE, NUM_CLASSES } from '@sparsenet/sparsenet';
import { accumulate, accumulateCorrect, beginScope, crossEntropy, labels, memory, noGrad, optim, Random, runtime, scale, tensor, type nn, type Tensor } from '@sparsenet/tensor';
import { calibrated, timeSync, type TimingOptions } from './timing.js';

/** One batch of host data, shared by every framework so that all upload the same bytes. */
export interface HostBatch {
  n: number;
  /** NCHW, [n, 3, 64, 64]. */
  x: Float32Array;
  y: Int32Array;
}

export function syntheticBatch(n: number, seed: number): HostBatch {
  const random = new Random(seed);
  const x = Float32Array.from({ length: n * 3 * INPUT_SIZE * INPUT_SIZE }, () => random.uniform(-1, 1));
  const y = Int32Array.from({ length: n }, () => random.int(NUM_CLASSES));
  return { n, x, y };
}

export interface StepCounts {
  steps: number;
  buffersCreated: number;
  pipelinesCreated: number;
  /** Readbacks other than the one per timed block. */
  readbacks: number;
  liveBytesChange: number;
}

export interface WorkloadTiming {
  imagesPerSecond: number;
  msPerStep: number;
  counts: StepCounts;
}

/**
 * Counts readbacks by wrapping `runner.read` (the runner's counters have none yet). Installed once; the
 * count only grows.
 */
export function readCounter(runner: KernelRunner): () => number {
  const holder = runner as KernelRunner & { benchReads?: number };
  if (holder.benchReads === undefined) {
    holder.benchReads = 0;
    const read = runner.read.bind(runner);
    runner.read = (buffer, offset, size) => {
      holder.benchReads!++;
      return read(buffer, offset, size);
    };
  }
  return () => holder.benchReads!;
}

/** The trainer's step on a model and optimizer, with its running sums. */
export class TrainingStep {
  readonly lossSum = tensor(new Float32Array(1), []);
  readonly correct = tensor(new Float32Array(1), [1]);

  constructor(
    readonly model: nn.Module,
    readonly optimizer: optim.Adam,
    private readonly batch: HostBatch,
  ) {}

  /** One step on `batch` (default: the step's own). */
  run(batch: HostBatch = this.batch): void {
    const scope = beginScope();
    try {
      const x = tensor(batch.x, [batch.n, 3, INPUT_SIZE, INPUT_SIZE]);
      const y = labels(batch.y);
      const logits = this.model.forward(x);
      const loss = crossEntropy(logits, y);
      loss.backward();
      this.optimizer.step();
      this.optimizer.zeroGrad();
      accumulate(this.lossSum, scale(loss, batch.n));
      accumulateCorrect(this.correct, logits, y);
    } finally {
      scope.end();
    }
  }

  /** The block's one readback. */
  async sync(): Promise<number> {
    return this.lossSum.item({ checkFinite: true });
  }

  dispose(): void {
    this.lossSum.dispose();
    this.correct.dispose();
    this.optimizer.dispose();
  }
}

export interface TrainingOptions {
  /** LeNet with masks (SparseNet); ignored with `model`. */
  sparse?: boolean;
  /** Another model than LeNet (a zoo model). */
  model?: () => nn.Module;
}

export function makeTrainingStep(batch: HostBatch, options: TrainingOptions = {}): TrainingStep {
  const model = options.model?.() ?? new LeNet({ sparse: options.sparse ?? false, seed: 1 });
  return new TrainingStep(model, new optim.Adam(model.parametersWithMasks(), { lr: 1e-3 }), batch);
}

/** Runs `run` once, then lets the tuner measure the kernel shapes it met (as the trainer does before its loop). */
async function tuneOn(run: () => void): Promise<void> {
  const { runner } = runtime();
  run();
  await runner.sync();
  if (runner.tuner.pendingCount) await runner.tuner.tunePending();
}

async function timeCounted(run: () => void, sync: () => Promise<unknown>, timing: TimingOptions): Promise<{ ms: number; counts: StepCounts }> {
  const { runner } = runtime();
  const reads = readCounter(runner);
  let before = { buffers: 0, pipelines: 0, reads: 0, live: 0 };
  const result = await timeSync(run, sync, timing, () => {
    before = { buffers: runner.counters.buffersCreated, pipelines: runner.counters.pipelinesCreated, reads: reads(), live: memory().liveBytes };
  });
  return {
    ms: result.ms,
    counts: {
      steps: result.runs,
      buffersCreated: runner.counters.buffersCreated - before.buffers,
      pipelinesCreated: runner.counters.pipelinesCreated - before.pipelines,
      readbacks: reads() - before.reads - result.blocks,
      liveBytesChange: memory().liveBytes - before.live,
    },
  };
}

export async function timeTraining(batch: HostBatch, timing: TimingOptions, options: TrainingOptions = {}): Promise<WorkloadTiming> {
  const step = makeTrainingStep(batch, options);
  try {
    await tuneOn(() => step.run());
    const { ms, counts } = await timeCounted(() => step.run(), () => step.sync(), timing);
    return { imagesPerSecond: (1000 * batch.n) / ms, msPerStep: ms, counts };
  } finally {
    step.dispose();
    step.model.dispose();
  }
}

/**
 * Inference as the evaluator runs it: upload, forward without gradients (the model's, or `forward` for other
 * kernels on its weights); the block reads the last logits.
 */
export async function timeInference(model: nn.Module, batch: HostBatch, timing: TimingOptions, forward: (x: Tensor) => Tensor = (x) => model.forward(x)): Promise<WorkloadTiming> {
  const last = tensor(new Float32Array(batch.n * NUM_CLASSES), [batch.n, NUM_CLASSES]);
  const { runner } = runtime();
  const run = () => {
    const scope = beginScope();
    try {
      const x = tensor(batch.x, [batch.n, 3, INPUT_SIZE, INPUT_SIZE]);
      const logits = noGrad(() => forward(x));
      runner.copy(logits.buffer, 0, last.buffer, 0, batch.n * NUM_CLASSES * 4);
    } finally {
      scope.end();
    }
  };
  const wasTraining = model.training;
  model.eval();
  try {
    await tuneOn(run);
    const { ms, counts } = await timeCounted(run, () => last.toArray(), timing);
    return { imagesPerSecond: (1000 * batch.n) / ms, msPerStep: ms, counts };
  } finally {
    last.dispose();
    model.train(wasTraining);
  }
}

export interface KernelProfile {
  /** Per program key: milliseconds in one step and dispatches, sorted by time, largest first. */
  kernels: { key: string; ms: number; count: number }[];
  /** How the times were taken. */
  source: 'timestamps' | 'isolation';
  /** Sum of the kernels' times against the step's wall time. */
  totalMs: number;
  stepMs: number;
  /** Why timestamps were not used, when they were not. */
  reason?: string;
}

interface Dispatch {
  program: Program;
  buffers: GPUBuffer[];
  uniforms: UniformValue[];
  grid: readonly [number, number, number];
}

/** Captures the dispatches `run` records (they are still executed). */
function captureDispatches(runner: KernelRunner, run: () => void): Dispatch[] {
  const captured: Dispatch[] = [];
  const original = runner.run;
  runner.run = (program, buffers, uniforms, grid) => {
    captured.push({ program, buffers: [...buffers], uniforms: [...uniforms], grid });
    original.call(runner, program, buffers, uniforms, grid);
  };
  try {
    run();
  } finally {
    runner.run = original;
  }
  return captured;
}

/**
 * Where one training step's time goes. With timestamp queries, each dispatch is timed on the device; the
 * result is used when the kernels' sum is within a factor of two of the step's wall time (Dawn on lavapipe
 * could give zeros or nonsense). Always also replays each kernel kind's dispatches in isolation (same
 * buffers and uniforms, wall time), which is the fallback and a cross-check.
 */
export async function profileTrainingStep(batch: HostBatch, stepMs: number): Promise<{ timestamps: KernelProfile | null; isolation: KernelProfile }> {
  const { runner } = runtime();
  const step = makeTrainingStep(batch);
  try {
    await tuneOn(() => step.run());
    step.run();
    await step.sync();
    let timestamps: KernelProfile | null = null;
    if (runner.startProfile()) {
      const t0 = performance.now();
      step.run();
      const totals = await runner.stopProfile();
      await step.sync();
      const wall = performance.now() - t0;
      const kernels = [...totals].map(([key, t]) => ({ key, ms: t.ms, count: t.count })).sort((a, b) => b.ms - a.ms);
      const totalMs = kernels.reduce((s, x) => s + x.ms, 0);
      const sane = totalMs > 0.5 * stepMs && totalMs < 2 * Math.max(stepMs, wall);
      timestamps = {
        kernels, source: 'timestamps', totalMs, stepMs,
        reason: sane ? undefined : `timestamp sum ${totalMs.toFixed(1)} ms vs step ${stepMs.toFixed(1)} ms (profiled step wall ${wall.toFixed(1)} ms)`,
      };
    }
    // Isolation: capture one step's dispatches, then time each program's dispatches replayed alone. The step's
    // buffers return to the pool at its end but are not destroyed, so replaying into them is safe.
    const dispatches = captureDispatches(runner, () => step.run());
    await step.sync();
    const byKey = new Map<string, Dispatch[]>();
    for (const d of dispatches) byKey.set(d.program.key, [...(byKey.get(d.program.key) ?? []), d]);
    const kernels: KernelProfile['kernels'] = [];
    for (const [key, list] of byKey) {
      const ms = await calibrated(runner, () => list.forEach((d) => runner.run(d.program, d.buffers, d.uniforms, d.grid)), { blocks: 3, budgetMs: 2000 });
      kernels.push({ key, ms, count: list.length });
    }
    kernels.sort((a, b) => b.ms - a.ms);
    const isolation: KernelProfile = { kernels, source: 'isolation', totalMs: kernels.reduce((s, x) => s + x.ms, 0), stepMs };
    return { timestamps, isolation };
  } finally {
    step.dispose();
    step.model.dispose();
  }
}
