import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { batchNorm2d, beginScope, empty, memory, nn, noGrad, optim, relu, runtime, scoped, tensor, type Tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, useDevice } from './helpers.js';
import { batchNorm2dBackwardRef, batchNorm2dRef, normalisingStatistics, type BatchNormConfig, type BatchNormOperands, type BatchNormShape } from './reference/batchnorm.js';

useDevice();

// Batch 1 and 33, odd channel counts, planes below, at and above the 256-thread workgroup, planes that do
// not divide it, 1x1 planes (the sweeps' steps then move by whole images), and images split unevenly among workgroups.
const SHAPES: BatchNormShape[] = [
  { n: 1, c: 3, h: 13, w: 17 },
  { n: 33, c: 5, h: 7, w: 9 },
  { n: 2, c: 7, h: 19, w: 23 },
  { n: 33, c: 3, h: 1, w: 1 },
  { n: 5, c: 1, h: 16, w: 16 },
  { n: 1, c: 2, h: 3, w: 300 },
  { n: 35, c: 17, h: 5, w: 3 },
];
const label = (s: BatchNormShape) => `[${s.n},${s.c},${s.h},${s.w}]`;
const TRAIN: BatchNormConfig = { training: true, momentum: 0.1, eps: 1e-5 };
const EVAL: BatchNormConfig = { training: false, momentum: 0.1, eps: 1e-5 };

/** Seeded operands: x with a per-channel offset and scale (so the statistics matter), positive running variances. */
function operands(s: BatchNormShape, seed: number, offset = 2): BatchNormOperands & { x: Float32Array; weight: Float32Array; bias: Float32Array; runningMean: Float32Array; runningVar: Float32Array } {
  const plane = s.h * s.w;
  const noise = randomArray(s.n * s.c * plane, seed);
  const channel = (i: number) => Math.floor(i / plane) % s.c;
  const x = noise.map((v, i) => offset * channel(i) + (1 + channel(i)) * v);
  return {
    x,
    weight: randomArray(s.c, seed + 1, 0.5, 1.5),
    bias: randomArray(s.c, seed + 2),
    runningMean: randomArray(s.c, seed + 3),
    runningVar: randomArray(s.c, seed + 4, 0.5, 2),
  };
}

type Operands = ReturnType<typeof operands>;

function tensors(o: Operands, s: BatchNormShape, requiresGrad = false) {
  return {
    x: tensor(o.x, [s.n, s.c, s.h, s.w], { requiresGrad }),
    weight: tensor(o.weight, [s.c], { requiresGrad }),
    bias: tensor(o.bias, [s.c], { requiresGrad }),
    runningMean: tensor(o.runningMean, [s.c]),
    runningVar: tensor(o.runningVar, [s.c]),
  };
}

describe('batchNorm2d reference', () => {
  it('backward matches central finite differences in training and in evaluation', () => {
    for (const [si, s] of [{ n: 2, c: 3, h: 3, w: 2 }, { n: 1, c: 2, h: 5, w: 3 }].entries()) {
      for (const cfg of [TRAIN, EVAL]) {
        const o = operands(s, 10 + si);
        const x = Float64Array.from(o.x);
        const weight = Float64Array.from(o.weight);
        const bias = Float64Array.from(o.bias);
        const dy = randomArray(x.length, 20 + si);
        const loss = () => batchNorm2dRef({ ...o, x, weight, bias }, s, cfg).y.reduce((sum, v, i) => sum + v * dy[i], 0);
        const ref = batchNorm2dBackwardRef({ ...o, x, weight, bias }, s, cfg, dy);
        const what = `${label(s)} ${cfg.training ? 'training' : 'eval'}`;
        expectClose(ref.dx, numericGrad(loss, x), `dx ${what}`, 1e-6, 1e-7);
        expectClose(ref.dweight, numericGrad(loss, weight), `dweight ${what}`, 1e-6, 1e-7);
        expectClose(ref.dbias, numericGrad(loss, bias), `dbias ${what}`, 1e-6, 1e-7);
      }
    }
  });
});

