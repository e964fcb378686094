/**
 * Inference with N:M-pruned linear and conv layers stored packed (values plus in-group indices, the format of
 * kernels-wgsl's matmul-nm.ts), the N:M twin of sparse-linear.ts / sparse-conv.ts: packed once when the masks
 * change, no backward. Unlike the CSR ops there is no dense fallback picked by the tuner: at a fixed density of
 * N/M the choice is the caller's (the bench measures both: `npm run bench -- --only nm`).
 */
import * as k from '@sparsenet/kernels-wgsl';
import { untrack } from '../memory.js';
import { runtime } from '../runtime.js';
import { empty, tensor, type Tensor } from '../tensor.js';
import type { Size2d } from './pool.js';
import { checkF32, checkInferenceOnly } from './sparse-linear.js';

/** A linear [out, in] or conv [out, in, kh, kw] weight packed N:M along everything but `out` (outside every scope). */
export class NmWeight {
  readonly pattern: k.NmPattern;
  /** The dense weight's shape. */
  readonly shape: readonly number[];
  /** [out, in * kh * kw * N / M] kept values. */
  readonly values: Tensor;
  /** In-group indices packed into u32 words (as i32), see k.packNm. */
  readonly indices: Tensor;

  constructor(packed: k.NmPacked, shape: readonly number[]) {
    this.pattern = { n: packed.pattern.n, m: packed.pattern.m };
    this.shape = [...shape];
    this.values = tensor(packed.values, [packed.rows, packed.values.length / packed.rows]);
    this.indices = tensor(new Int32Array(packed.indices.buffer, packed.indices.byteOffset, packed.indices.length), [packed.indices.length], { dtype: 'i32' });
    untrack(this.values);
    untrack(this.indices);
  }

  get label(): string {
    return `N:M ${this.pattern.n}:${this.pattern.m} weight [${this.shape}]`;
  }

  dispose(): void {
    this.values.dispose();
    this.indices.dispose();
  }
}

/**
 * Packs host data: `weight` of `shape` ([out, in] or [out, in, kh, kw]) times its 0/1 `mask`, which must be N:M along
 * the input dimension (else an error naming `name` and the shapes). `name`: the layer, for errors.
 */
export function nmWeight(weight: Float32Array, shape: readonly number[], pattern: k.NmPattern, mask?: Float32Array | null, name = 'weight'): NmWeight {
  if (shape.length !== 2 && shape.length !== 4) throw new Error(`nmWeight: layer '${name}' weight must be [out, in] or [out, in, kh, kw], got [${shape}]`);
  const rows = shape[0];
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  return new NmWeight(k.packNm(weight, rows, cols, pattern, mask, `layer '${name}' [${shape}]`), shape);
}

/** Reads a weight and its mask back once and packs them N:M (call when the masks change). */
export async function packNmWeight(weight: Tensor, mask: Tensor | null, pattern: k.NmPattern, name = 'weight'): Promise<NmWeight> {
  checkF32('packNmWeight', [['weight', weight], ['mask', mask]]);
  if (mask && `${mask.shape}` !== `${weight.shape}`) throw new Error(`packNmWeight: layer '${name}' mask [${mask.shape}] does not match weight [${weight.shape}]`);
  const values = (await weight.toArray()) as Float32Array;
  return nmWeight(values, weight.shape, pattern, mask ? ((await mask.toArray()) as Float32Array) : null, name);
}

function checkActivation(op: string, activation: string | undefined): boolean {
  if (activation !== undefined && activation !== 'relu') throw new Error(`${op}: unknown activation '${activation}' (only 'relu')`);
  return activation === 'relu';
}

function checkBias(op: string, bias: Tensor | null | undefined, out: number, what: string): void {
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== out)) throw new Error(`${op}: bias [${bias.shape}] does not match ${out} outputs (${what})`);
}

/** x [batch, in] -> x @ W^T + bias, then the activation, with W [out, in] packed N:M (`layout`: the kernel's, by default by batch size). Inference only. */
export function nmLinear(x: Tensor, weight: NmWeight, bias?: Tensor | null, options: { activation?: 'relu'; layout?: k.MatmulNmLayout } = {}): Tensor {
  const what = `x [${x.shape}] and ${weight.label}`;
  checkF32('nmLinear', [['x', x], ['bias', bias]]);
  if (weight.shape.length !== 2) throw new Error(`nmLinear: needs a linear weight, got ${weight.label}`);
  const [outFeatures, inFeatures] = weight.shape;
  if (x.shape.length !== 2 || x.shape[1] !== inFeatures) throw new Error(`nmLinear: ${what} do not match (x must be [batch, ${inFeatures}])`);
  checkBias('nmLinear', bias, outFeatures, what);
  const relu = checkActivation('nmLinear', options.activation);
  checkInferenceOnly('nmLinear', [x, bias]);
  const batch = x.shape[0];
  const out = empty([batch, outFeatures], 'f32', `nmLinear([${x.shape}], ${weight.label})`);
  k.matmulNm(runtime().runner, x.buffer, weight.values.buffer, weight.indices.buffer, out.buffer, batch, inFeatures, outFeatures, weight.pattern, { bias: bias?.buffer, relu, layout: options.layout });
  return out;
}

export interface NmConv2dOptions {
  stride?: Size2d;
  padding?: Size2d;
  activation?: 'relu';
}

const pair = (value: Size2d): [number, number] => (typeof value === 'number' ? [value, value] : [value[0], value[1]]);

/** x [N,C,H,W] -> conv2d(x, W) + bias, then the activation, with W [O,C,KH,KW] packed N:M along C*KH*KW. Inference only. */
export function nmConv2d(x: Tensor, weight: NmWeight, bias?: Tensor | null, options: NmConv2dOptions = {}): Tensor {
  const what = `input [${x.shape}], ${weight.label}`;
  checkF32('nmConv2d', [['input', x], ['bias', bias]]);
  if (weight.shape.length !== 4) throw new Error(`nmConv2d: needs a conv weight, got ${weight.label}`);
  const [o, cw, kh, kw] = weight.shape;
  if (x.shape.length !== 4 || x.shape[1] !== cw) throw new Error(`nmConv2d: ${what} do not match (input must be [N, ${cw}, H, W])`);
  checkBias('nmConv2d', bias, o, what);
  const relu = checkActivation('nmConv2d', options.activation);
  checkInferenceOnly('nmConv2d', [x, bias]);
  const [n, c, h, w] = x.shape;
  const [strideH, strideW] = pair(options.stride ?? 1);
  const [padH, padW] = pair(options.padding ?? 0);
  const shape: k.Conv2dShape = { n, c, h, w, o, kh, kw, strideH, strideW, padH, padW };
  k.checkConv2dShape(`nmConv2d (${what})`, shape);
  const { oh, ow } = k.conv2dOutputSize(shape);
  const out = empty([n, o, oh, ow], 'f32', `nmConv2d([${x.shape}], ${weight.label})`);
  k.conv2dNm(runtime().runner, x.buffer, weight.values.buffer, weight.indices.buffer, out.buffer, shape, weight.pattern, { bias: bias?.buffer, relu });
  return out;
}
