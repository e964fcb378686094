/**
 * Running sums kept on the GPU (loss, correct predictions), so a training loop reads them back only when it
 * reports, never per step. In place and outside autograd.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { runtime } from '../runtime.js';
import { shapeString, type Tensor } from '../tensor.js';

/** target += value, elementwise (same shape). */
export function accumulate(target: Tensor, value: Tensor): void {
  if (target.dtype !== 'f32' || value.dtype !== 'f32' || shapeString(target) !== shapeString(value)) {
    throw new Error(`accumulate: target ${target.dtype} ${shapeString(target)} and value ${value.dtype} ${shapeString(value)} must be f32 of one shape`);
  }
  k.binary(runtime().runner, 'add', target.buffer, value.buffer, target.buffer, target.size);
}

/** counter[0] += number of rows of logits [N, C] whose argmax equals labels [N] (i32). */
export function accumulateCorrect(counter: Tensor, logits: Tensor, labels: Tensor): void {
  if (logits.shape.length !== 2 || labels.dtype !== 'i32' || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0] || counter.dtype !== 'f32') {
    throw new Error(`accumulateCorrect: needs logits [N, C], i32 labels [N] and an f32 counter; got ${shapeString(logits, labels, counter)} (${labels.dtype} labels)`);
  }
  k.countCorrect(runtime().runner, logits.buffer, labels.buffer, counter.buffer, logits.shape[0], logits.shape[1]);
}