describe('batchNorm2d kernels', () => {
  it('statistics, normalisation and both backward passes match the reference on odd shapes', async () => {
    const { runner } = runtime();
    for (const [si, s] of SHAPES.entries()) {
      const o = operands(s, 100 + 10 * si);
      const t = tensors(o, s);
      const shape = { images: s.n, channels: s.c, plane: s.h * s.w };
      const ref = batchNorm2dRef(o, s, TRAIN);
      const stats = empty([s.c, 2]);
      const batches = tensor(new Int32Array([41]), []);
      k.batchNormStatistics(runner, t.x.buffer, stats.buffer, t.runningMean.buffer, t.runningVar.buffer, batches.buffer, shape, TRAIN);
      const { mean, invstd } = normalisingStatistics(o, s, TRAIN);
      expectClose(await stats.toArray(), Array.from(mean).flatMap((m, c) => [m, invstd[c]]), `stats ${label(s)}`);
      expectClose(await t.runningMean.toArray(), ref.runningMean, `running mean ${label(s)}`);
      expectClose(await t.runningVar.toArray(), ref.runningVar, `running var ${label(s)}`);
      expect(Array.from(await batches.toArray())).toEqual([42]);

      const y = empty(t.x.shape);
      k.batchNormNormalize(runner, t.x.buffer, stats.buffer, t.weight.buffer, t.bias.buffer, y.buffer, shape);
      expectClose(await y.toArray(), ref.y, `y ${label(s)}`);

      const dy = randomArray(o.x.length, 105 + 10 * si);
      const grads = batchNorm2dBackwardRef(o, s, TRAIN, dy);
      const dyt = tensor(dy, t.x.shape);
      const [dweight, dbias, dx] = [empty([s.c]), empty([s.c]), tensor(new Float32Array(o.x.length).fill(NaN), t.x.shape)];
      k.batchNormBackwardReduce(runner, t.x.buffer, dyt.buffer, stats.buffer, dweight.buffer, dbias.buffer, shape);
      expectClose(await dweight.toArray(), grads.dweight, `dweight ${label(s)}`);
      expectClose(await dbias.toArray(), grads.dbias, `dbias ${label(s)}`);
      k.batchNormBackwardInput(runner, t.x.buffer, dyt.buffer, stats.buffer, t.weight.buffer, dweight.buffer, dbias.buffer, dx.buffer, shape);
      expectClose(await dx.toArray(), grads.dx, `dx ${label(s)}`);

      const evalStats = empty([s.c, 2]);
      k.batchNormEvalStatistics(runner, t.runningMean.buffer, t.runningVar.buffer, evalStats.buffer, s.c, EVAL.eps);
      const running = normalisingStatistics({ ...o, runningMean: ref.runningMean, runningVar: ref.runningVar }, s, EVAL);
      expectClose(await evalStats.toArray(), Array.from(running.mean).flatMap((m, c) => [m, running.invstd[c]]), `eval stats ${label(s)}`);
      k.batchNormBackwardInputEval(runner, dyt.buffer, evalStats.buffer, t.weight.buffer, dx.buffer, shape);
      const evalGrads = batchNorm2dBackwardRef({ ...o, runningMean: ref.runningMean, runningVar: ref.runningVar }, s, EVAL, dy);
      expectClose(await dx.toArray(), evalGrads.dx, `eval dx ${label(s)}`);
    }
  });

  it('keeps the variance of a channel whose mean dwarfs its spread (shifted sums)', async () => {
    const s: BatchNormShape = { n: 9, c: 2, h: 31, w: 29 };
    const o = operands(s, 7);
    // Mean 1000, spread 0.01: unshifted f32 sums of squares (1e6 per element) would lose the variance (1e-4) entirely.
    o.x = o.x.map((v, i) => 1000 + 0.01 * randomArray(1, i)[0] + (Math.floor(i / (s.h * s.w)) % 2) * 3);
    const t = tensors(o, s);
    const stats = empty([s.c, 2]);
    k.batchNormStatistics(runtime().runner, t.x.buffer, stats.buffer, t.runningMean.buffer, t.runningVar.buffer, null, { images: s.n, channels: s.c, plane: s.h * s.w }, TRAIN);
    const { mean, invstd } = normalisingStatistics(o, s, TRAIN);
    const got = await stats.toArray();
    for (let c = 0; c < s.c; c++) {
      expect(Math.abs(got[2 * c] - mean[c]) / mean[c], `mean ${c}`).toBeLessThan(1e-6);
      expect(Math.abs(got[2 * c + 1] - invstd[c]) / invstd[c], `invstd ${c}`).toBeLessThan(2e-3);
    }
  });

  it('refuses more channels than one grid dimension holds, naming the kernel', () => {
    const x = empty([4]);
    expect(() => k.batchNormBackwardReduce(runtime().runner, x.buffer, x.buffer, x.buffer, x.buffer, x.buffer, { images: 1, channels: 70000, plane: 1 }))
      .toThrow('batchnorm_backward_reduce: 70000 channels exceed one grid dimension (65535)');
  });
});

