/**
 * The inner loop, for any nn.Module: one optimizer step (forward, cross-entropy, backward, Adam) and one epoch of
 * them. The hot loop never reads back: the running loss and accuracy stay on the GPU and are read only when
 * progress is drawn and at the epoch's end.
 */
import { accumulate, accumulateCorrect, beginScope, crossEntropy, denseWeightGradients, labels, runtime, scale, tensor, type nn, type optim, type Tensor } from '@sparsenet/tensor';
import type { Batch, BatchLoader } from '../data/index.js';
import { Progress } from './progress.js';

/** The running loss sum (mean loss times batch size) and correct count of an epoch, on the GPU. */
export interface RunningTotals {
  lossSum: Tensor;
  correct: Tensor;
}

export function runningTotals(): RunningTotals {
  return { lossSum: tensor(new Float32Array(1), []), correct: tensor(new Float32Array(1), [1]) };
}

export interface StepOptions {
  /** Masked layers get the dense gradient of w * mask (scoring steps: RigL's growth); default masked. */
  denseWeightGradients?: boolean;
  /** Take the optimizer step and free the gradients (default); false leaves the gradients for the caller to read and free. */
  optimizerStep?: boolean;
}

/** One step on `batch` at learning rate `lr`; adds the batch's loss and correct count to `totals`. */
export function trainStep(model: nn.Module, optimizer: optim.Optimizer, batch: Batch, lr: number, totals: RunningTotals, options: StepOptions = {}): void {
  const scope = beginScope();
  try {
    const x = tensor(batch.x, batch.shape);
    const y = labels(batch.y);
    const pass = () => {
      const logits = model.forward(x);
      const loss = crossEntropy(logits, y);
      loss.backward();
      return { logits, loss };
    };
    const { logits, loss } = options.denseWeightGradients ? denseWeightGradients(pass) : pass();
    if (options.optimizerStep ?? true) {
      optimizer.lr = lr;
      optimizer.step();
      optimizer.zeroGrad();
    }
    // Mean loss times batch size: the running sum is divided by images seen (the last batch may be smaller).
    accumulate(totals.lossSum, scale(loss, batch.y.length));
    accumulateCorrect(totals.correct, logits, y);
  } finally {
    scope.end();
  }
}

export interface EpochTraining {
  trainLoss: number;
  trainAccuracy: number;
  images: number;
  /** Optimizer steps taken. */
  steps: number;
  seconds: number;
}

export interface EpochOptions {
  model: nn.Module;
  /** The optimizer of the next step (a pruning event with rewinding replaces it). */
  optimizer: () => optim.Optimizer;
  loader: BatchLoader;
  totals: RunningTotals;
  /** Optimizer steps taken before this epoch. */
  firstStep: number;
  learningRate: (step: number) => number;
  /** Runs before step `step` (pruning events). */
  beforeStep?: (step: number) => Promise<void>;
  /**
   * Takes step `step` in place of trainStep when it returns true (dynamic sparse training's mask updates, which
   * need that step's gradients); false: the ordinary step is taken.
   */
  replaceStep?: (step: number, batch: Batch, lr: number, totals: RunningTotals) => Promise<boolean>;
  /** Runs after each step; returns milliseconds spent on other work (compiling, tuning), left out of the epoch's time. */
  afterStep?: () => Promise<number>;
  label: string;
}

/** One pass over the loader, in training mode. */
export async function trainEpoch(options: EpochOptions): Promise<EpochTraining> {
  const { model, loader, totals } = options;
  const progress = new Progress(options.label, loader.batchesPerEpoch);
  const { runner } = runtime();
  runner.write(totals.lossSum.buffer, 0, new Float32Array(1));
  runner.write(totals.correct.buffer, 0, new Float32Array(1));
  model.train();
  let started = performance.now();
  let step = options.firstStep;
  let images = 0;
  let done = 0;
  for (const batch of loader.epoch()) {
    await options.beforeStep?.(step);
    const lr = options.learningRate(step);
    if (!(await options.replaceStep?.(step, batch, lr, totals))) trainStep(model, options.optimizer(), batch, lr, totals);
    step++;
    if (options.afterStep) started += await options.afterStep();
    images += batch.y.length;
    done++;
    if (progress.due(done)) {
      const [l, c] = [await totals.lossSum.item({ checkFinite: true }), await totals.correct.item()];
      progress.update(done, { loss: l / images, acc: c / images, 'img/s': images / ((performance.now() - started) / 1000) });
    }
  }
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  const trainLoss = (await totals.lossSum.item({ checkFinite: true })) / images;
  const trainAccuracy = (await totals.correct.item()) / images;
  return { trainLoss, trainAccuracy, images, steps: done, seconds };
}
