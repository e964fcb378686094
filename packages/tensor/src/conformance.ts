/**
 * The kernel conformance set (entry point `@sparsenet/tensor/conformance`): a fixed list of small cases covering
 * every kernel of @sparsenet/kernels-wgsl and every variant of it, each with seeded inputs. Running it returns
 * every case's outputs as read back, so that two runs (Node and a browser, two drivers) can be compared number
 * for number, and a float64 reference can judge each case (packages/tensor/test/reference/conformance.ts).
 * Shapes are deliberately not multiples of the workgroup or tile sizes. Variants are run by name, so the tuner
 * plays no part.
 *
 * Each kernel is described once (`KERNELS`): its cases, how to make their inputs, and how to run one. Matmul's
 * variants, layouts and epilogue flags are covered pairwise (each pair of choices at least once), since on a CPU
 * driver every distinct specialisation is a pipeline compiled on first use.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { Random } from './random.js';
import { runtime } from './runtime.js';
import { empty, tensor, type Tensor } from './tensor.js';

export type ConformanceArray = Float32Array | Int32Array;

/** A matmul with every option of the kernel's specialisation (alignment follows from m, n, k). */
export interface MatmulCase extends Omit<k.MatmulSpec, 'k4' | 'm4' | 'n4'> {
  variant: k.MatmulVariant;
  m: number;
  n: number;
  k: number;
}

/** A sparse kernel's weight keeps about `density` of its values (a seeded 0/1 mask). */
export interface CsrCase {
  density: number;
  bias: boolean;
  relu: boolean;
}

/** An N:M kernel's weight keeps N of every M along its input dimension (a seeded mask; some groups keep fewer). */
export interface NmCase {
  n: number;
  m: number;
  bias: boolean;
  relu: boolean;
}

/** The spec of each kernel's cases, by kernel name. */
export interface ConformanceSpecs {
  matmul: MatmulCase;
  matmul_csr: CsrCase & { batch: number; inFeatures: number; outFeatures: number };
  conv2d_forward: { variant: k.Conv2dForwardVariant; shape: k.Conv2dShape; bias: boolean; relu: boolean };
  conv2d_csr: CsrCase & { shape: k.Conv2dShape };
  matmul_nm: NmCase & { layout: k.MatmulNmLayout; batch: number; inFeatures: number; outFeatures: number };
  conv2d_nm: NmCase & { shape: k.Conv2dShape };
  conv2d_backward_input: { shape: k.Conv2dShape };
  /** Weight gradient, optionally multiplied by a 0/1 mask. */
  conv2d_backward_weight: { shape: k.Conv2dShape; mask: boolean };
  /** Forward, optionally also writing the argmax. */
  maxpool2d_forward: { geometry: k.Pool2dGeometry; argmax: boolean };
  maxpool2d_backward: { geometry: k.Pool2dGeometry };
  avgpool2d_forward: { geometry: k.Pool2dGeometry };
  avgpool2d_backward: { geometry: k.Pool2dGeometry };
  /** Batch statistics (interleaved mean, invstd) and the running statistics updated in place. */
  batchnorm_statistics: { shape: k.ChannelShape };
  batchnorm_eval_statistics: { shape: k.ChannelShape };
  batchnorm_normalize: { shape: k.ChannelShape };
  batchnorm_backward_reduce: { shape: k.ChannelShape };
  batchnorm_backward_input: { shape: k.ChannelShape };
  batchnorm_backward_input_eval: { shape: k.ChannelShape };
  relu: { n: number };
  relu_backward: { n: number };
  add_relu: { n: number };
  dropout: { n: number; p: number; seed: number; step: number };
  scale: { n: number; alpha: number };
  transpose: { rows: number; cols: number };
  fill: { n: number; value: number; dtype: 'f32' | 'i32' };
  binary: { op: k.BinaryOp; n: number; bn: number; alpha: number; beta: number; inPlace: boolean };
  /** Also writing the logits gradient when `grad`. */
  softmax_cross_entropy: { rows: number; classes: number; grad: boolean };
  count_correct: { rows: number; classes: number };
  sum_axes: { outer: number; channels: number; inner: number; accumulate: boolean };
  /** `step`: the step count of the bias corrections. */
  adam: { n: number; step: number; lr: number; weightDecay: number; mask: boolean };
  sgd: { n: number; lr: number; weightDecay: number; momentum: number; mask: boolean };
}

export type ConformanceKernel = keyof ConformanceSpecs;
export type ConformanceSpec = { [K in ConformanceKernel]: { kernel: K } & ConformanceSpecs[K] }[ConformanceKernel];

export interface ConformanceCase {
  /** Unique and stable, e.g. 'matmul register tn maskOut 29x33x43'. */
  name: string;
  spec: ConformanceSpec;
  /** The seeded inputs, by name (also the initial contents of outputs updated in place). */
  inputs: Record<string, ConformanceArray>;
}

export interface ConformanceResult {
  name: string;
  kernel: ConformanceKernel;
  /** 'unsupported': the device cannot run this variant (matmul 'subgroup' without fixed-size subgroups). */
  status: 'ok' | 'unsupported';
  outputs: Record<string, ConformanceArray>;
  ms: number;
}

