/**
 * A run's kernels before and just after its first training step. On a CPU driver every new kernel is compiled
 * at its first use (with lavapipe's LLVM: a tenth of a second to 13 s of CPU each), and measuring the variants
 * of every shape compiles all of them, so a cold start used to spend minutes before step 1. Here:
 *   - the tuning cache (tuning-cache.ts) supplies the choices measured by earlier runs on this adapter and
 *     driver, and the programs the last run used (on a fresh machine: those of a likely first step) start
 *     compiling before the data loads, on the driver's thread (two, with a compile helper device), while
 *     JavaScript decodes the images;
 *   - before step 1 only the training step's own programs are compiled, ahead (runner.precompile);
 *   - after the first step the remaining shapes (the last, smaller batch, evaluation) are compiled and every
 *     new shape's variants measured, then the cache and the run's tuning.json are written.
 * A program is found by recording a step with the runner capturing dispatches instead of running them.
 */
import {
  accumulate, accumulateCorrect, beginScope, crossEntropy, getDeviceInfo, labels, noGrad, runtime, scale, tensor, useCompileHelper, type nn, type optim, type Program,
} from '@sparsenet/tensor';
import { writeFileAtomic } from '@sparsenet/viz';
import type { ImageDataset } from '../data/index.js';
import { readTuningCache, tuningCacheDir, tuningCacheFile, writeTuningCache, type AdapterIdentity } from '../tuning-cache.js';
import type { TrainConfig } from './config.js';

/** What the start-up needs of a run: its model, a fresh optimizer like the run's, image and batch sizes. */
export interface RunShapes {
  model: nn.Module;
  makeOptimizer: () => optim.Optimizer;
  /** Images are [3, imageSize, imageSize]. */
  imageSize: number;
  /** Images in each part of the split. */
  counts: Record<'train' | 'val' | 'test', number>;
  batchSize: number;
  evalBatchSize: number;
}

export class KernelStartup {
  private settled = false;
  /** When `beforeFirstStep` began: the data had just loaded. */
  private readyFrom = 0;

