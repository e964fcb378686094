import { describe, expect, it } from 'vitest';
import { add, beginScope, flatten, memory, mul, relu, reshape, scale, scoped, sub, tensor, transpose } from '@sparsenet/tensor';
import { expectClose, randomArray, useDevice } from './helpers.js';

useDevice();

describe('tensor basics', () => {
  it('round-trips f32 and i32 data', async () => {
    const x = tensor(randomArray(1000, 1), [10, 100]);
    expect(Array.from(await x.toArray())).toEqual(Array.from(randomArray(1000, 1)));
    const y = tensor(new Int32Array([1, -5, 7]), [3], { dtype: 'i32' });
    expect(Array.from(await y.toArray())).toEqual([1, -5, 7]);
  });

  it('rejects bad input naming the op and shapes', () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(/tensor: 5 values do not fill shape \[2,3\]/);
    expect(() => tensor(new Float32Array(3), [3], { dtype: 'i32' })).toThrow(/dtype i32 needs an Int32Array/);
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(6), [3, 2]);
    expect(() => add(a, b)).toThrow(/add: shapes \[2,3\], \[3,2\] differ/);
    expect(() => reshape(a, [4, 2])).toThrow(/reshape: cannot view \[2,3\]/);
    a.dispose();
    expect(() => relu(a)).toThrow(/disposed tensor \[2,3\]/);
  });

  it('checks for NaN at readback when asked', async () => {
    const x = tensor(new Float32Array([1, NaN, 3]), [3]);
    const y = scale(x, 2);
    await expect(y.toArray({ checkFinite: true })).rejects.toThrow(/scale\(\[3\], 2\): non-finite value NaN at index 1/);
  });
});

describe('elementwise ops and autograd', () => {
  it('add/sub/mul/scale/relu forward and backward match a reference on odd sizes', async () => {
    for (const n of [1, 33, 257, 70001]) {
      const av = randomArray(n, 10 + n);
      const bv = randomArray(n, 20 + n);
      const a = tensor(av, [n], { requiresGrad: true });
      const b = tensor(bv, [n], { requiresGrad: true });
      // loss = sum(relu(a*b - a) * 3 + b) via a weighted sum with ones: use backward with seed
      const y = add(scale(relu(sub(mul(a, b), a)), 3), b);
      const seedv = randomArray(n, 30 + n);
      y.backward(tensor(seedv, [n]));
      const ref = new Float64Array(n);
      const ga = new Float64Array(n);
      const gb = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const z = av[i] * bv[i] - av[i];
        ref[i] = 3 * Math.max(z, 0) + bv[i];
        const dz = z > 0 ? 3 * seedv[i] : 0;
        ga[i] = dz * (bv[i] - 1);
        gb[i] = dz * av[i] + seedv[i];
      }
      expectClose(await y.toArray(), ref, `forward n=${n}`);
      expectClose(await a.grad!.toArray(), ga, `grad a n=${n}`);
      expectClose(await b.grad!.toArray(), gb, `grad b n=${n}`);
    }
  });

  it('reshape/flatten share storage; transpose copies and has a gradient', async () => {
    const v = randomArray(2 * 3 * 5, 3);
    const x = tensor(v, [2, 3, 5], { requiresGrad: true });
    const f = flatten(x);
    expect(f.shape).toEqual([2, 15]);
    expect(f.buffer).toBe(x.buffer);
    const t = transpose(f);
    expect(t.shape).toEqual([15, 2]);
    const tv = await t.toArray();
    for (let r = 0; r < 2; r++) for (let c = 0; c < 15; c++) expect(tv[c * 2 + r]).toBe(v[r * 15 + c]);
    t.backward(tensor(randomArray(30, 4), [15, 2]));
    const g = await x.grad!.toArray();
    const s = randomArray(30, 4);
    for (let r = 0; r < 2; r++) for (let c = 0; c < 15; c++) expect(g[r * 15 + c]).toBe(s[c * 2 + r]);
  });
});

describe('memory', () => {
  it('scopes free intermediates across await and keep what is returned', async () => {
    const x = tensor(randomArray(4096, 5), [4096]);
    const before = memory();
    const kept = await scoped(async () => {
      const a = relu(x);
      await a.toArray();
      const b = scale(a, 2);
      await new Promise((r) => setTimeout(r, 1));
      return add(b, x);
    });
    const after = memory();
    expect(after.liveBuffers).toBe(before.liveBuffers + 1);
    expect(kept.disposed).toBe(false);
    kept.dispose();
    expect(memory().liveBuffers).toBe(before.liveBuffers);
  });

  it('refuses to end an outer scope while an inner one is open', () => {
    const outer = beginScope();
    const inner = beginScope();
    expect(() => outer.end()).toThrow(/innermost first/);
    inner.end();
    outer.end();
  });

  it('reuses pooled buffers: repeated work creates none after the first round', async () => {
    const x = tensor(randomArray(10000, 6), [100, 100]);
    const round = () => scoped(() => relu(scale(transpose(x), 3)).dispose());
    await round();
    await round();
    const created = memory().buffersCreated;
    for (let i = 0; i < 20; i++) await round();
    expect(memory().buffersCreated).toBe(created);
  });
});
