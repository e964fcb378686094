/**
 * batchNorm2d as PyTorch's F.batch_norm on [N, C, H, W]: in training, batch statistics (biased variance in the
 * normalisation) and an in-place update of the running statistics (unbiased variance, running = (1 - momentum)
 * * running + momentum * batch); in evaluation, the running statistics. Gradients for x, weight and bias.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { isGradEnabled, record } from '../autograd.js';
import { runtime } from '../runtime.js';
import { empty, shapeString, type Tensor } from '../tensor.js';

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the batch in the running statistics' update (default 0.1). */
  momentum?: number;
  /** Added to the variance under the square root (default 1e-5). */
  eps?: number;
  /** An i32 one-element counter incremented by each training call (nn.BatchNorm2d's num_batches_tracked). */
  numBatchesTracked?: Tensor | null;
}

/** x [N,C,H,W], weight, bias, runningMean, runningVar [C] -> [N,C,H,W]. Training updates the running statistics in place. */
export function batchNorm2d(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  const { training, momentum = 0.1, eps = 1e-5 } = options;
  const counter = training ? (options.numBatchesTracked ?? null) : null;
  const shape = batchNormShape(x, { weight, bias, runningMean, runningVar }, counter, options.training, momentum, eps);
  const origin = `batchNorm2d([${x.shape}]${training ? ', training' : ''})`;
  const { runner } = runtime();
  const stats = empty([shape.channels, 2], 'f32', `${origin} statistics`);
  if (training) k.batchNormStatistics(runner, x.buffer, stats.buffer, runningMean.buffer, runningVar.buffer, counter?.buffer ?? null, shape, { momentum, eps });
  else k.batchNormEvalStatistics(runner, runningMean.buffer, runningVar.buffer, stats.buffer, shape.channels, eps);
  const out = empty(x.shape, 'f32', origin);
  k.batchNormNormalize(runner, x.buffer, stats.buffer, weight.buffer, bias.buffer, out.buffer, shape);
  const inputs = [x, weight, bias];
  if (!(isGradEnabled() && inputs.some((t) => t.requiresGrad))) {
    stats.dispose();
    return out;
  }
  // The statistics are an intermediate like any other: the enclosing scope frees them.
  return record(out, inputs, (g) => {
    // The training input gradient needs both sums whatever weight and bias require; evaluation's needs neither.
    const sums = training || weight.requiresGrad || bias.requiresGrad;
    const gradWeight = sums ? empty(weight.shape, 'f32', `${origin} weight gradient`) : null;
    const gradBias = sums ? empty(bias.shape, 'f32', `${origin} bias gradient`) : null;
    if (gradWeight && gradBias) k.batchNormBackwardReduce(runner, x.buffer, g.buffer, stats.buffer, gradWeight.buffer, gradBias.buffer, shape);
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(x.shape, 'f32', `${origin} input gradient`);
      if (training) k.batchNormBackwardInput(runner, x.buffer, g.buffer, stats.buffer, weight.buffer, gradWeight!.buffer, gradBias!.buffer, dx.buffer, shape);
      else k.batchNormBackwardInputEval(runner, g.buffer, stats.buffer, weight.buffer, dx.buffer, shape);
    }
    return [dx, gradWeight, gradBias];
  });
}

/** Validates the operands, naming the op and the shapes. */
function batchNormShape(x: Tensor, perChannel: Record<string, Tensor>, counter: Tensor | null, training: boolean, momentum: number, eps: number): k.ChannelShape {
  if (x.dtype !== 'f32' || x.shape.length !== 4) throw new Error(`batchNorm2d: input must be an f32 [N,C,H,W] tensor, got ${x.dtype} [${x.shape}]`);
  const [n, c, h, w] = x.shape;
  for (const [name, t] of Object.entries(perChannel)) {
    if (t.dtype !== 'f32' || t.shape.length !== 1 || t.shape[0] !== c) {
      throw new Error(`batchNorm2d: ${name} must be f32 [${c}] for input [${x.shape}], got ${t.dtype} ${shapeString(t)}`);
    }
  }
  if (counter && (counter.dtype !== 'i32' || counter.size !== 1)) throw new Error(`batchNorm2d: numBatchesTracked must be a one-element i32 tensor, got ${counter.dtype} ${shapeString(counter)}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`batchNorm2d: momentum must be in [0, 1], got ${momentum}`);
  if (!(eps > 0)) throw new Error(`batchNorm2d: eps must be positive, got ${eps}`);
  if (n * h * w === 0 || c === 0) throw new Error(`batchNorm2d: empty input [${x.shape}]`);
  // The unbiased variance of one value is undefined (PyTorch refuses it too).
  if (training && n * h * w === 1) throw new Error(`batchNorm2d: training needs more than one value per channel, got input [${x.shape}]`);
  return { images: n, channels: c, plane: h * w };
}
