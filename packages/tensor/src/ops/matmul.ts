/** matmul (2-D) and linear as PyTorch's F.linear (weight [out, in]), with a weight mask and a fused ReLU. */
import * as k from '@sparsenet/kernels-wgsl';
import { record } from '../autograd.js';
import { reluGate } from './elementwise.js';
import { weightGradientMask } from './weight-gradients.js';
import { runtime } from '../runtime.js';
import { empty, type Tensor } from '../tensor.js';

export interface LinearOptions {
  /** 0/1 of the weight's shape, multiplied into the weight; never trained, and masked weights get exactly 0 gradient. */
  mask?: Tensor | null;
  /** Applied in the kernel; the backward gates by output > 0. */
  activation?: 'relu';
}

function checkF32(op: string, named: [string, Tensor | null | undefined][]): void {
  for (const [name, t] of named) {
    if (t && t.dtype !== 'f32') throw new Error(`${op}: ${name} must be f32, got ${t.dtype} [${t.shape}]`);
  }
}

/** a [M,K] @ b [K,N] -> [M,N]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const what = `[${a.shape}] @ [${b.shape}]`;
  checkF32('matmul', [['a', a], ['b', b]]);
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`matmul: needs 2-D tensors, got ${what}`);
  const [m, kk] = a.shape;
  const [kb, n] = b.shape;
  if (kk !== kb) throw new Error(`matmul: ${what} do not match (${kk} != ${kb})`);
  if (m < 1 || n < 1 || kk < 1) throw new Error(`matmul: empty operand in ${what}`);
  const origin = `matmul(${what})`;
  const out = empty([m, n], 'f32', origin);
  const { runner } = runtime();
  k.matmul(runner, a.buffer, b.buffer, out.buffer, m, n, kk);
  return record(out, [a, b], (g) => {
    let da: Tensor | null = null;
    if (a.requiresGrad) {
      // dA [M,K] = g [M,N] @ B^T, B stored [K,N].
      da = empty(a.shape, 'f32', `${origin} gradient of a`);
      k.matmul(runner, g.buffer, b.buffer, da.buffer, m, kk, n, { transB: true });
    }
    let db: Tensor | null = null;
    if (b.requiresGrad) {
      // dB [K,N] = A^T @ g, A stored [M,K].
      db = empty(b.shape, 'f32', `${origin} gradient of b`);
      k.matmul(runner, a.buffer, g.buffer, db.buffer, kk, n, m, { transA: true });
    }
    return [da, db];
  });
}

/** x [batch, in], weight [out, in], bias [out] -> x @ (weight * mask)^T + bias, then the activation. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LinearOptions = {}): Tensor {
  const mask = options.mask ?? null;
  const what = `x [${x.shape}] and weight [${weight.shape}]`;
  checkF32('linear', [['x', x], ['weight', weight], ['bias', bias], ['mask', mask]]);
  if (x.shape.length !== 2) throw new Error(`linear: x must be [batch, in_features], got [${x.shape}]`);
  if (weight.shape.length !== 2) throw new Error(`linear: weight must be [out_features, in_features], got [${weight.shape}]`);
  const [batch, inFeatures] = x.shape;
  const [outFeatures, inW] = weight.shape;
  if (inW !== inFeatures) throw new Error(`linear: ${what} do not match (in_features ${inW} != ${inFeatures})`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outFeatures)) {
    throw new Error(`linear: bias [${bias.shape}] does not match ${outFeatures} out_features (${what})`);
  }
  if (mask && mask.shape.join() !== weight.shape.join()) throw new Error(`linear: mask [${mask.shape}] does not match weight [${weight.shape}]`);
  if (options.activation !== undefined && options.activation !== 'relu') throw new Error(`linear: unknown activation '${options.activation}' (only 'relu')`);
  if (batch < 1 || inFeatures < 1 || outFeatures < 1) throw new Error(`linear: empty operand (${what})`);

  const origin = `linear([${x.shape}], [${weight.shape}])`;
  const out = empty([batch, outFeatures], 'f32', origin);
  const { runner } = runtime();
  const relu = options.activation === 'relu';
  const gradientMask = weightGradientMask(mask);
  k.matmul(runner, x.buffer, weight.buffer, out.buffer, batch, outFeatures, inFeatures, { transB: true, maskB: mask?.buffer, bias: bias?.buffer, relu });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, inputs, (g) => {
    const dy = relu ? reluGate(out, g, origin) : g;
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      // dx [batch, in] = dy [batch, out] @ (W * M) [out, in].
      dx = empty(x.shape, 'f32', `${origin} input gradient`);
      k.matmul(runner, dy.buffer, weight.buffer, dx.buffer, batch, inFeatures, outFeatures, { maskB: mask?.buffer });
    }
    let dw: Tensor | null = null;
    if (weight.requiresGrad) {
      // dW [out, in] = (dy^T @ x) * M (M left out under denseWeightGradients), dy stored [batch, out].
      dw = empty(weight.shape, 'f32', `${origin} weight gradient`);
      k.matmul(runner, dy.buffer, x.buffer, dw.buffer, outFeatures, inFeatures, batch, { transA: true, maskOut: gradientMask?.buffer });
    }
    let db: Tensor | null = null;
    if (bias?.requiresGrad) {
      db = empty(bias.shape, 'f32', `${origin} bias gradient`);
      k.sumAxes(runner, dy.buffer, db.buffer, batch, outFeatures, 1);
    }
    if (dy !== g) dy.dispose();
    return [dx, dw, db];
  });
}
