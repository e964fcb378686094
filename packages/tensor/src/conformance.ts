/**
 * The kernel conformance set: a fixed list of small cases covering every kernel of @sparsenet/kernels-wgsl and
 * every variant of it (matmul's three variants in each layout and epilogue, both conv2d forward variants and
 * both backwards, max and average pooling, ReLU, the fused add + ReLU, BatchNorm's five kernels, dropout,
 * softmax cross-entropy, Adam, SGD, channel sums, fill, binary, transpose, count-correct), each with seeded inputs. Running it returns every case's outputs as read back, so that two
 * runs (Node and a browser, two drivers) can be compared number for number, and a float64 reference can judge
 * each case (packages/tensor/test/reference/conformance.ts). Shapes are deliberately not multiples of the
 * workgroup or tile sizes. Variants are run by name, so the tuner plays no part.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { Random } from './random.js';
import { runtime } from './runtime.js';
import { empty, tensor, type Tensor } from './tensor.js';

export type ConformanceArray = Float32Array | Int32Array;

/** A matmul with every option of the kernel's specialisation (alignment follows from m, n, k). */
export interface MatmulCase extends Omit<k.MatmulSpec, 'k4' | 'm4' | 'n4'> {
  kernel: 'matmul';
  variant: k.MatmulVariant;
  m: number;
  n: number;
  k: number;
}

export interface Conv2dForwardCase {
  kernel: 'conv2d_forward';
  variant: k.Conv2dForwardVariant;
  shape: k.Conv2dShape;
  bias: boolean;
  relu: boolean;
}

export interface Conv2dBackwardCase {
  kernel: 'conv2d_backward_input' | 'conv2d_backward_weight';
  shape: k.Conv2dShape;
  /** Weight gradient only: multiply by a 0/1 mask. */
  mask: boolean;
}

export interface MaxPoolCase {
  kernel: 'maxpool2d_forward' | 'maxpool2d_backward';
  geometry: k.Pool2dGeometry;
  /** Forward only: also write the argmax. */
  argmax: boolean;
}

export interface AvgPoolCase {
  kernel: 'avgpool2d_forward' | 'avgpool2d_backward';
  geometry: k.Pool2dGeometry;
}

export interface ElementwiseCase {
  kernel: 'relu' | 'relu_backward' | 'add_relu';
  n: number;
}

export interface BatchNormCase {
  kernel: 'batchnorm_statistics' | 'batchnorm_eval_statistics' | 'batchnorm_normalize' | 'batchnorm_backward_reduce' | 'batchnorm_backward_input' | 'batchnorm_backward_input_eval';
  shape: k.ChannelShape;
}

export interface DropoutCase {
  kernel: 'dropout';
  n: number;
  p: number;
  seed: number;
  step: number;
}

export interface ScaleCase {
  kernel: 'scale';
  n: number;
  alpha: number;
}

export interface TransposeCase {
  kernel: 'transpose';
  rows: number;
  cols: number;
}

export interface FillCase {
  kernel: 'fill';
  n: number;
  value: number;
  dtype: 'f32' | 'i32';
}

export interface BinaryCase {
  kernel: 'binary';
  op: k.BinaryOp;
  n: number;
  bn: number;
  alpha: number;
  beta: number;
  inPlace: boolean;
}

export interface ClassifierCase {
  kernel: 'softmax_cross_entropy' | 'count_correct';
  rows: number;
  classes: number;
  /** Cross-entropy only: also write the logits gradient. */
  grad: boolean;
}

export interface SumAxesCase {
  kernel: 'sum_axes';
  outer: number;
  channels: number;
  inner: number;
  accumulate: boolean;
}

export interface OptimizerCase {
  kernel: 'adam' | 'sgd';
  n: number;
  /** Adam only: the step count its bias corrections use. */
  step: number;
  lr: number;
  weightDecay: number;
  /** SGD only. */
  momentum: number;
  mask: boolean;
}

export type ConformanceSpec =
  | MatmulCase | Conv2dForwardCase | Conv2dBackwardCase | MaxPoolCase | AvgPoolCase | ElementwiseCase | ScaleCase | TransposeCase | FillCase | BinaryCase
  | ClassifierCase | SumAxesCase | OptimizerCase | BatchNormCase | DropoutCase;

