import { describe, expect, it } from 'vitest';
import { dropout, nn, noGrad, tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, useDevice } from './helpers.js';
import { dropoutKeeps, dropoutRef } from './reference/dropout.js';

useDevice();

const N = 100_003;
/** Values in [0.5, 1.5): never zero, so a zero output means dropped. */
const xv = randomArray(N, 1, 0.5, 1.5);

async function run(p: number, seed: number, step: number): Promise<Float32Array> {
  return (await dropout(tensor(xv, [N]), p, { training: true, seed, step }).toArray()) as Float32Array;
}

describe('dropout reference', () => {
  it('backward (the mask, scaled) matches central finite differences', () => {
    const x = Float64Array.from(randomArray(50, 2));
    const dy = randomArray(50, 3);
    const f = (v: Float64Array) => dropoutRef(v, 0.4, 7, 3).reduce((acc, y, i) => acc + y * dy[i], 0);
    const want = Float64Array.from(dy, (g, i) => (dropoutKeeps(i, 0.4, 7, 3) ? g / 0.6 : 0));
    expectClose(want, numericGrad(f, x), 'dx', 1e-6, 1e-8);
  });
});

describe('dropout', () => {
  it("keeps exactly the reference hash's elements, near 1 - p of them, each exactly x / (1 - p)", async () => {
    for (const [p, seed, step] of [[0.1, 1, 0], [0.5, 2, 5], [0.9, 0xffffffff, 123456]]) {
      const y = await run(p, seed, step);
      const keep = Math.fround(1 - p);
      let kept = 0;
      for (let i = 0; i < N; i++) {
        const want = dropoutKeeps(i, p, seed, step);
        if (want) kept++;
        if ((y[i] !== 0) !== want) throw new Error(`p ${p}: element ${i} ${want ? 'should be kept' : 'should be dropped'}, got ${y[i]}`);
        if (want && y[i] !== Math.fround(xv[i] / keep)) throw new Error(`p ${p}: element ${i} is ${y[i]}, not x / (1 - p) = ${Math.fround(xv[i] / keep)}`);
      }
      // Four standard deviations of a binomial fraction.
      expect(Math.abs(kept / N - (1 - p)), `kept fraction at p ${p}`).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / N));
    }
  });

  it('draws the same mask for the same seed and step, and independent masks otherwise', async () => {
    const p = 0.5;
    const base = await run(p, 11, 0);
    expect(Array.from(await run(p, 11, 0))).toEqual(Array.from(base));
    const both = (a: Float32Array, b: Float32Array, shift = 0) => {
      let n = 0;
      for (let i = 0; i + shift < N; i++) if (a[i] !== 0 && b[i + shift] !== 0) n++;
      return n / (N - shift);
    };
    // Kept in both: (1 - p)^2 for independent masks, within four standard deviations.
    const bar = 4 * Math.sqrt(0.25 * 0.75 / N);
    for (const [what, other] of [['next step', await run(p, 11, 1)], ['next seed', await run(p, 12, 0)]] as const) {
      expect(Math.abs(both(base, other) - 0.25), what).toBeLessThan(bar);
    }
    expect(Math.abs(both(base, base, 1) - 0.25), 'neighbouring elements').toBeLessThan(bar);
  });

  it('backward applies the forward mask to the gradient, scaled', async () => {
    const shape = [3, 5, 7, 11];
    const size = 3 * 5 * 7 * 11;
    const x = tensor(xv.subarray(0, size), shape, { requiresGrad: true });
    const y = dropout(x, 0.3, { training: true, seed: 5, step: 9 });
    const dy = randomArray(size, 4);
    y.backward(tensor(dy, shape));
    const yv = await y.toArray();
    const dx = await x.grad!.toArray();
    expect(yv.some((v) => v === 0)).toBe(true);
    dx.forEach((g, i) => {
      const want = yv[i] === 0 ? 0 : Math.fround(dy[i] / Math.fround(0.7));
      if (g !== want) throw new Error(`dx[${i}] = ${g}, want ${want}`);
    });
  });

  it('is the identity in evaluation, keeps everything at p = 0 and drops everything at p = 1', async () => {
    const x = tensor(xv.subarray(0, 1000), [1000], { requiresGrad: true });
    expect(dropout(x, 0.5, { training: false, seed: 1 })).toBe(x);
    expect(Array.from(await dropout(x, 0, { training: true, seed: 1 }).toArray())).toEqual(Array.from(xv.subarray(0, 1000)));
    expect((await dropout(x, 1, { training: true, seed: 1 }).toArray()).every((v) => v === 0)).toBe(true);
    expect(noGrad(() => dropout(x, 0.5, { training: true, seed: 1 })).node).toBeNull();
  });

  it('rejects bad input naming the op', () => {
    const x = tensor(new Float32Array(4), [2, 2]);
    expect(() => dropout(x, 1.5, { training: true, seed: 0 })).toThrow('dropout: probability must be in [0, 1], got 1.5 (x [2,2])');
    expect(() => dropout(x, 0.5, { training: true, seed: -1 })).toThrow('dropout: seed must be an integer in [0, 2^32), got -1');
    expect(() => dropout(x, 0.5, { training: true, seed: 0, step: 0.5 })).toThrow('dropout: step must be an integer in [0, 2^32), got 0.5');
    expect(() => dropout(tensor(new Int32Array(4), [4]), 0.5, { training: true, seed: 0 })).toThrow('dropout: needs an f32 tensor, got i32 [4]');
    expect(() => new nn.Dropout(-0.1)).toThrow('Dropout: probability must be in [0, 1], got -0.1');
  });

  it('nn.Dropout draws a new mask each training forward and follows train()/eval() of its parent', async () => {
    const layer = new nn.Dropout(0.5, { seed: 3 });
    const model = new nn.Sequential(new nn.ReLU(), layer);
    const x = tensor(xv.subarray(0, 4096), [4096]);
    const first = await model.call(x).toArray();
    const second = await model.call(x).toArray();
    expect(layer.step).toBe(2);
    expect(Array.from(first)).toEqual(Array.from(dropoutRef(xv.subarray(0, 4096), 0.5, 3, 0), Math.fround));
    expect(Array.from(second)).not.toEqual(Array.from(first));
    model.eval();
    expect(Array.from(await model.call(x).toArray())).toEqual(Array.from(xv.subarray(0, 4096)));
    expect(layer.step).toBe(2);
    expect(new nn.Dropout(0.5, { seed: 9 }).seed).toBe(9);
    // Without a seed, each layer draws its stream from the default generator.
    expect(new nn.Dropout(0.5).seed).not.toBe(new nn.Dropout(0.5).seed);
  });
});
