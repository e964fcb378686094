import { describe, expect, it } from 'vitest';
import { optim, runtime, scoped, tensor, type Tensor } from '@sparsenet/tensor';
import { expectClose, randomArray, rng, useDevice } from './helpers.js';
import { adamStepRef, sgdStepRef, type AdamRefOptions, type SgdRefOptions } from './reference/optim.js';

useDevice();

// Odd sizes: one element, a [33,7] matrix, one past a workgroup-multiple.
const SHAPES = [[1], [33, 7], [257]];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A 0/1 mask with about half zeros. */
function randomMask(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1));
}

/** Gradients bounded away from zero, of either sign. */
function gradient(n: number, seed: number): Float32Array {
  return randomArray(n, seed).map((v) => (v < 0 ? v - 0.1 : v + 0.1));
}

function setGrads(params: Tensor[], step: number, skip: (i: number) => boolean = () => false): Float32Array[] {
  return params.map((p, i) => {
    const g = gradient(p.size, 1000 * step + i);
    if (!skip(i)) p.grad = tensor(g, p.shape);
    return g;
  });
}

describe('Adam', () => {
  const configs: [optim.AdamOptions, AdamRefOptions][] = [
    [{}, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }],
    [{ lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }, { lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }],
    // A first-moment weight above 0.5 takes torch.lerp's other formula.
    [{ lr: 5e-2, betas: [0.3, 0.9], weightDecay: 0.01 }, { lr: 5e-2, betas: [0.3, 0.9], eps: 1e-8, weightDecay: 0.01 }],
  ];

  it('matches a float64 reference of torch.optim.Adam over several steps (weights and moments)', async () => {
    for (const [ci, [options, ref]] of configs.entries()) {
      const init = SHAPES.map((s, i) => randomArray(size(s), 10 * ci + i));
      const params = SHAPES.map((s, i) => tensor(init[i], s, { requiresGrad: true }));
      const adam = new optim.Adam(params, options);
      const p = init.map((v) => Float64Array.from(v));
      const m = init.map((v) => new Float64Array(v.length));
      const v = init.map((x) => new Float64Array(x.length));
      const steps = [0, 0, 0];
      for (let step = 1; step <= 6; step++) {
        adam.zeroGrad();
        // Parameter 1 has no gradient on even steps: its own step count (and bias correction) lags, as in PyTorch.
        const skip = (i: number) => i === 1 && step % 2 === 0;
        const grads = setGrads(params, step, skip);
        adam.step();
        grads.forEach((g, i) => {
          if (!skip(i)) adamStepRef(p[i], g, m[i], v[i], ++steps[i], ref);
        });
      }
      const state = await adam.stateDict();
      for (let i = 0; i < params.length; i++) {
        const what = `config ${ci} param [${SHAPES[i]}]`;
        expectClose(await params[i].toArray(), p[i], what);
        expect(state.state[i]!.step).toBe(steps[i]);
        expectClose(state.state[i]!.tensors.exp_avg, m[i], `${what} exp_avg`);
        expectClose(state.state[i]!.tensors.exp_avg_sq, v[i], `${what} exp_avg_sq`);
      }
    }
  });

  it('masked: matches the masked reference, and pruned weights and both moments stay exactly 0 over 100 steps', async () => {
    const ref: AdamRefOptions = { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05 };
    // Non-zero initial weights everywhere, so weight decay alone would move the pruned ones.
    const init = SHAPES.map((s, i) => randomArray(size(s), 50 + i).map((x) => x + Math.sign(x) * 0.5 || 0.5));
    const masks = SHAPES.map((s, i) => randomMask(size(s), 60 + i));
    masks[0][0] = 0;
    const params = SHAPES.map((s, i) => tensor(init[i], s, { requiresGrad: true }));
    const adam = new optim.Adam(params.map((param, i) => ({ param, mask: tensor(masks[i], SHAPES[i]) })), { lr: ref.lr, weightDecay: ref.weightDecay });
    const p = init.map((x) => Float64Array.from(x));
    const m = init.map((x) => new Float64Array(x.length));
    const v = init.map((x) => new Float64Array(x.length));
    for (let step = 1; step <= 100; step++) {
      adam.zeroGrad();
      const grads = setGrads(params, step);
      adam.step();
      if (step <= 5) grads.forEach((g, i) => adamStepRef(p[i], g, m[i], v[i], step, ref, masks[i]));
      if (step === 5) for (let i = 0; i < params.length; i++) expectClose(await params[i].toArray(), p[i], `masked param [${SHAPES[i]}] after 5 steps`);
    }
    const state = await adam.stateDict();
    for (let i = 0; i < params.length; i++) {
      const weights = await params[i].toArray();
      const { exp_avg: mv, exp_avg_sq: vv } = state.state[i]!.tensors;
      let pruned = 0;
      masks[i].forEach((keep, j) => {
        if (keep === 0) {
          pruned++;
          expect(weights[j] === 0 && mv[j] === 0 && vv[j] === 0, `param ${i} element ${j}: p ${weights[j]} m ${mv[j]} v ${vv[j]}`).toBe(true);
        } else expect(weights[j] !== 0 && vv[j] > 0).toBe(true);
      });
      expect(pruned).toBeGreaterThan(0);
    }
  });

  it('setMask: newly pruned weights and their moments become exactly 0 at the next step', async () => {
    const n = 257;
    const param = tensor(randomArray(n, 70), [n], { requiresGrad: true });
    const adam = new optim.Adam([param], { weightDecay: 0.01 });
    for (let step = 1; step <= 3; step++) {
      adam.zeroGrad();
      setGrads([param], step);
      adam.step();
    }
    const mask = randomMask(n, 71);
    adam.setMask(param, tensor(mask, [n]));
    adam.zeroGrad();
    setGrads([param], 4);
    adam.step();
    const weights = await param.toArray();
    const { exp_avg: mv, exp_avg_sq: vv } = (await adam.stateDict()).state[0]!.tensors;
    mask.forEach((keep, j) => {
      if (keep === 0) expect(weights[j] === 0 && mv[j] === 0 && vv[j] === 0).toBe(true);
      else expect(mv[j] !== 0).toBe(true);
    });
  });

  it('launches one dispatch per parameter with a gradient, and creates no buffers after the first step', async () => {
    const { runner } = runtime();
    const params = SHAPES.map((s, i) => tensor(randomArray(size(s), 80 + i), s, { requiresGrad: true }));
    const adam = new optim.Adam([...params.map((param) => ({ param })), { param: tensor(new Float32Array(4), [4]) }]);
    let buffers = 0;
    for (let step = 1; step <= 5; step++) {
      adam.zeroGrad();
      setGrads(params, step);
      if (step === 2) buffers = runner.counters.buffersCreated;
      const before = runner.counters.dispatches;
      adam.step();
      // Three parameters have gradients; the fourth has none and is skipped.
      expect(runner.counters.dispatches - before).toBe(3);
    }
    expect(runner.counters.buffersCreated).toBe(buffers);
  });

  it('stateDict / loadStateDict resume a run exactly', async () => {
    const shapes = SHAPES;
    const init = shapes.map((s, i) => randomArray(size(s), 90 + i));
    const a = shapes.map((s, i) => tensor(init[i], s, { requiresGrad: true }));
    const adamA = new optim.Adam(a, { lr: 1e-2, weightDecay: 0.01 });
    for (let step = 1; step <= 3; step++) {
      adamA.zeroGrad();
      setGrads(a, step);
      adamA.step();
    }
    const saved = await adamA.stateDict();
    const b = await Promise.all(a.map(async (t) => tensor((await t.toArray()) as Float32Array, t.shape, { requiresGrad: true })));
    const adamB = new optim.Adam(b, { lr: 1e-2, weightDecay: 0.01 });
    adamB.loadStateDict(saved);
    for (let step = 4; step <= 6; step++) {
      for (const [params, opt] of [[a, adamA], [b, adamB]] as const) {
        opt.zeroGrad();
        setGrads([...params], step);
        opt.step();
      }
    }
    for (let i = 0; i < a.length; i++) expect(Array.from(await b[i].toArray())).toEqual(Array.from(await a[i].toArray()));
    expect(() => adamB.loadStateDict({ state: [null] })).toThrow(/Adam.loadStateDict: state for 1 parameters, optimizer has 3/);
  });

  it('owns its moments: they outlive the scope of the step that made them', async () => {
    const param = tensor(randomArray(33, 100), [33], { requiresGrad: true });
    const adam = new optim.Adam([param]);
    await scoped(() => {
      setGrads([param], 1);
      adam.step();
    });
    expect((await adam.stateDict()).state[0]!.tensors.exp_avg.length).toBe(33);
  });

  it('zeroGrad frees gradients; bad arguments are rejected with clear errors', () => {
    const param = tensor(randomArray(6, 110), [2, 3], { requiresGrad: true });
    const adam = new optim.Adam([param]);
    setGrads([param], 1);
    const grad = param.grad!;
    adam.zeroGrad();
    expect(param.grad).toBeNull();
    expect(grad.disposed).toBe(true);
    expect(() => new optim.Adam([])).toThrow('Adam: got an empty parameter list');
    expect(() => new optim.Adam([param], { betas: [1.2, 0.999] })).toThrow('Adam: invalid beta parameter at index 0: 1.2');
    expect(() => new optim.Adam([{ param, mask: tensor(new Float32Array(6), [3, 2]) }])).toThrow('Adam: mask f32 [3,2] does not match parameter [2,3] (needs f32 of its shape)');
    expect(() => adam.setMask(tensor(new Float32Array(6), [2, 3]), null)).toThrow(/Adam.setMask: .* is not a parameter of this optimizer/);
    param.grad = tensor(new Float32Array(3), [3]);
    expect(() => adam.step()).toThrow(/Adam.step: gradient .*\[3\].* does not match parameter .*\[2,3\]/);
  });
});

