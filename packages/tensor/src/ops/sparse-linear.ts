/**
 * Inference with pruned linear layers stored sparsely (CSR by output feature), so that time falls with the
 * number of weights left. The sparse weight is packed once, when the masks change (after pruning or loading
 * a checkpoint), from the weight and its mask; it is a frozen snapshot for inference, and these ops have no
 * backward (training keeps the dense masked kernels, whose weights change every step).
 *
 * The effective dense weight is kept beside the sparse one: at low sparsity the dense kernels win (on
 * lavapipe the sparse ones broke even near 70% for LeNet), so the runner's tuner measures both per shape and
 * density and each call runs the faster ('sparse' or 'dense'; forced as sparse_linear=... / sparse_conv2d=...).
 */
import * as k from '@sparsenet/kernels-wgsl';
import { BufferUsage } from '@sparsenet/kernels-wgsl';
import { isGradEnabled } from '../autograd.js';
import { untrack } from '../memory.js';
import { runtime } from '../runtime.js';
import { empty, tensor, type Tensor } from '../tensor.js';

export const SPARSE_VARIANTS = ['sparse', 'dense'] as const;
export type SparseVariant = (typeof SPARSE_VARIANTS)[number];
/** Until measured, the sparse kernels are taken below this density (a guess on the safe side of break-even). */
const SPARSE_BELOW_DENSITY = 0.25;

/** Index and value arrays on the device and the effective dense weight, owned by the sparse weight (outside every scope). */
export abstract class SparseWeight {
  /** Nonzero weights kept. */
  readonly nonzeros: number;
  /** Offsets [units + 1] into `entries`, per output unit. */
  readonly starts: Tensor;
  /** Pairs (index, f32 bits) as i32, one pair per nonzero. */
  readonly entries: Tensor;
  /** weight * mask in the dense layout, for the dense kernels. */
  readonly dense: Tensor;

  protected constructor(starts: Uint32Array, entries: Uint32Array, nonzeros: number, dense: Float32Array, shape: readonly number[]) {
    this.nonzeros = nonzeros;
    this.starts = owned(tensor(new Int32Array(starts.buffer, starts.byteOffset, starts.length), [starts.length], { dtype: 'i32' }));
    this.entries = owned(tensor(new Int32Array(entries.buffer, entries.byteOffset, entries.length), [entries.length], { dtype: 'i32' }));
    this.dense = owned(tensor(dense, shape));
  }

  /** Total weights of the dense layer. */
  abstract get size(): number;

  /** Fraction of the weights kept. */
  get density(): number {
    return this.size ? this.nonzeros / this.size : 0;
  }

  dispose(): void {
    this.starts.dispose();
    this.entries.dispose();
    this.dense.dispose();
  }
}

function owned(t: Tensor): Tensor {
  untrack(t);
  return t;
}

/** weight * mask, with +0 where the mask is 0. */
export function effectiveWeight(weight: Float32Array, mask?: Float32Array | null): Float32Array {
  return mask ? weight.map((v, i) => (mask[i] === 0 ? 0 : v)) : weight.slice();
}

/** Buffers a representation's kernels read and write: the input, the weight in both forms, the bias, the output. */
export interface SparseOperands {
  x: GPUBuffer;
  starts: GPUBuffer;
  entries: GPUBuffer;
  dense: GPUBuffer;
  bias?: GPUBuffer;
  out: GPUBuffer;
}

/** f32 elements of the operands a tuning measurement needs (bias 0: none). */
export interface SparseOperandSizes {
  input: number;
  output: number;
  bias: number;
}

/**
 * The representation the runner's tuner picks for `kernel` at `shape` (with every flag compiled into the
 * kernels, e.g. '+bias+relu') and this weight's density. `programs` are those the variants may run (their WGSL
 * versions the choice). The tuning request runs `record` on scratch input, bias and output and on copies of
 * the weight's buffers, taken when it is built (the weight may be disposed before the measurement).
 */
export function chooseSparseVariant(kernel: string, shape: string, weight: SparseWeight, sizes: SparseOperandSizes, programs: readonly k.Program[], record: (variant: SparseVariant, operands: SparseOperands) => void): SparseVariant {
  const { runner } = runtime();
  const heuristic: SparseVariant = weight.density < SPARSE_BELOW_DENSITY ? 'sparse' : 'dense';
  return runner.tuner.choose(kernel, `${shape}:nnz${weight.nonzeros}`, SPARSE_VARIANTS, heuristic, () => {
    const scratch = (bytes: number) => runner.createBuffer(Math.max(bytes, 16), BufferUsage.STORAGE | BufferUsage.COPY_DST, `${kernel} tuning`);
    const copy = (t: Tensor) => {
      const buffer = scratch(t.buffer.size);
      runner.copy(t.buffer, 0, buffer, 0, t.buffer.size);
      return buffer;
    };
    const operands: SparseOperands = {
      x: scratch(4 * sizes.input), starts: copy(weight.starts), entries: copy(weight.entries), dense: copy(weight.dense),
      bias: sizes.bias ? scratch(4 * sizes.bias) : undefined, out: scratch(4 * sizes.output),
    };
    return k.tuneRequest({
      kernel,
      shape,
      variants: SPARSE_VARIANTS,
      programs,
      run: (variant) => record(variant, operands),
      release: () => Object.values(operands).forEach((b) => b?.destroy()),
    });
  });
}

