/**
 * Float64 expectations for the kernel conformance set (@sparsenet/tensor/conformance), from the per-kernel
 * references, and the judgement of a result against them with the kernel tolerance. Imported by the browser
 * page (web/) and its Node side, so both judge with the same code. One expectation per kernel: the map's type
 * makes a kernel added to the set without one a type error.
 */
import type { ChannelShape, Pool2dGeometry } from '@sparsenet/kernels-wgsl';
import { CONFORMANCE_ADAM, CONFORMANCE_BATCHNORM, type ConformanceArray, type ConformanceCase, type ConformanceKernel, type ConformanceResult, type ConformanceSpecs } from '@sparsenet/tensor/conformance';
import { addReluRef } from './add-relu.js';
import { avgPool2dBackwardRef, avgPool2dRef } from './avgpool.js';
import { backwardInputRef, backwardSumsRef, batchNorm2dRef, normalisingStatistics, normalizeRef, type BatchNormShape } from './batchnorm.js';
import { conv2dBackwardRef, conv2dRef } from './conv.js';
import { crossEntropyRef } from './cross-entropy.js';
import { dropoutRef } from './dropout.js';
import { linearRef, matmulRef } from './matmul.js';
import { adamStepRef, sgdStepRef } from './optim.js';
import { maxPool2dBackwardRef, maxPool2dRef, type PoolShape } from './pool.js';
import { sumAxesRef } from './sum-axes.js';

export type Expected = Record<string, ArrayLike<number>>;
type Inputs = Record<string, ConformanceArray>;

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const map = (a: ArrayLike<number>, f: (v: number, i: number) => number) => Float64Array.from(a, f);

