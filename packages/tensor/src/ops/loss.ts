/** Losses: crossEntropy as PyTorch's F.cross_entropy (mean reduction, class-index targets). */
import * as k from '@sparsenet/kernels-wgsl';
import { isGradEnabled, record } from '../autograd.js';
import { labelRange } from '../labels.js';
import { runtime } from '../runtime.js';
import { empty, type Tensor } from '../tensor.js';

/** Mean cross-entropy of logits [N, classes] against i32 class indices [N]: a scalar. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const what = `logits ${logits.dtype} [${logits.shape}] and labels ${labels.dtype} [${labels.shape}]`;
  if (logits.dtype !== 'f32' || logits.shape.length !== 2) throw new Error(`crossEntropy: logits must be f32 [N, classes]; got ${what}`);
  if (labels.dtype !== 'i32') throw new Error(`crossEntropy: labels must be i32 class indices; got ${what}`);
  const [rows, classes] = logits.shape;
  if (labels.shape.length !== 1 || labels.shape[0] !== rows) throw new Error(`crossEntropy: ${what} do not match (labels must be [${rows}])`);
  if (rows === 0 || classes === 0) throw new Error(`crossEntropy: empty input (${what})`);
  const range = labelRange(labels);
  if (range && (range.min < 0 || range.max >= classes)) {
    // Report the out-of-range extreme that comes first.
    const low = range.min < 0 && (range.max < classes || range.minIndex < range.maxIndex);
    const [value, index] = low ? [range.min, range.minIndex] : [range.max, range.maxIndex];
    throw new Error(`crossEntropy: label ${value} at index ${index} out of range for ${classes} classes`);
  }
  const origin = `crossEntropy([${logits.shape}], [${labels.shape}])`;
  const loss = empty([], 'f32', origin);
  const { runner } = runtime();
  if (!(isGradEnabled() && logits.requiresGrad)) {
    k.softmaxCrossEntropy(runner, logits.buffer, labels.buffer, loss.buffer, null, rows, classes);
    return loss;
  }
  // The forward pass computes d(loss)/d(logits) anyway; backward only scales it by the incoming gradient.
  const grad = empty(logits.shape, 'f32', `${origin} gradient`);
  k.softmaxCrossEntropy(runner, logits.buffer, labels.buffer, loss.buffer, grad.buffer, rows, classes);
  return record(loss, [logits], (g) => {
    const dx = empty(logits.shape, 'f32', `crossEntropy backward([${logits.shape}])`);
    k.binary(runner, 'mul', grad.buffer, g.buffer, dx.buffer, grad.size, { bn: 1 });
    return [dx];
  });
}