describe('SGD', () => {
  const configs: SgdRefOptions[] = [
    { lr: 0.1, momentum: 0, weightDecay: 0 },
    { lr: 0.05, momentum: 0.9, weightDecay: 0 },
    { lr: 0.05, momentum: 0.9, weightDecay: 0.01 },
    { lr: 0.2, momentum: 0, weightDecay: 0.1 },
  ];

  it('matches a float64 reference of torch.optim.SGD over several steps, with and without masks', async () => {
    for (const [ci, ref] of configs.entries()) {
      for (const masked of [false, true]) {
        const init = SHAPES.map((s, i) => randomArray(size(s), 200 + 10 * ci + i));
        const masks = SHAPES.map((s, i) => randomMask(size(s), 300 + i));
        const params = SHAPES.map((s, i) => tensor(init[i], s, { requiresGrad: true }));
        const sgd = new optim.SGD(params.map((param, i) => ({ param, mask: masked ? tensor(masks[i], SHAPES[i]) : null })), ref);
        const p = init.map((x) => Float64Array.from(x));
        let bufs: (Float64Array | null)[] = init.map(() => null);
        for (let step = 1; step <= 5; step++) {
          sgd.zeroGrad();
          const grads = setGrads(params, step);
          sgd.step();
          bufs = grads.map((g, i) => sgdStepRef(p[i], g, bufs[i], ref, masked ? masks[i] : undefined));
        }
        const state = await sgd.stateDict();
        for (let i = 0; i < params.length; i++) {
          const what = `config ${ci}${masked ? ' masked' : ''} param [${SHAPES[i]}]`;
          const weights = await params[i].toArray();
          expectClose(weights, p[i], what);
          if (ref.momentum) expectClose(state.state[i]!.tensors.momentum_buffer, bufs[i]!, `${what} momentum`);
          if (masked) masks[i].forEach((keep, j) => keep === 0 && expect(weights[j]).toBe(0));
        }
      }
    }
  });

  it('follows a changed learning rate and launches one dispatch per parameter', async () => {
    const { runner } = runtime();
    const init = randomArray(33, 400);
    const param = tensor(init, [33], { requiresGrad: true });
    const sgd = new optim.SGD([param], { lr: 0.1, momentum: 0.5 });
    const p = Float64Array.from(init);
    let buf: Float64Array | null = null;
    for (let step = 1; step <= 4; step++) {
      sgd.lr = 0.1 / step;
      sgd.zeroGrad();
      const [g] = setGrads([param], step);
      const before = runner.counters.dispatches;
      sgd.step();
      expect(runner.counters.dispatches - before).toBe(1);
      buf = sgdStepRef(p, g, buf, { lr: 0.1 / step, momentum: 0.5, weightDecay: 0 });
    }
    expectClose(await param.toArray(), p, 'param');
  });
});

describe('cosineAnnealingLr', () => {
  it("equals torch.optim.lr_scheduler.CosineAnnealingLR's learning rates step by step", () => {
    // torch 2.x: Adam(lr=1e-3), CosineAnnealingLR(T_max=7, eta_min=1e-5); lr read before each of 8 steps.
    const torchLrs = [0.001, 0.0009509795896116975, 0.0008136274519200731, 0.0006151478623083757, 0.00039485213769162444, 0.00019637254807992693, 5.902041038830257e-05, 1e-05];
    torchLrs.forEach((lr, step) => expect(optim.cosineAnnealingLr(1e-3, step, 7, 1e-5)).toBeCloseTo(lr, 15));
  });

  it('stays at the minimum past the end and rejects bad step counts', () => {
    expect(optim.cosineAnnealingLr(1e-3, 12, 7)).toBe(0);
    expect(() => optim.cosineAnnealingLr(1e-3, 0, 0)).toThrow(/cosineAnnealingLr: totalSteps must be a positive integer, got 0/);
    expect(() => optim.cosineAnnealingLr(1e-3, -1, 5)).toThrow(/step must be a non-negative integer, got -1/);
  });
});