describe('batchNorm2d op', () => {
  it('training: forward, running statistics, counter and GPU backward match the reference', async () => {
    for (const [si, s] of SHAPES.entries()) {
      const o = operands(s, 300 + 10 * si);
      const t = tensors(o, s, true);
      const counter = tensor(new Int32Array([0]), []);
      const y = batchNorm2d(t.x, t.weight, t.bias, t.runningMean, t.runningVar, { training: true, numBatchesTracked: counter });
      const ref = batchNorm2dRef(o, s, TRAIN);
      expectClose(await y.toArray(), ref.y, `y ${label(s)}`);
      expectClose(await t.runningMean.toArray(), ref.runningMean, `running mean ${label(s)}`);
      expectClose(await t.runningVar.toArray(), ref.runningVar, `running var ${label(s)}`);
      expect(Array.from(await counter.toArray())).toEqual([1]);
      const dy = randomArray(y.size, 305 + 10 * si);
      y.backward(tensor(dy, y.shape));
      const grads = batchNorm2dBackwardRef(o, s, TRAIN, dy);
      expectClose(await t.x.grad!.toArray(), grads.dx, `dx ${label(s)}`);
      expectClose(await t.weight.grad!.toArray(), grads.dweight, `dweight ${label(s)}`);
      expectClose(await t.bias.grad!.toArray(), grads.dbias, `dbias ${label(s)}`);
    }
  });

  it('evaluation: running statistics, left unchanged, and the affine backward', async () => {
    for (const [si, s] of SHAPES.entries()) {
      const o = operands(s, 500 + 10 * si);
      const t = tensors(o, s, true);
      const counter = tensor(new Int32Array([5]), []);
      const y = batchNorm2d(t.x, t.weight, t.bias, t.runningMean, t.runningVar, { training: false, momentum: 0.3, eps: 1e-3, numBatchesTracked: counter });
      const cfg = { ...EVAL, eps: 1e-3 };
      expectClose(await y.toArray(), batchNorm2dRef(o, s, cfg).y, `y ${label(s)}`);
      expect(Array.from(await t.runningMean.toArray())).toEqual(Array.from(o.runningMean));
      expect(Array.from(await t.runningVar.toArray())).toEqual(Array.from(o.runningVar));
      expect(Array.from(await counter.toArray())).toEqual([5]);
      const dy = randomArray(y.size, 505 + 10 * si);
      y.backward(tensor(dy, y.shape));
      const grads = batchNorm2dBackwardRef(o, s, cfg, dy);
      expectClose(await t.x.grad!.toArray(), grads.dx, `dx ${label(s)}`);
      expectClose(await t.weight.grad!.toArray(), grads.dweight, `dweight ${label(s)}`);
      expectClose(await t.bias.grad!.toArray(), grads.dbias, `dbias ${label(s)}`);
    }
  });

  it('gives the input gradient alone and weight gradients alone (training needs the sums either way)', async () => {
    const s = SHAPES[1];
    const o = operands(s, 700);
    const dy = randomArray(o.x.length, 701);
    const grads = batchNorm2dBackwardRef(o, s, TRAIN, dy);
    const onlyX = tensors(o, s);
    onlyX.x.requiresGrad = true;
    batchNorm2d(onlyX.x, onlyX.weight, onlyX.bias, onlyX.runningMean, onlyX.runningVar, { training: true }).backward(tensor(dy, onlyX.x.shape));
    expectClose(await onlyX.x.grad!.toArray(), grads.dx, 'dx alone');
    expect(onlyX.weight.grad).toBeNull();
    const onlyWeight = tensors(o, s);
    onlyWeight.weight.requiresGrad = true;
    batchNorm2d(onlyWeight.x, onlyWeight.weight, onlyWeight.bias, onlyWeight.runningMean, onlyWeight.runningVar, { training: true }).backward(tensor(dy, onlyX.x.shape));
    expectClose(await onlyWeight.weight.grad!.toArray(), grads.dweight, 'dweight alone');
    expect(onlyWeight.x.grad).toBeNull();
  });

  it('records nothing without gradients, but still updates the running statistics in training', async () => {
    const s = SHAPES[0];
    const o = operands(s, 800);
    const t = tensors(o, s, true);
    const y = noGrad(() => batchNorm2d(t.x, t.weight, t.bias, t.runningMean, t.runningVar, { training: true }));
    expect(y.node).toBeNull();
    const ref = batchNorm2dRef(o, s, TRAIN);
    expectClose(await y.toArray(), ref.y, 'y');
    expectClose(await t.runningMean.toArray(), ref.runningMean, 'running mean');
  });

  it('rejects bad input naming the op and shapes', () => {
    const c = (n: number) => tensor(new Float32Array(n), [n]);
    const x = tensor(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
    expect(() => batchNorm2d(tensor(new Float32Array(6), [2, 3]), c(3), c(3), c(3), c(3), { training: true })).toThrow('batchNorm2d: input must be an f32 [N,C,H,W] tensor, got f32 [2,3]');
    expect(() => batchNorm2d(x, c(3), c(4), c(3), c(3), { training: true })).toThrow('batchNorm2d: bias must be f32 [3] for input [2,3,4,4], got f32 [4]');
    expect(() => batchNorm2d(x, c(3), c(3), c(3), tensor(new Int32Array(3), [3]), { training: false })).toThrow('batchNorm2d: runningVar must be f32 [3] for input [2,3,4,4], got i32 [3]');
    expect(() => batchNorm2d(x, c(3), c(3), c(3), c(3), { training: true, momentum: 1.5 })).toThrow('batchNorm2d: momentum must be in [0, 1], got 1.5');
    expect(() => batchNorm2d(x, c(3), c(3), c(3), c(3), { training: true, eps: 0 })).toThrow('batchNorm2d: eps must be positive, got 0');
    expect(() => batchNorm2d(x, c(3), c(3), c(3), c(3), { training: true, numBatchesTracked: c(1) })).toThrow('batchNorm2d: numBatchesTracked must be a one-element i32 tensor, got f32 [1]');
    expect(() => batchNorm2d(tensor(new Float32Array(3), [1, 3, 1, 1]), c(3), c(3), c(3), c(3), { training: true })).toThrow('batchNorm2d: training needs more than one value per channel, got input [1,3,1,1]');
  });
});

describe('nn.BatchNorm2d', () => {
  it("has PyTorch's parameters, buffers, state-dict names and initial values", async () => {
    const bn = new nn.BatchNorm2d(3);
    expect(bn.namedParameters().map(([name]) => name)).toEqual(['weight', 'bias']);
    const state = await bn.stateDict();
    expect(Object.keys(state)).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(state.num_batches_tracked).toEqual({ dtype: 'i32', shape: [], data: new Int32Array([0]) });
    expect(Array.from(state.weight.data)).toEqual([1, 1, 1]);
    expect(Array.from(state.bias.data)).toEqual([0, 0, 0]);
    expect(Array.from(state.running_mean.data)).toEqual([0, 0, 0]);
    expect(Array.from(state.running_var.data)).toEqual([1, 1, 1]);
    expect(() => new nn.BatchNorm2d(0)).toThrow('BatchNorm2d: numFeatures must be integers >= 1, got 0');
    expect(() => new nn.BatchNorm2d(3, { momentum: -1 })).toThrow('BatchNorm2d: momentum must be in [0, 1], got -1');
  });

  it('follows train()/eval() set on an enclosing module, counting training batches only', async () => {
    class Block extends nn.Module {
      readonly body = this.registerModule('body', new nn.Sequential(new nn.Conv2d(2, 3, 3, { seed: 1 }), new nn.BatchNorm2d(3)));
      forward(x: Tensor): Tensor {
        return relu(this.body.call(x));
      }
    }
    const model = new Block();
    const bn = model.body.at(1) as nn.BatchNorm2d;
    const xv = randomArray(4 * 2 * 7 * 6, 9);
    const x = tensor(xv, [4, 2, 7, 6]);
    await scoped(() => noGrad(() => model.call(x)));
    expect(Array.from(await bn.buffer('num_batches_tracked')!.toArray())).toEqual([1]);
    const afterTraining = await bn.stateDict();
    expect(Array.from(afterTraining.running_var.data).some((v) => v !== 1)).toBe(true);

    model.eval();
    expect(bn.training).toBe(false);
    const h = noGrad(() => (model.body.at(0) as nn.Conv2d).call(x));
    const hv = await h.toArray();
    const y = noGrad(() => model.call(x));
    const s = { n: 4, c: 3, h: 5, w: 4 };
    const ref = batchNorm2dRef({ x: hv, weight: [1, 1, 1], bias: [0, 0, 0], runningMean: afterTraining.running_mean.data, runningVar: afterTraining.running_var.data }, s, EVAL);
    expectClose(await y.toArray(), ref.y.map((v) => Math.max(v, 0)), 'eval output uses the running statistics');
    expect(await bn.stateDict()).toEqual(afterTraining);

    model.train();
    expect(bn.training).toBe(true);
    noGrad(() => model.call(x));
    expect(Array.from(await bn.buffer('num_batches_tracked')!.toArray())).toEqual([2]);
  });

  it('holds constant GPU memory over a training loop (200 steps of conv, BatchNorm, ReLU, Adam)', async () => {
    const model = new nn.Sequential(new nn.Conv2d(3, 5, 3, { seed: 3 }), new nn.BatchNorm2d(5), new nn.ReLU());
    const adam = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const x = randomArray(6 * 3 * 9 * 9, 4);
    const target = randomArray(6 * 5 * 7 * 7, 5);
    const snapshots = new Map<number, ReturnType<typeof memory>>();
    for (let step = 1; step <= 200; step++) {
      const scope = beginScope();
      const y = model.call(tensor(x, [6, 3, 9, 9]));
      y.backward(tensor(target, y.shape));
      adam.step();
      adam.zeroGrad();
      scope.end();
      if (step === 10 || step === 200) snapshots.set(step, memory());
    }
    const [at10, at200] = [snapshots.get(10)!, snapshots.get(200)!];
    expect(at200.liveBytes).toBe(at10.liveBytes);
    expect(at200.liveBuffers).toBe(at10.liveBuffers);
    expect(at200.pooledBytes).toBe(at10.pooledBytes);
    expect(at200.buffersCreated).toBe(at10.buffersCreated);
    expect(Array.from(await (model.at(1) as nn.BatchNorm2d).buffer('num_batches_tracked')!.toArray())).toEqual([200]);
  });
});
