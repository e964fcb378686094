/**
 * dropout as PyTorch's F.dropout: in training, each element is zeroed with probability p and the rest scaled by
 * 1 / (1 - p); in evaluation, the input itself. The mask comes from a hash of (seed, step, index) in the
 * kernel: nothing random is uploaded, and the backward recomputes the same mask.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { record } from '../autograd.js';
import { runtime } from '../runtime.js';
import { empty, type Tensor } from '../tensor.js';

export interface DropoutOptions {
  training: boolean;
  /** A u32 naming the random stream (nn.Dropout draws one per layer). */
  seed: number;
  /** A u32 naming the draw within the stream: a new mask each training step (default 0). */
  step?: number;
}

export function dropout(x: Tensor, p: number, options: DropoutOptions): Tensor {
  const { training, seed, step = 0 } = options;
  if (x.dtype !== 'f32') throw new Error(`dropout: needs an f32 tensor, got ${x.dtype} [${x.shape}]`);
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p} (x [${x.shape}])`);
  for (const [name, value] of [['seed', seed], ['step', step]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`dropout: ${name} must be an integer in [0, 2^32), got ${value}`);
  }
  if (!training) return x;
  const origin = `dropout([${x.shape}], ${p})`;
  const key = { seed, step };
  const { runner } = runtime();
  const out = empty(x.shape, 'f32', origin);
  k.dropout(runner, x.buffer, out.buffer, x.size, p, key);
  return record(out, [x], (g) => {
    const dx = empty(x.shape, 'f32', `${origin} backward`);
    k.dropout(runner, g.buffer, dx.buffer, x.size, p, key);
    return [dx];
  });
}
