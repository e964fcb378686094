/**
 * conv2d as PyTorch's F.conv2d (NCHW, weight [out, in, kh, kw], zero padding), with a weight mask, a fused ReLU
 * and an optional max pooling after it.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { isGradEnabled, record } from '../autograd.js';
import { reluGate } from './elementwise.js';
import { weightGradientMask } from './weight-gradients.js';
import { runtime } from '../runtime.js';
import { empty, type Tensor } from '../tensor.js';
import { pool2dGeometry, type Size2d } from './pool.js';

export interface Conv2dOptions {
  /** One int for both dimensions, or [height, width] (default 1). */
  stride?: Size2d;
  /** Zeros added on each side: one int or [height, width] (default 0). */
  padding?: Size2d;
  /** 0/1 of the weight's shape, multiplied into the weight; pruned positions get exactly zero gradient. */
  mask?: Tensor | null;
  /** Applied in the kernel; the backward gates by output > 0. */
  activation?: 'relu';
  /**
   * Then max-pool with this kernel size and stride (LeNet's 2): the same numbers as maxPool2d of the result,
   * but the full-size output is freed at once and, after a ReLU, the unpooling kernel also applies the ReLU's
   * gradient, sparing a full-size pass.
   */
  maxPool?: Size2d;
}

function pair(value: Size2d): [number, number] {
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}

/** x [N,C,H,W], weight [O,C,KH,KW], bias [O] -> [N,O,OH,OW] with OH = floor((H + 2*padH - KH) / strideH) + 1. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const shape = conv2dShape(x, weight, bias ?? null, options);
  const { oh, ow } = k.conv2dOutputSize(shape);
  const origin = `conv2d([${x.shape}], [${weight.shape}])`;
  const out = empty([shape.n, shape.o, oh, ow], 'f32', origin);
  const pool = options.maxPool === undefined ? null : pool2dGeometry('conv2d maxPool', out, options.maxPool).geometry;
  const { runner } = runtime();
  const mask = options.mask ?? null;
  const gradientMask = weightGradientMask(mask);
  const relu = options.activation === 'relu';
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const needsGrad = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  // The kernels take the masked weight (a tiny pass; faster than masking every weight load). The input
  // gradient reuses it; otherwise it is freed at once (later work is queued after this dispatch).
  let masked: Tensor | null = null;
  if (mask) {
    masked = empty(weight.shape, 'f32', `${origin} masked weight`);
    k.binary(runner, 'mul', weight.buffer, mask.buffer, masked.buffer, weight.size);
  }
  const w = masked ?? weight;
  k.conv2dForward(runner, x.buffer, w.buffer, out.buffer, shape, { bias: bias?.buffer, relu });

  let result = out;
  let argmax: Tensor | null = null;
  if (pool) {
    result = empty([shape.n, shape.o, pool.outHeight, pool.outWidth], 'f32', `${origin} max-pooled`);
    // The argmax is an intermediate like any other: the enclosing scope frees it.
    if (needsGrad) argmax = empty(result.shape, 'i32', `${origin} max-pool argmax`);
    k.maxPool2dForward(runner, out.buffer, result.buffer, argmax?.buffer ?? null, pool);
    out.dispose();
  }
  record(result, inputs, (g) => {
    let dy = g;
    if (pool) {
      dy = empty(out.shape, 'f32', `${origin} unpooled gradient`);
      k.maxPool2dBackward(runner, g.buffer, argmax!.buffer, dy.buffer, pool, relu ? result.buffer : null);
    } else if (relu) dy = reluGate(out, g, origin);
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(x.shape, 'f32', `${origin} input gradient`);
      k.conv2dBackwardInput(runner, dy.buffer, w.buffer, dx.buffer, shape);
    }
    let dw: Tensor | null = null;
    if (weight.requiresGrad) {
      dw = empty(weight.shape, 'f32', `${origin} weight gradient`);
      const partials = empty([k.conv2dBackwardWeightScratch(shape)], 'f32', `${origin} weight gradient partial sums`);
      k.conv2dBackwardWeight(runner, x.buffer, dy.buffer, dw.buffer, partials.buffer, shape, { mask: gradientMask?.buffer });
      partials.dispose();
    }
    let db: Tensor | null = null;
    if (bias?.requiresGrad) {
      db = empty(bias.shape, 'f32', `${origin} bias gradient`);
      k.sumAxes(runner, dy.buffer, db.buffer, shape.n, shape.o, oh * ow);
    }
    if (dy !== g) dy.dispose();
    return [dx, dw, db];
  });
  if (masked && !(result.node && x.requiresGrad)) masked.dispose();
  return result;
}

/** Validates the operands and options, naming the op and the shapes. */
function conv2dShape(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions): k.Conv2dShape {
  const what = `input [${x.shape}], weight [${weight.shape}]`;
  for (const [name, t] of [['input', x], ['weight', weight], ['bias', bias], ['mask', options.mask]] as const) {
    if (t && t.dtype !== 'f32') throw new Error(`conv2d: ${name} must be f32, got ${t.dtype} [${t.shape}]`);
  }
  if (x.shape.length !== 4) throw new Error(`conv2d: input must be [N,C,H,W], got [${x.shape}]`);
  if (weight.shape.length !== 4) throw new Error(`conv2d: weight must be [out,in,kh,kw], got [${weight.shape}]`);
  const [n, c, h, w] = x.shape;
  const [o, cw, kh, kw] = weight.shape;
  if (c !== cw) throw new Error(`conv2d: input [${x.shape}] has ${c} channels, weight [${weight.shape}] expects ${cw}`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== o)) throw new Error(`conv2d: bias [${bias.shape}] does not match ${o} output channels (${what})`);
  const mask = options.mask;
  if (mask && mask.shape.join() !== weight.shape.join()) throw new Error(`conv2d: mask [${mask.shape}] does not match weight [${weight.shape}]`);
  if (options.activation !== undefined && options.activation !== 'relu') throw new Error(`conv2d: unknown activation '${options.activation}' (only 'relu')`);
  const [strideH, strideW] = pair(options.stride ?? 1);
  const [padH, padW] = pair(options.padding ?? 0);
  if (![strideH, strideW].every((s) => Number.isInteger(s) && s > 0)) throw new Error(`conv2d: stride must be positive integers, got [${strideH},${strideW}] (${what})`);
  if (![padH, padW].every((p) => Number.isInteger(p) && p >= 0)) throw new Error(`conv2d: padding must be non-negative integers, got [${padH},${padW}] (${what})`);
  if ([n, c, h, w, o, kh, kw].some((d) => d < 1)) throw new Error(`conv2d: empty operand (${what})`);
  if (kh > h + 2 * padH || kw > w + 2 * padW) {
    throw new Error(`conv2d: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * padH}x${w + 2 * padW} (${what}, padding [${padH},${padW}])`);
  }
  return { n, c, h, w, o, kh, kw, strideH, strideW, padH, padW };
}