/** Adam's betas and eps in every case (the kernel takes them as scalars; only lr and weight decay vary). */
export const CONFORMANCE_ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** BatchNorm's momentum and eps in every case (PyTorch's defaults). */
export const CONFORMANCE_BATCHNORM = { momentum: 0.1, eps: 1e-5 } as const;

/** Seeded inputs: uniform values (no normals, so no Math.log/cos whose last bits could differ between engines). */
class Inputs {
  readonly values: Record<string, ConformanceArray> = {};
  private readonly random: Random;
  constructor(seed: number) {
    this.random = new Random(seed);
  }
  uniform(name: string, n: number, lo = -1, hi = 1): void {
    this.values[name] = Float32Array.from({ length: n }, () => this.random.uniform(lo, hi));
  }
  /** 0/1 values, ones with probability `density`. */
  mask(name: string, n: number, density = 2 / 3): void {
    this.values[name] = Float32Array.from({ length: n }, () => (this.random.next() < density ? 1 : 0));
  }
  /** A 0/1 mask [rows, cols] keeping N random positions of every M along cols, one kept less in about a tenth of the groups. */
  nmMask(name: string, rows: number, cols: number, n: number, m: number): void {
    const mask = new Float32Array(rows * cols);
    for (let g = 0; g < mask.length; g += m) {
      const order = Array.from({ length: m }, (_, i) => i);
      for (let i = m - 1; i > 0; i--) {
        const j = this.random.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      const kept = this.random.next() < 0.1 ? n - 1 : n;
      for (let t = 0; t < kept; t++) mask[g + order[t]] = 1;
    }
    this.values[name] = mask;
  }
  ints(name: string, n: number, below: number): void {
    this.values[name] = Int32Array.from({ length: n }, () => this.random.int(below));
  }
}

/** What running a case can ask for: its inputs on the device, and outputs to read back. */
interface CaseIo {
  runner: k.KernelRunner;
  /** A named input's host values (for operands packed on the host). */
  value(name: string): ConformanceArray;
  /** A named input as a tensor (outputs updated in place are read back from these). */
  upload(name: string): Tensor;
  input(name: string): GPUBuffer;
  /** The named input's buffer, or undefined when the case has no such input. */
  optional(name: string): GPUBuffer | undefined;
  /** Host data made while running (e.g. packed sparse indices) on the device. */
  uploadData(data: ConformanceArray): Tensor;
  output(size: number, dtype?: 'f32' | 'i32'): Tensor;
}

/** One kernel's part of the set. */
interface KernelConformance<S> {
  /** Its cases: a name (after the kernel's) and a spec. */
  cases: readonly (readonly [string, S])[];
  /** Makes the seeded inputs of a case. */
  inputs(spec: S, i: Inputs): void;
  /** Records the kernel and returns the tensors to read back, by output name (null: not written by this case). */
  run(spec: S, io: CaseIo): Record<string, Tensor | null>;
  /** Whether this device can run the case (default: yes). */
  supported?(spec: S, device: GPUDevice): boolean;
}

const conv = (n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, stride = 1, pad = 0): k.Conv2dShape => ({
  n, c, h, w, o, kh, kw, strideH: stride, strideW: stride, padH: pad, padW: pad,
});

const CONV_SHAPES = {
  odd: conv(2, 3, 13, 11, 5, 3, 4),
  strided: conv(1, 4, 9, 10, 7, 3, 3, 2, 1),
  conv1: conv(3, 3, 20, 20, 6, 5, 5),
  conv2: conv(2, 6, 12, 12, 16, 5, 5),
};

const convName = (s: k.Conv2dShape) => `${s.n}x${s.c}x${s.h}x${s.w} * ${s.o}x${s.kh}x${s.kw} s${s.strideH} p${s.padH}`;
const convWeights = (s: k.Conv2dShape) => s.o * s.c * s.kh * s.kw;
const convOutputs = (s: k.Conv2dShape) => {
  const { oh, ow } = k.conv2dOutputSize(s);
  return s.n * s.o * oh * ow;
};

function pool(planes: number, height: number, width: number, kernel: number, stride: number): k.Pool2dGeometry {
  return {
    planes, height, width, kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride,
    outHeight: Math.floor((height - kernel) / stride) + 1, outWidth: Math.floor((width - kernel) / stride) + 1,
  };
}

const POOLS = { disjoint: pool(6, 13, 11, 2, 2), overlapping: pool(2, 9, 9, 3, 2) };
/** Global average pooling of 6 planes of 7x9. */
const GLOBAL_POOL: k.Pool2dGeometry = { planes: 6, height: 7, width: 9, kernelH: 7, kernelW: 9, strideH: 7, strideW: 9, outHeight: 1, outWidth: 1 };
/** A plane that does not divide the 256-thread sweep, and one wider than it. */
const BATCHNORM_SHAPES: Record<string, k.ChannelShape> = { odd: { images: 3, channels: 5, plane: 37 }, wide: { images: 2, channels: 3, plane: 300 } };
const batchNormCases = () => Object.entries(BATCHNORM_SHAPES).map(([name, shape]) => [`${name} ${shape.images}x${shape.channels}x${shape.plane}`, { shape }] as const);

/**
 * A BatchNorm kernel's inputs: x off-centre (so that the statistics kernel's shifted sums matter), the output
 * gradient, running or batch statistics (interleaved mean, invstd), weight and bias, as the kernel reads them.
 */
function batchNormInputs(kernel: keyof ConformanceSpecs, { images, channels, plane }: k.ChannelShape, i: Inputs): void {
  const size = images * channels * plane;
  const needs = (...kernels: string[]) => kernels.includes(kernel);
  if (!needs('batchnorm_eval_statistics', 'batchnorm_backward_input_eval')) i.uniform('x', size, 1, 3);
  if (needs('batchnorm_backward_reduce', 'batchnorm_backward_input', 'batchnorm_backward_input_eval')) i.uniform('dy', size);
  if (needs('batchnorm_statistics', 'batchnorm_eval_statistics')) {
    i.uniform('runningMean', channels);
    i.uniform('runningVar', channels, 0.5, 2);
  } else i.uniform('stats', 2 * channels, 0.5, 2);
  if (kernel === 'batchnorm_statistics') i.values.batches = Int32Array.of(41);
  if (needs('batchnorm_normalize', 'batchnorm_backward_input', 'batchnorm_backward_input_eval')) i.uniform('weight', channels, 0.5, 1.5);
  if (kernel === 'batchnorm_normalize') i.uniform('bias', channels);
  if (kernel === 'batchnorm_backward_input') {
    i.uniform('gradWeight', channels);
    i.uniform('gradBias', channels);
  }
}
const poolName = (g: k.Pool2dGeometry) => `${g.planes}x${g.height}x${g.width} k${g.kernelH} s${g.strideH}`;

const MATMUL_FLAGS = ['bias', 'relu', 'maskB', 'maskOut', 'accumulate'] as const;

/**
 * Matmul cases: a covering array of strength 2 over variant, layout, the five epilogue flags and four shapes
 * (unaligned, aligned, aligned but for M, batch 1): every pair of choices appears at least once, in 16 cases
 * instead of 3 x 4 x 32 x 4. Made by the greedy generator of packages/tensor/test/helpers.ts (`pairwise`) and
 * written out so that the list is fixed; packages/tensor/test/conformance.test.ts checks that it covers every pair.
 */
const MATMUL_CASES: [k.MatmulVariant, string, (typeof MATMUL_FLAGS)[number][], [number, number, number]][] = [
  ['subgroup', 'nn', [], [33, 17, 29]],
  ['register', 'nn', ['bias', 'relu', 'maskB', 'maskOut', 'accumulate'], [64, 132, 20]],
  ['tiled', 'nn', ['relu', 'maskOut'], [33, 120, 84]],
  ['subgroup', 'nn', ['bias', 'maskB', 'accumulate'], [1, 17, 29]],
  ['register', 'nt', ['maskB', 'maskOut'], [33, 17, 29]],
  ['subgroup', 'nt', ['relu', 'accumulate'], [64, 132, 20]],
  ['subgroup', 'nt', ['bias'], [33, 120, 84]],
  ['tiled', 'nt', [], [1, 17, 29]],
  ['tiled', 'tn', ['bias', 'relu', 'maskB', 'accumulate'], [33, 17, 29]],
  ['subgroup', 'tn', ['maskOut'], [64, 132, 20]],
  ['register', 'tn', ['accumulate'], [33, 120, 84]],
  ['register', 'tn', ['relu', 'maskOut'], [1, 17, 29]],
  ['subgroup', 'tt', [], [33, 17, 29]],
  ['tiled', 'tt', ['bias', 'relu', 'maskB', 'maskOut', 'accumulate'], [64, 132, 20]],
  ['register', 'tt', ['maskB'], [33, 120, 84]],
  ['subgroup', 'tt', [], [1, 17, 29]],
];

function matmulCases(): [string, MatmulCase][] {
  return MATMUL_CASES.map(([variant, layout, flags, [m, kk, n]]) => {
    const has = (f: (typeof MATMUL_FLAGS)[number]) => flags.includes(f);
    const spec: MatmulCase = {
      variant, m, n, k: kk, transA: layout[0] === 't', transB: layout[1] === 't',
      bias: has('bias'), relu: has('relu'), maskB: has('maskB'), maskOut: has('maskOut'), accumulate: has('accumulate'),
    };
    return [`${variant} ${layout}${MATMUL_FLAGS.filter(has).map((f) => ` ${f}`).join('')} ${m}x${kk}x${n}`, spec];
  });
}

/** Sparse indices (u32) as i32 tensors, as the sparse ops keep them. */
const asI32 = (a: Uint32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);

const KERNELS: { [K in ConformanceKernel]: KernelConformance<ConformanceSpecs[K]> } = {
  matmul: {
    cases: matmulCases(),
    inputs: (s, i) => {
      i.uniform('a', s.m * s.k);
      i.uniform('b', s.k * s.n);
      if (s.maskB) i.mask('maskB', s.k * s.n);
      if (s.bias) i.uniform('bias', s.n);
      if (s.maskOut) i.mask('maskOut', s.m * s.n);
      if (s.accumulate) i.uniform('c', s.m * s.n);
    },
    run: (s, io) => {
      const c = s.accumulate ? io.upload('c') : io.output(s.m * s.n);
      const options: k.MatmulOptions = {
        transA: s.transA, transB: s.transB, relu: s.relu, accumulate: s.accumulate,
        bias: io.optional('bias'), maskB: io.optional('maskB'), maskOut: io.optional('maskOut'),
      };
      k.runMatmulVariant(s.variant, io.runner, io.input('a'), io.input('b'), c.buffer, s.m, s.n, s.k, options);
      return { c };
    },
    supported: (s, device) => k.matmulVariants(device).includes(s.variant),
  },
  matmul_csr: {
    cases: [
      ['bias relu 33x43->29 at 30%', { batch: 33, inFeatures: 43, outFeatures: 29, density: 0.3, bias: true, relu: true }],
      ['300x120->7 at 10%', { batch: 300, inFeatures: 120, outFeatures: 7, density: 0.1, bias: false, relu: false }],
    ],
    inputs: (s, i) => {
      i.uniform('x', s.batch * s.inFeatures);
      i.uniform('weight', s.outFeatures * s.inFeatures);
      i.mask('mask', s.outFeatures * s.inFeatures, s.density);
      if (s.bias) i.uniform('bias', s.outFeatures);
    },
    run: (s, io) => {
      const csr = k.packCsrRows(io.value('weight') as Float32Array, s.outFeatures, s.inFeatures, io.value('mask') as Float32Array);
      const out = io.output(s.batch * s.outFeatures);
      const [rowStart, entries] = [io.uploadData(asI32(csr.rowStart)), io.uploadData(asI32(csr.entries))];
      k.matmulCsr(io.runner, io.input('x'), rowStart.buffer, entries.buffer, out.buffer, s.batch, s.inFeatures, s.outFeatures, { bias: io.optional('bias'), relu: s.relu });
      return { out };
    },
  },
  conv2d_forward: {
    cases: k.CONV2D_FORWARD_VARIANTS.flatMap((variant) => [
      [`${variant} bias relu ${convName(CONV_SHAPES.odd)}`, { variant, shape: CONV_SHAPES.odd, bias: true, relu: true }],
      [`${variant} bias ${convName(CONV_SHAPES.strided)}`, { variant, shape: CONV_SHAPES.strided, bias: true, relu: false }],
      [`${variant} bias relu ${convName(CONV_SHAPES.conv1)}`, { variant, shape: CONV_SHAPES.conv1, bias: true, relu: true }],
      [`${variant} ${convName(CONV_SHAPES.conv2)}`, { variant, shape: CONV_SHAPES.conv2, bias: false, relu: false }],
    ] as const),
    inputs: (s, i) => {
      i.uniform('x', s.shape.n * s.shape.c * s.shape.h * s.shape.w);
      i.uniform('weight', convWeights(s.shape));
      if (s.bias) i.uniform('bias', s.shape.o);
    },
    run: (s, io) => {
      const out = io.output(convOutputs(s.shape));
      k.conv2dForwardVariant(io.runner, s.variant, io.input('x'), io.input('weight'), out.buffer, s.shape, { bias: io.optional('bias'), relu: s.relu });
      return { out };
    },
  },
  conv2d_csr: {
    cases: [
      [`bias relu ${convName(CONV_SHAPES.conv2)} at 20%`, { shape: CONV_SHAPES.conv2, density: 0.2, bias: true, relu: true }],
      [`${convName(CONV_SHAPES.strided)} at 40%`, { shape: CONV_SHAPES.strided, density: 0.4, bias: false, relu: false }],
    ],
    inputs: (s, i) => {
      i.uniform('x', s.shape.n * s.shape.c * s.shape.h * s.shape.w);
      i.uniform('weight', convWeights(s.shape));
      i.mask('mask', convWeights(s.shape), s.density);
      if (s.bias) i.uniform('bias', s.shape.o);
    },
    run: (s, io) => {
      const { o, c, kh, kw } = s.shape;
      const taps = k.packConv2dTaps(io.value('weight') as Float32Array, [o, c, kh, kw], io.value('mask') as Float32Array);
      const out = io.output(convOutputs(s.shape));
      const [tapStart, entries] = [io.uploadData(asI32(taps.tapStart)), io.uploadData(asI32(taps.taps))];
      k.conv2dCsr(io.runner, io.input('x'), tapStart.buffer, entries.buffer, out.buffer, s.shape, { bias: io.optional('bias'), relu: s.relu });
      return { out };
    },
  },
  matmul_nm: {
    cases: [
      ['2:4 rows bias relu 33x44->29', { layout: 'rows', batch: 33, inFeatures: 44, outFeatures: 29, n: 2, m: 4, bias: true, relu: true }],
      ['2:4 outputs 300x120->70', { layout: 'outputs', batch: 300, inFeatures: 120, outFeatures: 70, n: 2, m: 4, bias: false, relu: false }],
      ['1:4 rows 300x120->7', { layout: 'rows', batch: 300, inFeatures: 120, outFeatures: 7, n: 1, m: 4, bias: false, relu: false }],
      // M = 8: 4-bit indices.
      ['3:8 outputs bias 5x48->9', { layout: 'outputs', batch: 5, inFeatures: 48, outFeatures: 9, n: 3, m: 8, bias: true, relu: false }],
    ],
    inputs: (s, i) => {
      i.uniform('x', s.batch * s.inFeatures);
      i.uniform('weight', s.outFeatures * s.inFeatures);
      i.nmMask('mask', s.outFeatures, s.inFeatures, s.n, s.m);
      if (s.bias) i.uniform('bias', s.outFeatures);
    },
    run: (s, io) => {
      const packed = k.packNm(io.value('weight') as Float32Array, s.outFeatures, s.inFeatures, s, io.value('mask') as Float32Array);
      const out = io.output(s.batch * s.outFeatures);
      const [values, indices] = [io.uploadData(packed.values), io.uploadData(asI32(packed.indices))];
      k.matmulNm(io.runner, io.input('x'), values.buffer, indices.buffer, out.buffer, s.batch, s.inFeatures, s.outFeatures, s, { bias: io.optional('bias'), relu: s.relu, layout: s.layout });
      return { out };
    },
  },
  conv2d_nm: {
    cases: [
      [`2:4 bias relu ${convName(CONV_SHAPES.odd)}`, { shape: CONV_SHAPES.odd, n: 2, m: 4, bias: true, relu: true }],
      [`2:4 ${convName(CONV_SHAPES.strided)}`, { shape: CONV_SHAPES.strided, n: 2, m: 4, bias: false, relu: false }],
    ],
    inputs: (s, i) => {
      const { o, c, kh, kw } = s.shape;
      i.uniform('x', s.shape.n * c * s.shape.h * s.shape.w);
      i.uniform('weight', convWeights(s.shape));
      i.nmMask('mask', o, c * kh * kw, s.n, s.m);
      if (s.bias) i.uniform('bias', o);
    },
    run: (s, io) => {
      const { o, c, kh, kw } = s.shape;
      const packed = k.packNm(io.value('weight') as Float32Array, o, c * kh * kw, s, io.value('mask') as Float32Array);
      const out = io.output(convOutputs(s.shape));
      const [values, indices] = [io.uploadData(packed.values), io.uploadData(asI32(packed.indices))];
      k.conv2dNm(io.runner, io.input('x'), values.buffer, indices.buffer, out.buffer, s.shape, s, { bias: io.optional('bias'), relu: s.relu });
      return { out };
    },
  },
  conv2d_backward_input: {
    cases: [CONV_SHAPES.odd, CONV_SHAPES.strided, CONV_SHAPES.conv2].map((shape) => [convName(shape), { shape }] as const),
    inputs: (s, i) => {
      i.uniform('dy', convOutputs(s.shape));
      i.uniform('weight', convWeights(s.shape));
    },
    run: (s, io) => {
      const dx = io.output(s.shape.n * s.shape.c * s.shape.h * s.shape.w);
      k.conv2dBackwardInput(io.runner, io.input('dy'), io.input('weight'), dx.buffer, s.shape);
      return { dx };
    },
  },
  conv2d_backward_weight: {
    cases: [
      [convName(CONV_SHAPES.odd), { shape: CONV_SHAPES.odd, mask: false }],
      [`mask ${convName(CONV_SHAPES.strided)}`, { shape: CONV_SHAPES.strided, mask: true }],
      [`mask ${convName(CONV_SHAPES.conv1)}`, { shape: CONV_SHAPES.conv1, mask: true }],
    ],
    inputs: (s, i) => {
      i.uniform('dy', convOutputs(s.shape));
      i.uniform('x', s.shape.n * s.shape.c * s.shape.h * s.shape.w);
      if (s.mask) i.mask('mask', convWeights(s.shape));
    },
    run: (s, io) => {
      const dw = io.output(convWeights(s.shape));
      const partials = io.output(k.conv2dBackwardWeightScratch(s.shape));
      k.conv2dBackwardWeight(io.runner, io.input('x'), io.input('dy'), dw.buffer, partials.buffer, s.shape, { mask: io.optional('mask') ?? null });
      return { dw };
    },
  },
  maxpool2d_forward: {
    cases: [
      ...Object.entries(POOLS).map(([name, geometry]) => [`argmax ${name} ${poolName(geometry)}`, { geometry, argmax: true }] as const),
      ['disjoint no argmax', { geometry: POOLS.disjoint, argmax: false }],
    ],
    inputs: (s, i) => i.uniform('x', s.geometry.planes * s.geometry.height * s.geometry.width),
    run: (s, io) => {
      const g = s.geometry;
      const y = io.output(g.planes * g.outHeight * g.outWidth);
      const argmax = s.argmax ? io.output(y.size, 'i32') : null;
      k.maxPool2dForward(io.runner, io.input('x'), y.buffer, argmax?.buffer ?? null, g);
      return { y, argmax };
    },
  },
  maxpool2d_backward: {
    cases: Object.entries(POOLS).map(([name, geometry]) => [`${name} ${poolName(geometry)}`, { geometry }] as const),
    inputs: ({ geometry: g }, i) => {
      const outputs = g.planes * g.outHeight * g.outWidth;
      i.uniform('dy', outputs);
      // A valid argmax: some position inside each output's window.
      i.ints('dh', outputs, g.kernelH);
      i.ints('dw', outputs, g.kernelW);
      const { dh, dw } = i.values;
      i.values.argmax = Int32Array.from({ length: outputs }, (_, o) => {
        const ow = o % g.outWidth;
        const oh = Math.floor(o / g.outWidth) % g.outHeight;
        return (oh * g.strideH + dh[o]) * g.width + ow * g.strideW + dw[o];
      });
      delete i.values.dh;
      delete i.values.dw;
    },
    run: (s, io) => {
      const g = s.geometry;
      const dx = io.output(g.planes * g.height * g.width);
      k.maxPool2dBackward(io.runner, io.input('dy'), io.input('argmax'), dx.buffer, g);
      return { dx };
    },
  },
  avgpool2d_forward: {
    cases: Object.entries({ ...POOLS, global: GLOBAL_POOL }).map(([name, geometry]) => [`${name} ${poolName(geometry)}`, { geometry }] as const),
    inputs: ({ geometry: g }, i) => i.uniform('x', g.planes * g.height * g.width),
    run: ({ geometry: g }, io) => {
      const y = io.output(g.planes * g.outHeight * g.outWidth);
      k.avgPool2dForward(io.runner, io.input('x'), y.buffer, g);
      return { y };
    },
  },
  avgpool2d_backward: {
    cases: Object.entries({ ...POOLS, global: GLOBAL_POOL }).map(([name, geometry]) => [`${name} ${poolName(geometry)}`, { geometry }] as const),
    inputs: ({ geometry: g }, i) => i.uniform('dy', g.planes * g.outHeight * g.outWidth),
    run: ({ geometry: g }, io) => {
      const dx = io.output(g.planes * g.height * g.width);
      k.avgPool2dBackward(io.runner, io.input('dy'), dx.buffer, g);
      return { dx };
    },
  },
  batchnorm_statistics: {
    cases: batchNormCases(),
    inputs: (s, i) => batchNormInputs('batchnorm_statistics', s.shape, i),
    run: (s, io) => {
      const stats = io.output(2 * s.shape.channels);
      const [runningMean, runningVar, batches] = ['runningMean', 'runningVar', 'batches'].map((name) => io.upload(name));
      k.batchNormStatistics(io.runner, io.input('x'), stats.buffer, runningMean.buffer, runningVar.buffer, batches.buffer, s.shape, CONFORMANCE_BATCHNORM);
      return { stats, runningMean, runningVar, batches };
    },
  },
  batchnorm_eval_statistics: {
    cases: batchNormCases(),
    inputs: (s, i) => batchNormInputs('batchnorm_eval_statistics', s.shape, i),
    run: (s, io) => {
      const stats = io.output(2 * s.shape.channels);
      k.batchNormEvalStatistics(io.runner, io.input('runningMean'), io.input('runningVar'), stats.buffer, s.shape.channels, CONFORMANCE_BATCHNORM.eps);
      return { stats };
    },
  },
  batchnorm_normalize: {
    cases: batchNormCases(),
    inputs: (s, i) => batchNormInputs('batchnorm_normalize', s.shape, i),
    run: (s, io) => {
      const y = io.output(io.value('x').length);
      k.batchNormNormalize(io.runner, io.input('x'), io.input('stats'), io.input('weight'), io.input('bias'), y.buffer, s.shape);
      return { y };
    },
  },
  batchnorm_backward_reduce: {
    cases: batchNormCases(),
    inputs: (s, i) => batchNormInputs('batchnorm_backward_reduce', s.shape, i),
    run: (s, io) => {
      const [gradWeight, gradBias] = [io.output(s.shape.channels), io.output(s.shape.channels)];
      k.batchNormBackwardReduce(io.runner, io.input('x'), io.input('dy'), io.input('stats'), gradWeight.buffer, gradBias.buffer, s.shape);
      return { gradWeight, gradBias };
    },
  },
  batchnorm_backward_input: {
    cases: batchNormCases(),
    inputs: (s, i) => batchNormInputs('batchnorm_backward_input', s.shape, i),
    run: (s, io) => {
      const dx = io.output(io.value('dy').length);
      k.batchNormBackwardInput(io.runner, io.input('x'), io.input('dy'), io.input('stats'), io.input('weight'), io.input('gradWeight'), io.input('gradBias'), dx.buffer, s.shape);
      return { dx };
    },
  },
  batchnorm_backward_input_eval: {
    cases: batchNormCases(),
    inputs: (s, i) => batchNormInputs('batchnorm_backward_input_eval', s.shape, i),
    run: (s, io) => {
      const dx = io.output(io.value('dy').length);
      k.batchNormBackwardInputEval(io.runner, io.input('dy'), io.input('stats'), io.input('weight'), dx.buffer, s.shape);
      return { dx };
    },
  },
  add_relu: {
    cases: [['1000', { n: 1000 }]],
    inputs: (s, i) => {
      i.uniform('a', s.n);
      i.uniform('b', s.n);
    },
    run: (s, io) => {
      const out = io.output(s.n);
      k.addRelu(io.runner, io.input('a'), io.input('b'), out.buffer, s.n);
      return { out };
    },
  },
  dropout: {
    cases: [['p0.3 1000', { n: 1000, p: 0.3, seed: 17, step: 4 }]],
    inputs: (s, i) => i.uniform('x', s.n),
    run: (s, io) => {
      const out = io.output(s.n);
      k.dropout(io.runner, io.input('x'), out.buffer, s.n, s.p, { seed: s.seed, step: s.step });
      return { out };
    },
  },
  relu: {
    cases: [['1000', { n: 1000 }]],
    inputs: (s, i) => i.uniform('x', s.n),
    run: (s, io) => {
      const out = io.output(s.n);
      k.relu(io.runner, io.input('x'), out.buffer, s.n);
      return { out };
    },
  },
  relu_backward: {
    cases: [['1000', { n: 1000 }]],
    inputs: (s, i) => {
      i.uniform('y', s.n);
      i.values.y = (i.values.y as Float32Array).map((v) => Math.max(v, 0));
      i.uniform('dy', s.n);
    },
    run: (s, io) => {
      const dx = io.output(s.n);
      k.reluBackward(io.runner, io.input('y'), io.input('dy'), dx.buffer, s.n);
      return { dx };
    },
  },
  transpose: {
    cases: [['13x37', { rows: 13, cols: 37 }]],
    inputs: (s, i) => i.uniform('x', s.rows * s.cols),
    run: (s, io) => {
      const out = io.output(s.rows * s.cols);
      k.transpose(io.runner, io.input('x'), out.buffer, s.rows, s.cols);
      return { out };
    },
  },
  scale: {
    cases: [['777', { n: 777, alpha: -0.75 }]],
    inputs: (s, i) => i.uniform('x', s.n),
    run: (s, io) => {
      const out = io.output(s.n);
      k.scale(io.runner, io.input('x'), out.buffer, s.n, s.alpha);
      return { out };
    },
  },
  fill: {
    cases: [
      ['f32 1001', { n: 1001, value: -2.5, dtype: 'f32' }],
      ['i32 1001', { n: 1001, value: -7, dtype: 'i32' }],
    ],
    inputs: () => {},
    run: (s, io) => {
      const out = io.output(s.n, s.dtype);
      k.fill(io.runner, out.buffer, s.n, s.value, s.dtype);
      return { out };
    },
  },
  binary: {
    cases: [
      ['add 1000', { op: 'add', n: 1000, bn: 1000, alpha: 0.5, beta: -2, inPlace: false }],
      ['mul 1000', { op: 'mul', n: 1000, bn: 1000, alpha: 1.5, beta: 1, inPlace: false }],
      ['add broadcast 999 by 37', { op: 'add', n: 999, bn: 37, alpha: 1, beta: 1, inPlace: false }],
      ['add in place 1000', { op: 'add', n: 1000, bn: 1000, alpha: 1, beta: 0.25, inPlace: true }],
    ],
    inputs: (s, i) => {
      i.uniform('a', s.n);
      i.uniform('b', s.bn);
    },
    run: (s, io) => {
      const a = io.upload('a');
      const out = s.inPlace ? a : io.output(s.n);
      k.binary(io.runner, s.op, a.buffer, io.input('b'), out.buffer, s.n, { alpha: s.alpha, beta: s.beta, bn: s.bn });
      return { out };
    },
  },
  softmax_cross_entropy: {
    cases: [
      ['grad 33x7', { rows: 33, classes: 7, grad: true }],
      ['300x7', { rows: 300, classes: 7, grad: false }],
    ],
    inputs: (s, i) => {
      i.uniform('logits', s.rows * s.classes, -4, 4);
      i.ints('labels', s.rows, s.classes);
    },
    run: (s, io) => {
      const loss = io.output(1);
      const grad = s.grad ? io.output(s.rows * s.classes) : null;
      k.softmaxCrossEntropy(io.runner, io.input('logits'), io.input('labels'), loss.buffer, grad?.buffer ?? null, s.rows, s.classes);
      return { loss, grad };
    },
  },
  count_correct: {
    cases: [['300x7', { rows: 300, classes: 7 }]],
    inputs: (s, i) => {
      i.uniform('logits', s.rows * s.classes, -4, 4);
      i.ints('labels', s.rows, s.classes);
      i.values.counter = Float32Array.of(5);
    },
    run: (s, io) => {
      const counter = io.upload('counter');
      k.countCorrect(io.runner, io.input('logits'), io.input('labels'), counter.buffer, s.rows, s.classes);
      return { counter };
    },
  },
  sum_axes: {
    cases: [
      ['3x5x37', { outer: 3, channels: 5, inner: 37, accumulate: false }],
      ['accumulate 33x84x1', { outer: 33, channels: 84, inner: 1, accumulate: true }],
    ],
    inputs: (s, i) => {
      i.uniform('x', s.outer * s.channels * s.inner);
      if (s.accumulate) i.uniform('out', s.channels);
    },
    run: (s, io) => {
      const out = s.accumulate ? io.upload('out') : io.output(s.channels);
      k.sumAxes(io.runner, io.input('x'), out.buffer, s.outer, s.channels, s.inner, s.accumulate);
      return { out };
    },
  },
  adam: {
    cases: [
      ['1000', { n: 1000, step: 3, lr: 1e-2, weightDecay: 0.01, mask: false }],
      ['mask 1000', { n: 1000, step: 1, lr: 1e-3, weightDecay: 0, mask: true }],
    ],
    inputs: (s, i) => {
      i.uniform('param', s.n);
      i.uniform('grad', s.n);
      i.uniform('m', s.n, -0.1, 0.1);
      i.uniform('v', s.n, 0, 0.01);
      if (s.mask) i.mask('mask', s.n);
    },
    run: (s, io) => {
      const [param, m, v] = [io.upload('param'), io.upload('m'), io.upload('v')];
      const scalars = io.uploadData(Float32Array.from(k.adamScalars({ lr: s.lr, weightDecay: s.weightDecay, ...CONFORMANCE_ADAM }, s.step)));
      k.adam(io.runner, scalars.buffer, 0, param.buffer, io.input('grad'), m.buffer, v.buffer, io.optional('mask') ?? null, s.n);
      return { param, m, v };
    },
  },
  sgd: {
    cases: [
      ['1000', { n: 1000, lr: 0.1, weightDecay: 0.01, momentum: 0, mask: false }],
      ['momentum 1000', { n: 1000, lr: 0.1, weightDecay: 0, momentum: 0.9, mask: false }],
      ['momentum mask 1000', { n: 1000, lr: 0.05, weightDecay: 0.01, momentum: 0.9, mask: true }],
    ],
    inputs: (s, i) => {
      i.uniform('param', s.n);
      i.uniform('grad', s.n);
      if (s.momentum !== 0) i.uniform('momentumBuffer', s.n);
      if (s.mask) i.mask('mask', s.n);
    },
    run: (s, io) => {
      const param = io.upload('param');
      const momentumBuffer = s.momentum !== 0 ? io.upload('momentumBuffer') : null;
      const scalars = io.uploadData(Float32Array.from(k.sgdScalars({ lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay })));
      k.sgd(io.runner, scalars.buffer, 0, param.buffer, io.input('grad'), momentumBuffer?.buffer ?? null, io.optional('mask') ?? null, s.n);
      return { param, momentumBuffer };
    },
  },
};

/** FNV-1a of the case name: a case's inputs do not change when cases are added or reordered. */
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The kernel's description, typed by the spec's kernel. */
function kernelOf<K extends ConformanceKernel>(spec: { kernel: K }): KernelConformance<ConformanceSpecs[K]> {
  return KERNELS[spec.kernel];
}

/** The fixed list of cases with their seeded inputs. */
export function conformanceCases(): ConformanceCase[] {
  return (Object.keys(KERNELS) as ConformanceKernel[]).flatMap((kernel) =>
    (KERNELS[kernel].cases as readonly (readonly [string, ConformanceSpecs[typeof kernel]])[]).map(([suffix, fields]) => {
      const name = `${kernel} ${suffix}`;
      const spec = { kernel, ...fields } as ConformanceSpec;
      const inputs = new Inputs(seedOf(name));
      kernelOf(spec).inputs(spec as never, inputs);
      return { name, spec, inputs: inputs.values };
    }),
  );
}

/** Whether this device can run the case's variant. */
export function conformanceSupported(spec: ConformanceSpec): boolean {
  return kernelOf(spec).supported?.(spec as never, runtime().device) ?? true;
}

/** Runs one case on the runtime's device (call `getDevice()` first) and reads its outputs back. */
export async function runConformanceCase(c: ConformanceCase): Promise<ConformanceResult> {
  const started = performance.now();
  const result = (outputs: Record<string, ConformanceArray>, status: ConformanceResult['status'] = 'ok'): ConformanceResult => ({
    name: c.name, kernel: c.spec.kernel, status, outputs, ms: performance.now() - started,
  });
  if (!conformanceSupported(c.spec)) return result({}, 'unsupported');
  const made: Tensor[] = [];
  const keep = (t: Tensor) => {
    made.push(t);
    return t;
  };
  const io: CaseIo = {
    runner: runtime().runner,
    value: (name) => {
      const values = c.inputs[name];
      if (!values) throw new Error(`conformance ${c.name}: no input '${name}'`);
      return values;
    },
    uploadData: (data) => keep(data instanceof Int32Array ? tensor(data, [data.length], { dtype: 'i32' }) : tensor(data)),
    upload: (name) => io.uploadData(io.value(name)),
    input: (name) => io.upload(name).buffer,
    optional: (name) => (c.inputs[name] ? io.input(name) : undefined),
    output: (size, dtype = 'f32') => keep(empty([size], dtype, `conformance ${c.name}`)),
  };
  try {
    const read = kernelOf(c.spec).run(c.spec as never, io);
    const outputs: Record<string, ConformanceArray> = {};
    for (const [name, t] of Object.entries(read)) if (t) outputs[name] = (await t.toArray()) as ConformanceArray;
    return result(outputs);
  } finally {
    made.forEach((t) => t.dispose());
  }
}

/** Runs every case (or those `filter` keeps) in order; `onResult` sees each as it completes (for progress). */
export async function runConformance(options: { filter?: (c: ConformanceCase) => boolean; onResult?: (r: ConformanceResult, c: ConformanceCase) => void } = {}): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const c of conformanceCases()) {
    if (options.filter && !options.filter(c)) continue;
    const r = await runConformanceCase(c);
    options.onResult?.(r, c);
    results.push(r);
  }
  return results;
}
