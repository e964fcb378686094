import { afterEach, describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { linear, matmul, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import { eachOnce, expectClose, numericGrad, pairwise, randomArray, useDevice } from './helpers.js';
import { linearBackwardRef, linearRef, matmulBackwardRef, matmulRef, type LinearOperands, type MatmulRefOptions } from './reference/matmul.js';

useDevice();

/** [M, K, N]: odd sizes, one value, LeNet's fc1 (batch 64) and fc2 (batch 33) forward shapes. */
const SHAPES: [number, number, number][] = [[1, 1, 1], [33, 17, 29], [65, 129, 31], [64, 2704, 120], [33, 120, 84]];
const LAYOUTS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
const layoutName = ([ta, tb]: [boolean, boolean]) => `${ta ? 't' : 'n'}${tb ? 't' : 'n'}`;
/** Which of M, K, N are multiples of 4: all a pipeline's specialisation takes from a shape. */
const alignment = (shape: [number, number, number]) => shape.map((d) => d % 4 === 0).join();

function variants(): k.MatmulVariant[] {
  return k.matmulVariants(runtime().device);
}

/** 0/1 values, about two thirds ones. */
function randomMask(n: number, seed: number): Float32Array {
  return randomArray(n, seed).map((v) => (v > -0.3 ? 1 : 0));
}

interface KernelCase extends MatmulRefOptions {
  a: Float32Array;
  b: Float32Array;
  m: number;
  n: number;
  k: number;
}

/** Runs one variant of the kernel on tensors made from the case and reads C back. */
async function runKernel(variant: k.MatmulVariant, c: KernelCase): Promise<Float32Array> {
  const made: Tensor[] = [];
  const upload = (values: ArrayLike<number> | undefined) => {
    if (!values) return undefined;
    const t = tensor(Float32Array.from(values));
    made.push(t);
    return t.buffer;
  };
  const a = upload(c.a)!;
  const b = upload(c.b)!;
  const out = upload(c.accumulateInto ?? new Float32Array(c.m * c.n))!;
  const options: k.MatmulOptions = {
    transA: c.transA, transB: c.transB, relu: c.relu, accumulate: !!c.accumulateInto,
    bias: upload(c.bias), maskB: upload(c.maskB), maskOut: upload(c.maskOut),
  };
  k.runMatmulVariant(variant, runtime().runner, a, b, out, c.m, c.n, c.k, options);
  const got = (await made[2].toArray()) as Float32Array;
  made.forEach((t) => t.dispose());
  return got;
}

afterEach(() => runtime().runner.tuner.force({}));

describe('matmul kernels', () => {
  it('offer the register and tiled variants (and subgroup where the device has fixed-size subgroups)', () => {
    expect(variants()).toEqual(expect.arrayContaining(['register', 'tiled']));
    expect(variants().includes('subgroup')).toBe(k.matmulSubgroupSize(runtime().device) !== null);
  });

  // Each row of a covering array is one pipeline (variant x layout x epilogue x alignment): every pair of
  // choices is tested once instead of every product (issue 10: each new pipeline costs ~1.5 s on cold lavapipe).
  // A pipeline depends on a shape only through which of K, M, N are multiples of 4, so shapes are grouped by
  // that and each row takes the next shape of its group: every shape is run, every pair is covered.
  it('every variant matches the reference in every layout, on odd and LeNet shapes (pairwise)', async () => {
    const byAlignment = [...new Set(SHAPES.map(alignment))].map((key) => SHAPES.filter((s) => alignment(s) === key));
    const used = byAlignment.map(() => 0);
    const rows = pairwise({ variant: variants(), layout: LAYOUTS, group: byAlignment.map((_, i) => i) });
    expect(rows.length).toBeGreaterThanOrEqual(SHAPES.length);
    for (const { variant, layout, group } of rows) {
      const [m, kk, n] = byAlignment[group][used[group]++ % byAlignment[group].length];
      const a = randomArray(m * kk, m + kk);
      const b = randomArray(kk * n, n + 7);
      const [transA, transB] = layout;
      expectClose(await runKernel(variant, { a, b, m, n, k: kk, transA, transB }), matmulRef(a, b, m, n, kk, { transA, transB }), `${variant} ${m}x${kk}x${n}:${layoutName(layout)}`);
    }
    expect(used.every((count, group) => count >= byAlignment[group].length), 'every shape ran').toBe(true);
  });

  // The epilogue's covering array, run as one test per variant (its rows grouped by variant): the flags make a
  // pipeline each, and some compile slowly (13 of them took 61 s of CPU in one test on an empty shader cache).
  const flag = [false, true] as const;
  const epilogueRows = pairwise({
    variant: k.MATMUL_VARIANTS, layout: LAYOUTS, shape: [[33, 17, 29], [32, 16, 28], [1, 84, 7]] as const,
    bias: flag, relu: flag, maskB: flag, maskOut: flag, accumulate: flag,
  });
  for (const variant of k.MATMUL_VARIANTS) {
    it(`the ${variant} variant applies bias, ReLU, maskB, maskOut and accumulate in every layout (pairwise)`, async () => {
      if (!variants().includes(variant)) {
        expect(k.matmulSubgroupSize(runtime().device), `${variant} runs on this device`).toBeNull();
        return;
      }
      const rows = epilogueRows.filter((row) => row.variant === variant);
      expect(rows.length).toBeGreaterThanOrEqual(LAYOUTS.length);
      for (const row of rows) {
        const { layout, shape: [m, kk, n] } = row;
        const epilogue = { bias: row.bias, relu: row.relu, maskB: row.maskB, maskOut: row.maskOut, accumulate: row.accumulate };
        const options: MatmulRefOptions = {
          transA: layout[0], transB: layout[1], relu: epilogue.relu,
          bias: epilogue.bias ? randomArray(n, 3) : undefined,
          maskB: epilogue.maskB ? randomMask(kk * n, 4) : undefined,
          maskOut: epilogue.maskOut ? randomMask(m * n, 5) : undefined,
          accumulateInto: epilogue.accumulate ? randomArray(m * n, 6) : undefined,
        };
        const c = { a: randomArray(m * kk, 1), b: randomArray(kk * n, 2), m, n, k: kk, ...options };
        const name = Object.entries(epilogue).filter(([, on]) => on).map(([f]) => f).join('+') || 'plain';
        expectClose(await runKernel(variant, c), matmulRef(c.a, c.b, m, n, kk, c), `${variant} ${name} ${m}x${kk}x${n}:${layoutName(layout)}`);
      }
    });
  }

  it('reject an empty shape and an unknown forced variant, naming the kernel', () => {
    const { runner } = runtime();
    const x = tensor(new Float32Array(4));
    expect(() => k.runMatmulVariant('register', runner, x.buffer, x.buffer, x.buffer, 0, 2, 2)).toThrow(/matmul: invalid shape M=0 N=2 K=2/);
    runner.tuner.force({ matmul: 'nonesuch' });
    expect(() => k.matmul(runner, x.buffer, x.buffer, x.buffer, 2, 2, 1)).toThrow(/matmul: no variant 'nonesuch'/);
  });

  it('tuner: a new shape runs the heuristic pick and is queued; tunePending times every variant and its pick is used', async () => {
    const { runner } = runtime();
    const [m, kk, n] = [19, 23, 37];
    const av = randomArray(m * kk, 8);
    const bv = randomArray(kk * n, 9);
    const ref = matmulRef(av, bv, m, n, kk);
    const a = tensor(av, [m, kk]);
    const b = tensor(bv, [kk, n]);
    const pending = runner.tuner.pendingCount;
    expectClose(await matmul(a, b).toArray(), ref, 'before tuning');
    expect(runner.tuner.pendingCount).toBe(pending + 1);
    const report = await runner.tuner.tunePending(2);
    const key = `matmul:${m}x${kk}x${n}:nn`;
    expect(Object.keys(report.get(key) ?? {}).sort()).toEqual([...variants()].sort());
    const chosen = runner.tuner.export()[key].variant;
    expect(variants()).toContain(chosen);
    const requeue = (): k.TuneRequest<k.MatmulVariant> => {
      throw new Error('a measured shape must not be queued again');
    };
    expect(runner.tuner.choose('matmul', `${m}x${kk}x${n}:nn`, variants(), 'tiled', requeue)).toBe(chosen);
    expectClose(await matmul(a, b).toArray(), ref, `after tuning (${chosen})`);
    expect(runner.tuner.pendingCount).toBe(0);
  });
});

describe('matmul op', () => {
  it('reference backward matches finite differences', () => {
    const [m, kk, n] = [3, 4, 5];
    const a = Float64Array.from(randomArray(m * kk, 11));
    const b = Float64Array.from(randomArray(kk * n, 12));
    const g = randomArray(m * n, 13);
    const loss = (av: ArrayLike<number>, bv: ArrayLike<number>) => matmulRef(av, bv, m, n, kk).reduce((s, v, i) => s + v * g[i], 0);
    const { da, db } = matmulBackwardRef(a, b, g, m, n, kk);
    expectClose(da, numericGrad((x) => loss(x, b), a), 'dA', 1e-6);
    expectClose(db, numericGrad((x) => loss(a, x), b), 'dB', 1e-6);
  });

  // The kernels' variants, layouts and shapes are covered pairwise above; the op needs each of them once.
  it('forward and gradients match the reference on every variant and shape', async () => {
    for (const { variant, shape: [m, kk, n] } of eachOnce({ shape: SHAPES, variant: variants() })) {
      runtime().runner.tuner.force({ matmul: variant });
      const av = randomArray(m * kk, 21);
      const bv = randomArray(kk * n, 22);
      const gv = randomArray(m * n, 23);
      const a = tensor(av, [m, kk], { requiresGrad: true });
      const b = tensor(bv, [kk, n], { requiresGrad: true });
      const y = matmul(a, b);
      expectClose(await y.toArray(), matmulRef(av, bv, m, n, kk), `${variant} forward ${m}x${kk}x${n}`);
      y.backward(tensor(gv, [m, n]));
      const { da, db } = matmulBackwardRef(av, bv, gv, m, n, kk);
      expectClose(await a.grad!.toArray(), da, `${variant} dA ${m}x${kk}x${n}`);
      expectClose(await b.grad!.toArray(), db, `${variant} dB ${m}x${kk}x${n}`);
    }
  });

  it('rejects bad operands naming the op and shapes', () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    expect(() => matmul(a, tensor(new Float32Array(20), [4, 5]))).toThrow(/matmul: \[2,3\] @ \[4,5\] do not match \(3 != 4\)/);
    expect(() => matmul(a, tensor(new Float32Array(3), [3]))).toThrow(/matmul: needs 2-D tensors, got \[2,3\] @ \[3\]/);
    expect(() => matmul(a, tensor(new Int32Array(6), [3, 2]))).toThrow(/matmul: b must be f32, got i32 \[3,2\]/);
  });
});

describe('linear', () => {
  const operands = (batch: number, inFeatures: number, outFeatures: number, seed: number, options: { bias?: boolean; mask?: boolean; relu?: boolean }): LinearOperands => ({
    batch, inFeatures, outFeatures,
    x: randomArray(batch * inFeatures, seed),
    weight: randomArray(outFeatures * inFeatures, seed + 1, -0.5, 0.5),
    bias: options.bias ? randomArray(outFeatures, seed + 2) : null,
    mask: options.mask ? randomMask(outFeatures * inFeatures, seed + 3) : null,
    relu: options.relu,
  });

  it('reference backward matches finite differences (mask, bias, ReLU)', () => {
    const l = operands(3, 5, 4, 31, { bias: true, mask: true, relu: true });
    const gy = randomArray(3 * 4, 35);
    const loss = (change: Partial<LinearOperands>) => linearRef({ ...l, ...change }).reduce((s, v, i) => s + v * gy[i], 0);
    const { dx, dw, db } = linearBackwardRef(l, gy);
    expectClose(dx, numericGrad((x) => loss({ x }), Float64Array.from(l.x)), 'dx', 1e-6);
    expectClose(dw, numericGrad((weight) => loss({ weight }), Float64Array.from(l.weight)), 'dw', 1e-6);
    expectClose(db, numericGrad((bias) => loss({ bias }), Float64Array.from(l.bias!)), 'db', 1e-6);
  });

  // [batch, in, out]: batch 1 and 33, odd sizes, LeNet's fc1/fc2/fc3. The kernels' epilogues are covered
  // pairwise above; the op needs each variant, shape and configuration once: one test per shape, since each
  // compiles its forward, input- and weight-gradient pipelines (13 in one test took 31 to 48 s of CPU cold).
  const linearShapes: [number, number, number][] = [[1, 17, 29], [33, 17, 29], [64, 2704, 120], [33, 120, 84], [33, 84, 7]];
  const linearConfigs = [{ bias: true, mask: true, relu: true }, { bias: true, mask: false, relu: false }, { bias: false, mask: true, relu: false }];
  const linearRows = eachOnce({ shape: linearShapes, variant: k.MATMUL_VARIANTS, config: linearConfigs });
  for (const { variant, shape: [batch, inFeatures, outFeatures], config } of linearRows) {
    const what = `${variant} ${batch}x${inFeatures}->${outFeatures} ${JSON.stringify(config)}`;
    it(`forward and gradients for x, weight and bias match the reference; masked weights get exactly 0: ${what}`, async () => {
      if (!variants().includes(variant)) {
        expect(k.matmulSubgroupSize(runtime().device), `${variant} runs on this device`).toBeNull();
        return;
      }
      runtime().runner.tuner.force({ matmul: variant });
      const l = operands(batch, inFeatures, outFeatures, batch + inFeatures, config);
      const x = tensor(Float32Array.from(l.x), [batch, inFeatures], { requiresGrad: true });
      const w = tensor(Float32Array.from(l.weight), [outFeatures, inFeatures], { requiresGrad: true });
      const b = l.bias ? tensor(Float32Array.from(l.bias), [outFeatures], { requiresGrad: true }) : null;
      const mask = l.mask ? tensor(Float32Array.from(l.mask), [outFeatures, inFeatures]) : null;
      const y = linear(x, w, b, { mask, activation: l.relu ? 'relu' : undefined });
      expectClose(await y.toArray(), linearRef(l), `${what} forward`);
      const gy = randomArray(batch * outFeatures, 77);
      y.backward(tensor(gy, [batch, outFeatures]));
      const ref = linearBackwardRef(l, gy);
      expectClose(await x.grad!.toArray(), ref.dx, `${what} dx`);
      const dw = await w.grad!.toArray();
      expectClose(dw, ref.dw, `${what} dw`);
      if (b) expectClose(await b.grad!.toArray(), ref.db, `${what} db`);
      if (l.mask) {
        const leaked = Array.from(dw).findIndex((v, i) => l.mask![i] === 0 && v !== 0);
        expect(leaked, `${what}: masked weight ${leaked} has gradient ${dw[leaked]}`).toBe(-1);
      }
    });
  }

  it('skips gradients nobody needs: a constant input gets none, the mask is never trained', async () => {
    const x = tensor(randomArray(6, 1), [2, 3]);
    const w = tensor(randomArray(12, 2), [4, 3], { requiresGrad: true });
    const mask = tensor(randomMask(12, 3), [4, 3]);
    linear(x, w, null, { mask }).backward(tensor(randomArray(8, 4), [2, 4]));
    expect(x.grad).toBeNull();
    expect(mask.grad).toBeNull();
    expect(w.grad).not.toBeNull();
  });

  it('rejects bad operands naming the op and shapes', () => {
    const x = tensor(new Float32Array(10), [2, 5]);
    expect(() => linear(x, tensor(new Float32Array(12), [3, 4]))).toThrow(/linear: x \[2,5\] and weight \[3,4\] do not match \(in_features 4 != 5\)/);
    const w = tensor(new Float32Array(15), [3, 5]);
    expect(() => linear(x, w, tensor(new Float32Array(4), [4]))).toThrow(/linear: bias \[4\] does not match 3 out_features \(x \[2,5\] and weight \[3,5\]\)/);
    expect(() => linear(x, w, null, { mask: tensor(new Float32Array(10), [2, 5]) })).toThrow(/linear: mask \[2,5\] does not match weight \[3,5\]/);
    expect(() => linear(tensor(new Float32Array(10), [1, 2, 5]), w)).toThrow(/linear: x must be \[batch, in_features\], got \[1,2,5\]/);
    expect(() => linear(x, tensor(new Float32Array(5), [5]))).toThrow(/linear: weight must be \[out_features, in_features\], got \[5\]/);
    expect(() => linear(x, w, null, { activation: 'tanh' as 'relu' })).toThrow(/linear: unknown activation 'tanh'/);
  });
});