  private constructor(
    private readonly cacheFile: string,
    private readonly adapter: AdapterIdentity,
    /** How many programs `begin` started compiling (the last run's, or a likely first step's). */
    private readonly aheadCount: number,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Reads the tuning cache of this adapter and starts compiling the programs the last run used, or where no
   * run has been (a fresh machine) those of a training step of `likely` (the run's model, image size and batch
   * size, as the run will most likely meet them).
   */
  static async begin(log: (line: string) => void, likely: Pick<RunShapes, 'model' | 'makeOptimizer' | 'batchSize' | 'imageSize'>): Promise<KernelStartup> {
    const adapter = await getDeviceInfo();
    const file = tuningCacheFile(tuningCacheDir(), adapter);
    const cache = readTuningCache(file, adapter, log);
    const { runner } = runtime();
    runner.tuner.import(cache.tuning);
    await useCompileHelper();
    const guess: RunShapes = { ...likely, counts: { train: likely.batchSize, val: 0, test: 0 }, evalBatchSize: 1 };
    const ahead = uniqueByKey(cache.programs.length ? cache.programs : runner.programsOf(() => recordTrainingStep(guess, likely.batchSize)));
    // Not awaited: whatever step 1 needs is awaited then. A failure surfaces where the program is used.
    runner.precompile(ahead).catch(() => {});
    return new KernelStartup(file, adapter, ahead.length, log);
  }

  /** Compiles the first training step's programs (tuned where the cache knows the shape, else the heuristic's). */
  async beforeFirstStep(run: RunShapes): Promise<void> {
    this.readyFrom = performance.now();
    const { runner } = runtime();
    const programs = runner.programsOf(() => recordTrainingStep(run, trainingSizes(run)[0]));
    await runner.precompile(programs);
    this.log(`kernels: step 1's ${uniqueByKey(programs).length} programs ready in ${seconds(this.readyFrom)} s (${this.aheadCount} programs started compiling before the data loaded)`);
  }

  /**
   * After the first step: compiles every other shape of the run, measures the variants of shapes the cache did
   * not know, and writes the cache and `tuningPath` (the choices this run uses). Runs once (later calls return
   * at once); resolves with the milliseconds it took.
   */
  async afterFirstSteps(run: RunShapes, tuningPath: string): Promise<number> {
    if (this.settled) return 0;
    this.settled = true;
    const { runner } = runtime();
    const { tuner } = runner;
    await runner.sync();
    this.log(`kernels: step 1 done ${seconds(this.readyFrom)} s after the data loaded; compiling and tuning the run's other shapes`);
    const started = performance.now();
    const compiled = await runner.precompile(runPrograms(run));
    const tuneStarted = performance.now();
    const [shapes, measuredBefore] = [tuner.pendingCount, tuner.measuredCount];
    if (shapes) await tuner.tunePending();
    const tuneEnded = performance.now();
    // The programs the run uses from now on, with the measured choices: compiled now, and remembered.
    const used = runPrograms(run);
    const tunedCompiled = await runner.precompile(used);
    const tuning = tuner.export();
    writeFileAtomic(tuningPath, `${JSON.stringify(tuning, null, 2)}\n`);
    try {
      writeTuningCache(this.cacheFile, this.adapter, { tuning, programs: used });
    } catch (error) {
      this.log(`kernel cache ${this.cacheFile} not written (${(error as Error).message}); the next run measures again`);
    }
    const compileSeconds = (tuneStarted - started + performance.now() - tuneEnded) / 1000;
    const tuned = shapes
      ? `tuning measured ${tuner.measuredCount - measuredBefore} variants of ${shapes} new kernel shapes in ${((tuneEnded - tuneStarted) / 1000).toFixed(1)} s (their compiles included)`
      : 'tuning: every shape known (tuning cache)';
    this.log(`kernels: ${compiled + tunedCompiled} more programs compiled in ${compileSeconds.toFixed(1)} s; ${tuned}; ${runner.counters.pipelinesCreated} pipelines in all (choices in tuning.json, cache ${this.cacheFile})`);
    return performance.now() - started;
  }
}

/**
 * The programs of every shape a run meets (training steps and evaluation batches), in order of first use, with
 * the tuner's current choices; recording them queues the shapes the tuner has not measured.
 */
export function runPrograms(run: RunShapes): Program[] {
  const programs = runtime().runner.programsOf(() => {
    for (const n of trainingSizes(run)) recordTrainingStep(run, n);
    for (const n of evaluationSizes(run)) recordEvaluation(run, n);
  });
  return uniqueByKey(programs);
}

/** The shapes of a default run on `data` (the trainer's own sizes). */
export function runShapesOf(model: nn.Module, makeOptimizer: () => optim.Optimizer, data: Record<'train' | 'val' | 'test', ImageDataset>, config: Pick<TrainConfig, 'batchSize' | 'evalBatchSize'>): RunShapes {
  const counts = { train: data.train.count, val: data.val.count, test: data.test.count };
  return { model, makeOptimizer, imageSize: data.train.size, counts, batchSize: config.batchSize, evalBatchSize: config.evalBatchSize };
}

/** Training batch sizes in the order the run meets them: full batches, then the last, smaller one. */
function trainingSizes({ counts, batchSize }: RunShapes): number[] {
  return [...new Set([Math.min(batchSize, counts.train), counts.train % batchSize].filter((n) => n > 0))];
}

function evaluationSizes({ counts, evalBatchSize }: RunShapes): number[] {
  const sizes = (count: number) => [Math.min(evalBatchSize, count), count % evalBatchSize];
  return [...new Set([...sizes(counts.val), ...sizes(counts.test)].filter((n) => n > 0))];
}

/** The ops of one training step on `n` images (as the trainer's loop runs them), on a throwaway optimizer. */
function recordTrainingStep(run: RunShapes, n: number): void {
  const optimizer = run.makeOptimizer();
  const scope = beginScope();
  try {
    const size = run.imageSize;
    const x = tensor(new Float32Array(n * 3 * size * size), [n, 3, size, size]);
    const y = labels(new Int32Array(n));
    const logits = run.model.forward(x);
    const loss = crossEntropy(logits, y);
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    accumulate(tensor(new Float32Array(1), []), scale(loss, n));
    accumulateCorrect(tensor(new Float32Array(1), [1]), logits, y);
  } finally {
    scope.end();
    optimizer.dispose();
  }
}

/** The ops of one evaluation batch of `n` images (evaluate.ts: the model in eval mode, no gradients). */
function recordEvaluation(run: RunShapes, n: number): void {
  const wasTraining = run.model.training;
  run.model.eval();
  const scope = beginScope();
  try {
    const size = run.imageSize;
    noGrad(() => run.model.forward(tensor(new Float32Array(n * 3 * size * size), [n, 3, size, size])));
  } finally {
    scope.end();
    run.model.train(wasTraining);
  }
}

function uniqueByKey<T extends { key: string }>(items: T[]): T[] {
  return [...new Map(items.map((item) => [item.key, item])).values()];
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