export interface ConformanceCase {
  /** Unique and stable, e.g. 'matmul register tn maskOut 29x33x43'. */
  name: string;
  spec: ConformanceSpec;
  /** The seeded inputs, by name (also the initial contents of outputs updated in place). */
  inputs: Record<string, ConformanceArray>;
}

export interface ConformanceResult {
  name: string;
  kernel: ConformanceSpec['kernel'];
  /** 'unsupported': the device cannot run this variant (matmul 'subgroup' without fixed-size subgroups). */
  status: 'ok' | 'unsupported';
  outputs: Record<string, ConformanceArray>;
  ms: number;
}

/** Adam's betas and eps in every case (the kernel takes them as scalars; only lr and weight decay vary). */
export const CONFORMANCE_ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** BatchNorm's momentum and eps in every case (PyTorch's defaults). */
export const CONFORMANCE_BATCHNORM = { momentum: 0.1, eps: 1e-5 } as const;

const conv = (n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, stride = 1, pad = 0): k.Conv2dShape => ({
  n, c, h, w, o, kh, kw, strideH: stride, strideW: stride, padH: pad, padW: pad,
});

const CONV_SHAPES = {
  odd: conv(2, 3, 13, 11, 5, 3, 4),
  strided: conv(1, 4, 9, 10, 7, 3, 3, 2, 1),
  conv1: conv(3, 3, 20, 20, 6, 5, 5),
  conv2: conv(2, 6, 12, 12, 16, 5, 5),
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

type MatmulShape = Omit<MatmulCase, 'kernel' | 'variant'>;

function matmulShape(m: number, k: number, n: number, layout: string, flags: string[] = []): MatmulShape {
  const has = (f: string) => flags.includes(f);
  return {
    m, n, k, transA: layout[0] === 't', transB: layout[1] === 't',
    bias: has('bias'), relu: has('relu'), maskB: has('maskB'), maskOut: has('maskOut'), accumulate: has('accumulate'),
  };
}

/** Layouts on an unaligned shape, then the layers' epilogues (linear forward, input and weight gradients), aligned shapes and batch 1. */
const MATMUL_SHAPES: MatmulShape[] = [
  ...['nn', 'nt', 'tn', 'tt'].map((layout) => matmulShape(33, 17, 29, layout)),
  matmulShape(33, 120, 84, 'nt', ['bias', 'relu']),
  matmulShape(33, 43, 29, 'nt', ['maskB', 'bias', 'relu']),
  matmulShape(33, 29, 43, 'nn', ['maskB']),
  matmulShape(29, 33, 43, 'tn', ['maskOut']),
  matmulShape(33, 17, 29, 'nn', ['accumulate']),
  matmulShape(64, 132, 20, 'nn'),
  matmulShape(64, 132, 20, 'nt', ['bias', 'relu']),
  matmulShape(20, 64, 132, 'tn', ['maskOut']),
  matmulShape(1, 17, 29, 'nt', ['bias']),
];

function specs(): { name: string; spec: ConformanceSpec }[] {
  const out: { name: string; spec: ConformanceSpec }[] = [];
  const add = (name: string, spec: ConformanceSpec) => out.push({ name, spec });
  const shapeName = (s: k.Conv2dShape) => `${s.n}x${s.c}x${s.h}x${s.w} * ${s.o}x${s.kh}x${s.kw} s${s.strideH} p${s.padH}`;
  for (const variant of k.MATMUL_VARIANTS) {
    for (const s of MATMUL_SHAPES) {
      const flags = (['bias', 'relu', 'maskB', 'maskOut', 'accumulate'] as const).filter((f) => s[f]);
      add(`matmul ${variant} ${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}${flags.map((f) => ` ${f}`).join('')} ${s.m}x${s.k}x${s.n}`, { kernel: 'matmul', variant, ...s });
    }
  }
  for (const variant of k.CONV2D_FORWARD_VARIANTS) {
    add(`conv2d_forward ${variant} bias relu ${shapeName(CONV_SHAPES.odd)}`, { kernel: 'conv2d_forward', variant, shape: CONV_SHAPES.odd, bias: true, relu: true });
    add(`conv2d_forward ${variant} bias ${shapeName(CONV_SHAPES.strided)}`, { kernel: 'conv2d_forward', variant, shape: CONV_SHAPES.strided, bias: true, relu: false });
    add(`conv2d_forward ${variant} bias relu ${shapeName(CONV_SHAPES.conv1)}`, { kernel: 'conv2d_forward', variant, shape: CONV_SHAPES.conv1, bias: true, relu: true });
    add(`conv2d_forward ${variant} ${shapeName(CONV_SHAPES.conv2)}`, { kernel: 'conv2d_forward', variant, shape: CONV_SHAPES.conv2, bias: false, relu: false });
  }
  for (const s of [CONV_SHAPES.odd, CONV_SHAPES.strided, CONV_SHAPES.conv2]) {
    add(`conv2d_backward_input ${shapeName(s)}`, { kernel: 'conv2d_backward_input', shape: s, mask: false });
  }
  add(`conv2d_backward_weight ${shapeName(CONV_SHAPES.odd)}`, { kernel: 'conv2d_backward_weight', shape: CONV_SHAPES.odd, mask: false });
  add(`conv2d_backward_weight mask ${shapeName(CONV_SHAPES.strided)}`, { kernel: 'conv2d_backward_weight', shape: CONV_SHAPES.strided, mask: true });
  add(`conv2d_backward_weight mask ${shapeName(CONV_SHAPES.conv1)}`, { kernel: 'conv2d_backward_weight', shape: CONV_SHAPES.conv1, mask: true });
  for (const [name, geometry] of Object.entries(POOLS)) {
    const g = `${geometry.planes}x${geometry.height}x${geometry.width} k${geometry.kernelH} s${geometry.strideH}`;
    add(`maxpool2d_forward argmax ${name} ${g}`, { kernel: 'maxpool2d_forward', geometry, argmax: true });
    add(`maxpool2d_backward ${name} ${g}`, { kernel: 'maxpool2d_backward', geometry, argmax: true });
  }
  add('maxpool2d_forward disjoint no argmax', { kernel: 'maxpool2d_forward', geometry: POOLS.disjoint, argmax: false });
  for (const [name, geometry] of Object.entries({ ...POOLS, global: GLOBAL_POOL })) {
    const g = `${geometry.planes}x${geometry.height}x${geometry.width} k${geometry.kernelH}x${geometry.kernelW} s${geometry.strideH}`;
    add(`avgpool2d_forward ${name} ${g}`, { kernel: 'avgpool2d_forward', geometry });
    add(`avgpool2d_backward ${name} ${g}`, { kernel: 'avgpool2d_backward', geometry });
  }
  for (const [name, shape] of Object.entries(BATCHNORM_SHAPES)) {
    const kernels = ['batchnorm_statistics', 'batchnorm_eval_statistics', 'batchnorm_normalize', 'batchnorm_backward_reduce', 'batchnorm_backward_input', 'batchnorm_backward_input_eval'] as const;
    for (const kernel of kernels) add(`${kernel} ${name} ${shape.images}x${shape.channels}x${shape.plane}`, { kernel, shape });
  }
  add('relu 1000', { kernel: 'relu', n: 1000 });
  add('relu_backward 1000', { kernel: 'relu_backward', n: 1000 });
  add('add_relu 1000', { kernel: 'add_relu', n: 1000 });
  add('dropout p0.3 1000', { kernel: 'dropout', n: 1000, p: 0.3, seed: 17, step: 4 });
  add('transpose 13x37', { kernel: 'transpose', rows: 13, cols: 37 });
  add('scale 777', { kernel: 'scale', n: 777, alpha: -0.75 });
  add('fill f32 1001', { kernel: 'fill', n: 1001, value: -2.5, dtype: 'f32' });
  add('fill i32 1001', { kernel: 'fill', n: 1001, value: -7, dtype: 'i32' });
  add('binary add 1000', { kernel: 'binary', op: 'add', n: 1000, bn: 1000, alpha: 0.5, beta: -2, inPlace: false });
  add('binary mul 1000', { kernel: 'binary', op: 'mul', n: 1000, bn: 1000, alpha: 1.5, beta: 1, inPlace: false });
  add('binary add broadcast 999 by 37', { kernel: 'binary', op: 'add', n: 999, bn: 37, alpha: 1, beta: 1, inPlace: false });
  add('binary add in place 1000', { kernel: 'binary', op: 'add', n: 1000, bn: 1000, alpha: 1, beta: 0.25, inPlace: true });
  add('softmax_cross_entropy grad 33x7', { kernel: 'softmax_cross_entropy', rows: 33, classes: 7, grad: true });
  add('softmax_cross_entropy 300x7', { kernel: 'softmax_cross_entropy', rows: 300, classes: 7, grad: false });
  add('count_correct 300x7', { kernel: 'count_correct', rows: 300, classes: 7, grad: false });
  add('sum_axes 3x5x37', { kernel: 'sum_axes', outer: 3, channels: 5, inner: 37, accumulate: false });
  add('sum_axes accumulate 33x84x1', { kernel: 'sum_axes', outer: 33, channels: 84, inner: 1, accumulate: true });
  add('adam 1000', { kernel: 'adam', n: 1000, step: 3, lr: 1e-2, weightDecay: 0.01, momentum: 0, mask: false });
  add('adam mask 1000', { kernel: 'adam', n: 1000, step: 1, lr: 1e-3, weightDecay: 0, momentum: 0, mask: true });
  add('sgd 1000', { kernel: 'sgd', n: 1000, step: 1, lr: 0.1, weightDecay: 0.01, momentum: 0, mask: false });
  add('sgd momentum 1000', { kernel: 'sgd', n: 1000, step: 1, lr: 0.1, weightDecay: 0, momentum: 0.9, mask: false });
  add('sgd momentum mask 1000', { kernel: 'sgd', n: 1000, step: 1, lr: 0.05, weightDecay: 0.01, momentum: 0.9, mask: true });
  return out;
}

/** FNV-1a of the case name: a case's inputs do not change when cases are added or reordered. */
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

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
  /** 0/1 values, about two thirds ones. */
  mask(name: string, n: number): void {
    this.values[name] = Float32Array.from({ length: n }, () => (this.random.next() < 2 / 3 ? 1 : 0));
  }
  ints(name: string, n: number, below: number): void {
    this.values[name] = Int32Array.from({ length: n }, () => this.random.int(below));
  }
}