/** Throws when gradients would be needed: the sparse ops are for inference only. */
export function checkInferenceOnly(op: string, inputs: (Tensor | null | undefined)[]): void {
  if (isGradEnabled() && inputs.some((t) => t?.requiresGrad)) {
    throw new Error(`${op}: inference only (no backward); run it under noGrad() or pass inputs that do not require grad`);
  }
}

export function checkF32(op: string, named: [string, Tensor | null | undefined][]): void {
  for (const [name, t] of named) {
    if (t && t.dtype !== 'f32') throw new Error(`${op}: ${name} must be f32, got ${t.dtype} [${t.shape}]`);
  }
}

export class SparseLinearWeight extends SparseWeight {
  constructor(
    readonly outFeatures: number,
    readonly inFeatures: number,
    csr: k.CsrRows,
    dense: Float32Array,
  ) {
    super(csr.rowStart, csr.entries, csr.nonzeros, dense, [outFeatures, inFeatures]);
  }

  get size(): number {
    return this.outFeatures * this.inFeatures;
  }
}

/** The sparse form of a linear weight [out, in] (times its 0/1 mask) given as host data. */
export function sparseLinearWeight(weight: Float32Array, shape: readonly [number, number], mask?: Float32Array | null): SparseLinearWeight {
  const [outFeatures, inFeatures] = shape;
  return new SparseLinearWeight(outFeatures, inFeatures, k.packCsrRows(weight, outFeatures, inFeatures, mask), effectiveWeight(weight, mask));
}

/** Reads a linear weight [out, in] and its mask back once and packs them (call when the masks change). */
export async function packSparseLinear(weight: Tensor, mask?: Tensor | null): Promise<SparseLinearWeight> {
  checkF32('packSparseLinear', [['weight', weight], ['mask', mask]]);
  if (weight.shape.length !== 2) throw new Error(`packSparseLinear: weight must be [out_features, in_features], got [${weight.shape}]`);
  if (mask && `${mask.shape}` !== `${weight.shape}`) throw new Error(`packSparseLinear: mask [${mask.shape}] does not match weight [${weight.shape}]`);
  const values = (await weight.toArray()) as Float32Array;
  const maskValues = mask ? ((await mask.toArray()) as Float32Array) : null;
  return sparseLinearWeight(values, [weight.shape[0], weight.shape[1]], maskValues);
}

/** x [batch, in] -> x @ W^T + bias, then the activation, with W sparse (or dense where that is faster). Inference only. */
export function sparseLinear(x: Tensor, weight: SparseLinearWeight, bias?: Tensor | null, options: { activation?: 'relu' } = {}): Tensor {
  const what = `x [${x.shape}] and sparse weight [${weight.outFeatures},${weight.inFeatures}]`;
  checkF32('sparseLinear', [['x', x], ['bias', bias]]);
  if (x.shape.length !== 2) throw new Error(`sparseLinear: x must be [batch, in_features], got [${x.shape}]`);
  const [batch, inFeatures] = x.shape;
  if (inFeatures !== weight.inFeatures) throw new Error(`sparseLinear: ${what} do not match (in_features ${weight.inFeatures} != ${inFeatures})`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== weight.outFeatures)) {
    throw new Error(`sparseLinear: bias [${bias.shape}] does not match ${weight.outFeatures} out_features (${what})`);
  }
  if (options.activation !== undefined && options.activation !== 'relu') throw new Error(`sparseLinear: unknown activation '${options.activation}' (only 'relu')`);
  if (batch < 1 || inFeatures < 1 || weight.outFeatures < 1) throw new Error(`sparseLinear: empty operand (${what})`);
  checkInferenceOnly('sparseLinear', [x, bias]);
  const out = empty([batch, weight.outFeatures], 'f32', `sparseLinear([${x.shape}], [${weight.outFeatures},${weight.inFeatures}] at ${(100 * weight.density).toFixed(1)}%)`);
  const { runner } = runtime();
  const outFeatures = weight.outFeatures;
  const relu = options.activation === 'relu';
  const record = (variant: SparseVariant, o: SparseOperands) => {
    if (variant === 'sparse') k.matmulCsr(runner, o.x, o.starts, o.entries, o.out, batch, inFeatures, outFeatures, { bias: o.bias, relu });
    else k.matmul(runner, o.x, o.dense, o.out, batch, outFeatures, inFeatures, { transB: true, bias: o.bias, relu });
  };
  // The dense variant goes through matmul's own tuner: any of its variants may run.
  const spec = k.matmulSpec(batch, outFeatures, inFeatures, { transB: true, bias: bias?.buffer, relu });
  const programs = [k.matmulCsrProgram({ bias: bias?.buffer, relu }), ...k.matmulVariants(runner.device).map((v) => k.matmulVariantProgram(v, runner.device, spec))];
  const shape = `${batch}x${inFeatures}x${outFeatures}${bias ? '+bias' : ''}${relu ? '+relu' : ''}`;
  const variant = chooseSparseVariant('sparse_linear', shape, weight, { input: x.size, output: out.size, bias: bias ? outFeatures : 0 }, programs, record);
  record(variant, { x: x.buffer, starts: weight.starts.buffer, entries: weight.entries.buffer, dense: weight.dense.buffer, bias: bias?.buffer, out: out.buffer });
  return out;
}
