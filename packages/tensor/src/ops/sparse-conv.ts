/**
 * Inference with pruned conv layers stored sparsely (each output channel's nonzero taps), the conv twin of
 * sparse-linear.ts: packed once when the masks change, no backward.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { runtime } from '../runtime.js';
import { empty, type Tensor } from '../tensor.js';
import type { Size2d } from './pool.js';
import { checkF32, checkInferenceOnly, chooseSparseVariant, effectiveWeight, SparseWeight, type SparseOperands, type SparseVariant } from './sparse-linear.js';

export class SparseConv2dWeight extends SparseWeight {
  /** [out, in, kh, kw] of the dense weight. */
  readonly shape: readonly [number, number, number, number];

  constructor(shape: readonly [number, number, number, number], packed: k.Conv2dTaps, dense: Float32Array) {
    super(packed.tapStart, packed.taps, packed.nonzeros, dense, shape);
    this.shape = shape;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** The sparse form of a conv weight [out, in, kh, kw] (times its 0/1 mask) given as host data. */
export function sparseConv2dWeight(weight: Float32Array, shape: readonly [number, number, number, number], mask?: Float32Array | null): SparseConv2dWeight {
  return new SparseConv2dWeight([...shape] as [number, number, number, number], k.packConv2dTaps(weight, shape, mask), effectiveWeight(weight, mask));
}

/** Reads a conv weight and its mask back once and packs them (call when the masks change). */
export async function packSparseConv2d(weight: Tensor, mask?: Tensor | null): Promise<SparseConv2dWeight> {
  checkF32('packSparseConv2d', [['weight', weight], ['mask', mask]]);
  if (weight.shape.length !== 4) throw new Error(`packSparseConv2d: weight must be [out,in,kh,kw], got [${weight.shape}]`);
  if (mask && `${mask.shape}` !== `${weight.shape}`) throw new Error(`packSparseConv2d: mask [${mask.shape}] does not match weight [${weight.shape}]`);
  const values = (await weight.toArray()) as Float32Array;
  const maskValues = mask ? ((await mask.toArray()) as Float32Array) : null;
  const [o, c, kh, kw] = weight.shape;
  return sparseConv2dWeight(values, [o, c, kh, kw], maskValues);
}

export interface SparseConv2dOptions {
  stride?: Size2d;
  padding?: Size2d;
  activation?: 'relu';
}

function pair(value: Size2d): [number, number] {
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}

/** x [N,C,H,W] -> conv2d(x, W) + bias, then the activation, with W sparse ([O,C,KH,KW]; or dense where that is faster). Inference only. */
export function sparseConv2d(x: Tensor, weight: SparseConv2dWeight, bias?: Tensor | null, options: SparseConv2dOptions = {}): Tensor {
  const [o, cw, kh, kw] = weight.shape;
  const what = `input [${x.shape}], sparse weight [${weight.shape}]`;
  checkF32('sparseConv2d', [['input', x], ['bias', bias]]);
  if (x.shape.length !== 4) throw new Error(`sparseConv2d: input must be [N,C,H,W], got [${x.shape}]`);
  const [n, c, h, w] = x.shape;
  if (c !== cw) throw new Error(`sparseConv2d: input [${x.shape}] has ${c} channels, weight [${weight.shape}] expects ${cw}`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== o)) throw new Error(`sparseConv2d: bias [${bias.shape}] does not match ${o} output channels (${what})`);
  if (options.activation !== undefined && options.activation !== 'relu') throw new Error(`sparseConv2d: unknown activation '${options.activation}' (only 'relu')`);
  const [strideH, strideW] = pair(options.stride ?? 1);
  const [padH, padW] = pair(options.padding ?? 0);
  if (![strideH, strideW].every((s) => Number.isInteger(s) && s > 0)) throw new Error(`sparseConv2d: stride must be positive integers, got [${strideH},${strideW}] (${what})`);
  if (![padH, padW].every((p) => Number.isInteger(p) && p >= 0)) throw new Error(`sparseConv2d: padding must be non-negative integers, got [${padH},${padW}] (${what})`);
  if ([n, c, h, w, o].some((d) => d < 1)) throw new Error(`sparseConv2d: empty operand (${what})`);
  if (kh > h + 2 * padH || kw > w + 2 * padW) throw new Error(`sparseConv2d: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * padH}x${w + 2 * padW} (${what})`);
  checkInferenceOnly('sparseConv2d', [x, bias]);
  const shape: k.Conv2dShape = { n, c, h, w, o, kh, kw, strideH, strideW, padH, padW };
  const { oh, ow } = k.conv2dOutputSize(shape);
  const out = empty([n, o, oh, ow], 'f32', `sparseConv2d([${x.shape}], [${weight.shape}] at ${(100 * weight.density).toFixed(1)}%)`);
  const { runner } = runtime();
  const relu = options.activation === 'relu';
  const record = (variant: SparseVariant, o: SparseOperands) => {
    if (variant === 'sparse') k.conv2dCsr(runner, o.x, o.starts, o.entries, o.out, shape, { bias: o.bias, relu });
    else k.conv2dForward(runner, o.x, o.dense, o.out, shape, { bias: o.bias, relu });
  };
  // The dense variant goes through conv2d's own tuner: any of its variants may run.
  const epilogue = { bias: bias?.buffer, relu };
  const programs = [k.conv2dCsrProgram(shape, epilogue), ...k.CONV2D_FORWARD_VARIANTS.map((v) => k.conv2dForwardVariantProgram(v, shape, epilogue))];
  const sizes = { input: x.size, output: out.size, bias: bias ? o : 0 };
  const variant = chooseSparseVariant('sparse_conv2d', k.conv2dTuningShape(shape, epilogue), weight, sizes, programs, record);
  record(variant, { x: x.buffer, starts: weight.starts.buffer, entries: weight.entries.buffer, dense: weight.dense.buffer, bias: bias?.buffer, out: out.buffer });
  return out;
}