function makeInputs(name: string, spec: ConformanceSpec): Record<string, ConformanceArray> {
  const i = new Inputs(seedOf(name));
  switch (spec.kernel) {
    case 'matmul':
      i.uniform('a', spec.m * spec.k);
      i.uniform('b', spec.k * spec.n);
      if (spec.maskB) i.mask('maskB', spec.k * spec.n);
      if (spec.bias) i.uniform('bias', spec.n);
      if (spec.maskOut) i.mask('maskOut', spec.m * spec.n);
      if (spec.accumulate) i.uniform('c', spec.m * spec.n);
      break;
    case 'conv2d_forward': {
      const s = spec.shape;
      i.uniform('x', s.n * s.c * s.h * s.w);
      i.uniform('weight', s.o * s.c * s.kh * s.kw);
      if (spec.bias) i.uniform('bias', s.o);
      break;
    }
    case 'conv2d_backward_input':
    case 'conv2d_backward_weight': {
      const s = spec.shape;
      const { oh, ow } = k.conv2dOutputSize(s);
      i.uniform('dy', s.n * s.o * oh * ow);
      if (spec.kernel === 'conv2d_backward_input') i.uniform('weight', s.o * s.c * s.kh * s.kw);
      else i.uniform('x', s.n * s.c * s.h * s.w);
      if (spec.mask) i.mask('mask', s.o * s.c * s.kh * s.kw);
      break;
    }
    case 'maxpool2d_forward': {
      const g = spec.geometry;
      i.uniform('x', g.planes * g.height * g.width);
      break;
    }
    case 'maxpool2d_backward': {
      const g = spec.geometry;
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
      break;
    }
    case 'avgpool2d_forward': {
      const g = spec.geometry;
      i.uniform('x', g.planes * g.height * g.width);
      break;
    }
    case 'avgpool2d_backward': {
      const g = spec.geometry;
      i.uniform('dy', g.planes * g.outHeight * g.outWidth);
      break;
    }
    case 'batchnorm_statistics':
    case 'batchnorm_eval_statistics':
    case 'batchnorm_normalize':
    case 'batchnorm_backward_reduce':
    case 'batchnorm_backward_input':
    case 'batchnorm_backward_input_eval': {
      const { images, channels, plane } = spec.shape;
      const size = images * channels * plane;
      const kernel = spec.kernel;
      const needs = (...kernels: string[]) => kernels.includes(kernel);
      // x off-centre, so that the statistics kernel's shifted sums matter.
      if (!needs('batchnorm_eval_statistics', 'batchnorm_backward_input_eval')) i.uniform('x', size, 1, 3);
      if (needs('batchnorm_backward_reduce', 'batchnorm_backward_input', 'batchnorm_backward_input_eval')) i.uniform('dy', size);
      if (needs('batchnorm_statistics', 'batchnorm_eval_statistics')) {
        i.uniform('runningMean', channels);
        i.uniform('runningVar', channels, 0.5, 2);
      } else {
        // Interleaved (mean, invstd) per channel, as the statistics kernels write them.
        i.uniform('stats', 2 * channels, 0.5, 2);
      }
      if (kernel === 'batchnorm_statistics') i.values.batches = Int32Array.of(41);
      if (needs('batchnorm_normalize', 'batchnorm_backward_input', 'batchnorm_backward_input_eval')) i.uniform('weight', channels, 0.5, 1.5);
      if (kernel === 'batchnorm_normalize') i.uniform('bias', channels);
      if (kernel === 'batchnorm_backward_input') {
        i.uniform('gradWeight', channels);
        i.uniform('gradBias', channels);
      }
      break;
    }
    case 'relu':
    case 'scale':
      i.uniform('x', spec.n);
      break;
    case 'add_relu':
      i.uniform('a', spec.n);
      i.uniform('b', spec.n);
      break;
    case 'dropout':
      i.uniform('x', spec.n);
      break;
    case 'transpose':
      i.uniform('x', spec.rows * spec.cols);
      break;
    case 'relu_backward':
      i.uniform('y', spec.n);
      i.values.y = (i.values.y as Float32Array).map((v) => Math.max(v, 0));
      i.uniform('dy', spec.n);
      break;
    case 'fill':
      break;
    case 'binary':
      i.uniform('a', spec.n);
      i.uniform('b', spec.bn);
      break;
    case 'softmax_cross_entropy':
    case 'count_correct':
      i.uniform('logits', spec.rows * spec.classes, -4, 4);
      i.ints('labels', spec.rows, spec.classes);
      if (spec.kernel === 'count_correct') i.values.counter = Float32Array.of(5);
      break;
    case 'sum_axes':
      i.uniform('x', spec.outer * spec.channels * spec.inner);
      if (spec.accumulate) i.uniform('out', spec.channels);
      break;
    case 'adam':
    case 'sgd':
      i.uniform('param', spec.n);
      i.uniform('grad', spec.n);
      if (spec.kernel === 'adam') {
        i.uniform('m', spec.n, -0.1, 0.1);
        i.uniform('v', spec.n, 0, 0.01);
      } else if (spec.momentum !== 0) {
        i.uniform('momentumBuffer', spec.n);
      }
      if (spec.mask) i.mask('mask', spec.n);
      break;
  }
  return i.values;
}