const EXPECTED: { [K in ConformanceKernel]: (s: ConformanceSpecs[K], x: Inputs) => Expected } = {
  matmul: (s, x) => ({ c: matmulRef(x.a, x.b, s.m, s.n, s.k, { transA: s.transA, transB: s.transB, bias: x.bias, relu: s.relu, maskB: x.maskB, maskOut: x.maskOut, accumulateInto: x.c }) }),
  matmul_csr: (s, x) => ({ out: linearRef({ batch: s.batch, inFeatures: s.inFeatures, outFeatures: s.outFeatures, x: x.x, weight: x.weight, bias: x.bias, mask: x.mask, relu: s.relu }) }),
  conv2d_forward: (s, x) => ({ out: conv2dRef(s.shape, { x: x.x, weight: x.weight, bias: x.bias, relu: s.relu }) }),
  conv2d_csr: (s, x) => ({ out: conv2dRef(s.shape, { x: x.x, weight: x.weight, mask: x.mask, bias: x.bias, relu: s.relu }) }),
  matmul_nm: (s, x) => ({ out: linearRef({ batch: s.batch, inFeatures: s.inFeatures, outFeatures: s.outFeatures, x: x.x, weight: x.weight, bias: x.bias, mask: x.mask, relu: s.relu }) }),
  conv2d_nm: (s, x) => ({ out: conv2dRef(s.shape, { x: x.x, weight: x.weight, mask: x.mask, bias: x.bias, relu: s.relu }) }),
  conv2d_backward_input: (s, x) => {
    const size = s.shape.n * s.shape.c * s.shape.h * s.shape.w;
    return { dx: conv2dBackwardRef(s.shape, { x: new Float64Array(size), weight: x.weight }, x.dy).dx };
  },
  conv2d_backward_weight: (s, x) => {
    const weights = s.shape.o * s.shape.c * s.shape.kh * s.shape.kw;
    return { dw: conv2dBackwardRef(s.shape, { x: x.x, weight: new Float64Array(weights), mask: x.mask }, x.dy).dw };
  },
  maxpool2d_forward: (s, x) => {
    const { y, argmax } = maxPool2dRef(x.x, poolShape(s.geometry));
    const expected: Expected = { y };
    if (s.argmax) expected.argmax = argmax;
    return expected;
  },
  maxpool2d_backward: (s, x) => ({ dx: maxPool2dBackwardRef(x.dy, x.argmax as Int32Array, poolShape(s.geometry)) }),
  avgpool2d_forward: (s, x) => ({ y: avgPool2dRef(x.x, poolShape(s.geometry)) }),
  avgpool2d_backward: (s, x) => ({ dx: avgPool2dBackwardRef(x.dy, poolShape(s.geometry)) }),
  batchnorm_statistics: (s, x) => {
    const shape = batchNormShape(s.shape);
    const operands = { x: x.x, weight: new Float64Array(shape.c), bias: new Float64Array(shape.c), runningMean: x.runningMean, runningVar: x.runningVar };
    const config = { training: true, ...CONFORMANCE_BATCHNORM };
    const { mean, invstd } = normalisingStatistics(operands, shape, config);
    const { runningMean, runningVar } = batchNorm2dRef(operands, shape, config);
    return { stats: interleave(mean, invstd), runningMean, runningVar, batches: [x.batches[0] + 1] };
  },
  batchnorm_eval_statistics: (_, x) => ({ stats: interleave(x.runningMean, map(x.runningVar, (v) => 1 / Math.sqrt(v + CONFORMANCE_BATCHNORM.eps))) }),
  batchnorm_normalize: (s, x) => {
    const { mean, invstd } = deinterleave(x.stats);
    return { y: normalizeRef({ x: x.x, weight: x.weight, bias: x.bias }, batchNormShape(s.shape), mean, invstd) };
  },
  batchnorm_backward_reduce: (s, x) => {
    const { mean, invstd } = deinterleave(x.stats);
    const { dweight, dbias } = backwardSumsRef(x.x, x.dy, batchNormShape(s.shape), mean, invstd);
    return { gradWeight: dweight, gradBias: dbias };
  },
  batchnorm_backward_input: (s, x) => {
    const terms = { ...deinterleave(x.stats), weight: x.weight, dweight: x.gradWeight, dbias: x.gradBias };
    return { dx: backwardInputRef(x.x, x.dy, batchNormShape(s.shape), terms, true) };
  },
  // Evaluation reads neither x nor the sums: zeros stand in for them.
  batchnorm_backward_input_eval: (s, x) => {
    const terms = { ...deinterleave(x.stats), weight: x.weight, dweight: [], dbias: [] };
    return { dx: backwardInputRef(new Float64Array(x.dy.length), x.dy, batchNormShape(s.shape), terms, false) };
  },
  add_relu: (_, x) => ({ out: addReluRef(x.a, x.b) }),
  dropout: (s, x) => ({ out: dropoutRef(x.x, s.p, s.seed, s.step) }),
  relu: (_, x) => ({ out: map(x.x, (v) => Math.max(v, 0)) }),
  relu_backward: (_, x) => ({ dx: map(x.dy, (v, i) => (x.y[i] > 0 ? v : 0)) }),
  transpose: (s, x) => ({ out: Float64Array.from({ length: s.rows * s.cols }, (_, i) => x.x[(i % s.rows) * s.cols + Math.floor(i / s.rows)]) }),
  scale: (s, x) => ({ out: map(x.x, (v) => s.alpha * v) }),
  fill: (s) => ({ out: new Float64Array(s.n).fill(s.value) }),
  binary: (s, x) => ({ out: map(x.a, (a, i) => (s.op === 'add' ? s.alpha * a + s.beta * x.b[i % s.bn] : s.alpha * a * s.beta * x.b[i % s.bn])) }),
  softmax_cross_entropy: (s, x) => {
    const { loss, grad } = crossEntropyRef(x.logits, x.labels, s.rows, s.classes);
    const expected: Expected = { loss: [loss] };
    if (s.grad) expected.grad = grad;
    return expected;
  },
  count_correct: (s, x) => {
    let hits = 0;
    for (let r = 0; r < s.rows; r++) {
      let best = 0;
      for (let j = 1; j < s.classes; j++) if (x.logits[r * s.classes + j] > x.logits[r * s.classes + best]) best = j;
      if (best === x.labels[r]) hits++;
    }
    return { counter: [x.counter[0] + hits] };
  },
  sum_axes: (s, x) => {
    const sums = sumAxesRef(x.x, s.outer, s.channels, s.inner);
    return { out: s.accumulate ? map(sums, (v, i) => v + x.out[i]) : sums };
  },
  adam: (s, x) => {
    const [p, m, v] = [f64(x.param), f64(x.m), f64(x.v)];
    adamStepRef(p, x.grad, m, v, s.step, { lr: s.lr, betas: [CONFORMANCE_ADAM.beta1, CONFORMANCE_ADAM.beta2], eps: CONFORMANCE_ADAM.eps, weightDecay: s.weightDecay }, x.mask);
    return { param: p, m, v };
  },
  sgd: (s, x) => {
    const p = f64(x.param);
    const buffer = sgdStepRef(p, x.grad, x.momentumBuffer ? f64(x.momentumBuffer) : null, { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay }, x.mask);
    const expected: Expected = { param: p };
    if (buffer) expected.momentumBuffer = buffer;
    return expected;
  },
};