/** The fixed list of cases with their seeded inputs. */
export function conformanceCases(): ConformanceCase[] {
  return specs().map(({ name, spec }) => ({ name, spec, inputs: makeInputs(name, spec) }));
}

/** Whether this device can run the case's variant. */
export function conformanceSupported(spec: ConformanceSpec): boolean {
  return spec.kernel !== 'matmul' || k.matmulVariants(runtime().device).includes(spec.variant);
}

/** Runs one case on the runtime's device (call `getDevice()` first) and reads its outputs back. */
export async function runConformanceCase(c: ConformanceCase): Promise<ConformanceResult> {
  const started = performance.now();
  const result = (outputs: Record<string, ConformanceArray>, status: ConformanceResult['status'] = 'ok'): ConformanceResult => ({
    name: c.name, kernel: c.spec.kernel, status, outputs, ms: performance.now() - started,
  });
  if (!conformanceSupported(c.spec)) return result({}, 'unsupported');
  const { runner } = runtime();
  const made: Tensor[] = [];
  const uploadData = (data: ConformanceArray): Tensor => {
    const t = tensor(data);
    made.push(t);
    return t;
  };
  /** A named input on the device (outputs updated in place are read back from these tensors). */
  const upload = (name: string): Tensor => uploadData(c.inputs[name]);
  const input = (name: string): GPUBuffer => upload(name).buffer;
  const optional = (name: string): GPUBuffer | undefined => (c.inputs[name] ? input(name) : undefined);
  const output = (size: number, dtype: 'f32' | 'i32' = 'f32'): Tensor => {
    const t = empty([size], dtype, `conformance ${c.name}`);
    made.push(t);
    return t;
  };
  const read: Record<string, Tensor> = {};
  try {
    const s = c.spec;
    switch (s.kernel) {
      case 'matmul': {
        const out = s.accumulate ? upload('c') : output(s.m * s.n);
        const options: k.MatmulOptions = {
          transA: s.transA, transB: s.transB, relu: s.relu, accumulate: s.accumulate,
          bias: optional('bias'), maskB: optional('maskB'), maskOut: optional('maskOut'),
        };
        k.runMatmulVariant(s.variant, runner, input('a'), input('b'), out.buffer, s.m, s.n, s.k, options);
        read.c = out;
        break;
      }
      case 'conv2d_forward': {
        const { oh, ow } = k.conv2dOutputSize(s.shape);
        const out = output(s.shape.n * s.shape.o * oh * ow);
        k.conv2dForwardVariant(runner, s.variant, input('x'), input('weight'), out.buffer, s.shape, { bias: optional('bias'), relu: s.relu });
        read.out = out;
        break;
      }
      case 'conv2d_backward_input': {
        const dx = output(s.shape.n * s.shape.c * s.shape.h * s.shape.w);
        k.conv2dBackwardInput(runner, input('dy'), input('weight'), dx.buffer, s.shape);
        read.dx = dx;
        break;
      }
      case 'conv2d_backward_weight': {
        const dw = output(s.shape.o * s.shape.c * s.shape.kh * s.shape.kw);
        const partials = output(k.conv2dBackwardWeightScratch(s.shape));
        k.conv2dBackwardWeight(runner, input('x'), input('dy'), dw.buffer, partials.buffer, s.shape, { mask: optional('mask') ?? null });
        read.dw = dw;
        break;
      }
      case 'maxpool2d_forward': {
        const g = s.geometry;
        const y = output(g.planes * g.outHeight * g.outWidth);
        const argmax = s.argmax ? output(y.size, 'i32') : null;
        k.maxPool2dForward(runner, input('x'), y.buffer, argmax?.buffer ?? null, g);
        read.y = y;
        if (argmax) read.argmax = argmax;
        break;
      }
      case 'maxpool2d_backward': {
        const g = s.geometry;
        const dx = output(g.planes * g.height * g.width);
        k.maxPool2dBackward(runner, input('dy'), input('argmax'), dx.buffer, g);
        read.dx = dx;
        break;
      }
      case 'avgpool2d_forward': {
        const g = s.geometry;
        read.y = output(g.planes * g.outHeight * g.outWidth);
        k.avgPool2dForward(runner, input('x'), read.y.buffer, g);
        break;
      }
      case 'avgpool2d_backward': {
        const g = s.geometry;
        read.dx = output(g.planes * g.height * g.width);
        k.avgPool2dBackward(runner, input('dy'), read.dx.buffer, g);
        break;
      }
      case 'batchnorm_statistics': {
        read.stats = output(2 * s.shape.channels);
        const state = (name: string) => (read[name] = upload(name)).buffer;
        k.batchNormStatistics(runner, input('x'), read.stats.buffer, state('runningMean'), state('runningVar'), state('batches'), s.shape, CONFORMANCE_BATCHNORM);
        break;
      }
      case 'batchnorm_eval_statistics':
        read.stats = output(2 * s.shape.channels);
        k.batchNormEvalStatistics(runner, input('runningMean'), input('runningVar'), read.stats.buffer, s.shape.channels, CONFORMANCE_BATCHNORM.eps);
        break;
      case 'batchnorm_normalize':
        read.y = output(c.inputs.x.length);
        k.batchNormNormalize(runner, input('x'), input('stats'), input('weight'), input('bias'), read.y.buffer, s.shape);
        break;
      case 'batchnorm_backward_reduce':
        read.gradWeight = output(s.shape.channels);
        read.gradBias = output(s.shape.channels);
        k.batchNormBackwardReduce(runner, input('x'), input('dy'), input('stats'), read.gradWeight.buffer, read.gradBias.buffer, s.shape);
        break;
      case 'batchnorm_backward_input':
        read.dx = output(c.inputs.dy.length);
        k.batchNormBackwardInput(runner, input('x'), input('dy'), input('stats'), input('weight'), input('gradWeight'), input('gradBias'), read.dx.buffer, s.shape);
        break;
      case 'batchnorm_backward_input_eval':
        read.dx = output(c.inputs.dy.length);
        k.batchNormBackwardInputEval(runner, input('dy'), input('stats'), input('weight'), read.dx.buffer, s.shape);
        break;
      case 'add_relu':
        read.out = output(s.n);
        k.addRelu(runner, input('a'), input('b'), read.out.buffer, s.n);
        break;
      case 'dropout':
        read.out = output(s.n);
        k.dropout(runner, input('x'), read.out.buffer, s.n, s.p, { seed: s.seed, step: s.step });
        break;
      case 'relu':
        read.out = output(s.n);
        k.relu(runner, input('x'), read.out.buffer, s.n);
        break;
      case 'relu_backward':
        read.dx = output(s.n);
        k.reluBackward(runner, input('y'), input('dy'), read.dx.buffer, s.n);
        break;
      case 'transpose':
        read.out = output(s.rows * s.cols);
        k.transpose(runner, input('x'), read.out.buffer, s.rows, s.cols);
        break;
      case 'scale':
        read.out = output(s.n);
        k.scale(runner, input('x'), read.out.buffer, s.n, s.alpha);
        break;
      case 'fill':
        read.out = output(s.n, s.dtype);
        k.fill(runner, read.out.buffer, s.n, s.value, s.dtype);
        break;
      case 'binary': {
        const a = upload('a');
        const out = s.inPlace ? a : output(s.n);
        k.binary(runner, s.op, a.buffer, input('b'), out.buffer, s.n, { alpha: s.alpha, beta: s.beta, bn: s.bn });
        read.out = out;
        break;
      }
      case 'softmax_cross_entropy': {
        const loss = output(1);
        const grad = s.grad ? output(s.rows * s.classes) : null;
        k.softmaxCrossEntropy(runner, input('logits'), input('labels'), loss.buffer, grad?.buffer ?? null, s.rows, s.classes);
        read.loss = loss;
        if (grad) read.grad = grad;
        break;
      }
      case 'count_correct': {
        read.counter = upload('counter');
        k.countCorrect(runner, input('logits'), input('labels'), read.counter.buffer, s.rows, s.classes);
        break;
      }
      case 'sum_axes': {
        const out = s.accumulate ? upload('out') : output(s.channels);
        k.sumAxes(runner, input('x'), out.buffer, s.outer, s.channels, s.inner, s.accumulate);
        read.out = out;
        break;
      }
      case 'adam':
      case 'sgd': {
        const state = (name: string) => (read[name] = upload(name)).buffer;
        const param = state('param');
        const grad = input('grad');
        const mask = optional('mask') ?? null;
        if (s.kernel === 'adam') {
          const scalars = uploadData(Float32Array.from(k.adamScalars({ lr: s.lr, weightDecay: s.weightDecay, ...CONFORMANCE_ADAM }, s.step))).buffer;
          k.adam(runner, scalars, 0, param, grad, state('m'), state('v'), mask, s.n);
        } else {
          const scalars = uploadData(Float32Array.from(k.sgdScalars({ lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay }))).buffer;
          k.sgd(runner, scalars, 0, param, grad, s.momentum !== 0 ? state('momentumBuffer') : null, mask, s.n);
        }
        break;
      }
    }
    const outputs: Record<string, ConformanceArray> = {};
    for (const [name, t] of Object.entries(read)) outputs[name] = (await t.toArray()) as ConformanceArray;
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