/** What each of the case's outputs should hold. */
export function conformanceExpected(c: ConformanceCase): Expected {
  return (EXPECTED[c.spec.kernel] as (s: typeof c.spec, x: Inputs) => Expected)(c.spec, c.inputs);
}

function batchNormShape(shape: ChannelShape): BatchNormShape {
  return { n: shape.images, c: shape.channels, h: 1, w: shape.plane };
}

/** [mean0, invstd0, mean1, ...] as the BatchNorm kernels store their statistics. */
function interleave(mean: ArrayLike<number>, invstd: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: 2 * mean.length }, (_, i) => (i % 2 ? invstd[i >> 1] : mean[i >> 1]));
}

function deinterleave(stats: ArrayLike<number>): { mean: Float64Array; invstd: Float64Array } {
  const channels = stats.length / 2;
  return { mean: Float64Array.from({ length: channels }, (_, c) => stats[2 * c]), invstd: Float64Array.from({ length: channels }, (_, c) => stats[2 * c + 1]) };
}

function poolShape(g: Pool2dGeometry): PoolShape {
  return { n: g.planes, c: 1, h: g.height, w: g.width, kh: g.kernelH, kw: g.kernelW, sh: g.strideH, sw: g.strideW };
}

export interface ConformanceVerdict {
  name: string;
  passed: boolean;
  /** Per output: max |got - expected|, and the bound 1e-4 * max |expected| + 1e-6 it must not exceed. */
  outputs: { name: string; error: number; bound: number }[];
  /** Why it failed, for people. */
  detail: string;
}

/** The kernel bar (as the tests' expectClose): max |got - expected| <= 1e-4 * max |expected| + 1e-6, per output. */
export function judgeConformance(c: ConformanceCase, result: ConformanceResult): ConformanceVerdict {
  if (result.status === 'unsupported') return { name: c.name, passed: true, outputs: [], detail: 'not supported on this device' };
  const expected = conformanceExpected(c);
  const outputs: ConformanceVerdict['outputs'] = [];
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const got: ConformanceArray | undefined = result.outputs[name];
    if (!got || got.length !== want.length) {
      problems.push(`${name}: ${got ? got.length : 'no'} values, expected ${want.length}`);
      continue;
    }
    let maxRef = 0;
    let error = 0;
    for (let i = 0; i < want.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(want[i]));
      const e = Math.abs(got[i] - want[i]);
      if (!(e <= error)) error = e;
    }
    const bound = 1e-4 * maxRef + 1e-6;
    outputs.push({ name, error, bound });
    if (!(error <= bound)) problems.push(`${name}: max error ${error} > ${bound}`);
  }
  return { name: c.name, passed: problems.length === 0, outputs, detail: problems.join('; ') };
}
