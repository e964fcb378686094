import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { empty, maxPool2d, noGrad, runtime, tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, rng, useDevice } from './helpers.js';
import { maxPool2dBackwardRef, maxPool2dRef, outSize, type PoolShape } from './reference/pool.js';

useDevice();

function geometry(s: PoolShape): k.Pool2dGeometry {
  const [outHeight, outWidth] = outSize(s);
  return { planes: s.n * s.c, height: s.h, width: s.w, kernelH: s.kh, kernelW: s.kw, strideH: s.sh, strideW: s.sw, outHeight, outWidth };
}

/** The kernel's output and argmax for x. */
async function runForward(x: Float32Array, s: PoolShape) {
  const g = geometry(s);
  const xt = tensor(x, [s.n, s.c, s.h, s.w]);
  const y = empty([g.planes * g.outHeight * g.outWidth]);
  const argmax = empty(y.shape, 'i32');
  k.maxPool2dForward(runtime().runner, xt.buffer, y.buffer, argmax.buffer, g);
  return { y: await y.toArray(), argmax: await argmax.toArray() };
}

// H, W = 13, 17 with kernels 2 and 3 and strides 1, 2 and 3: overlapping, tiling and gapped windows,
// with leftover rows and columns in floor mode.
const CASES: PoolShape[] = [];
for (const n of [1, 33]) {
  for (const kernel of [2, 3]) for (const stride of [1, 2, 3]) CASES.push({ n, c: 3, h: 13, w: 17, kh: kernel, kw: kernel, sh: stride, sw: stride });
  CASES.push({ n, c: 2, h: 13, w: 17, kh: 2, kw: 3, sh: 1, sw: 2 });
}
const label = (s: PoolShape) => `[${s.n},${s.c},${s.h},${s.w}] k=[${s.kh},${s.kw}] s=[${s.sh},${s.sw}]`;

describe('maxPool2d kernels', () => {
  it('forward values and argmax match the reference', async () => {
    for (const [ci, s] of CASES.entries()) {
      const x = randomArray(s.n * s.c * s.h * s.w, 100 + ci);
      const got = await runForward(x, s);
      const ref = maxPool2dRef(x, s);
      expect(Array.from(got.y), label(s)).toEqual(Array.from(ref.y));
      expect(Array.from(got.argmax), label(s)).toEqual(Array.from(ref.argmax));
    }
  });

  it('backward writes every element of dx (both variants), over garbage, matching the reference', async () => {
    for (const [ci, s] of CASES.entries()) {
      const x = randomArray(s.n * s.c * s.h * s.w, 400 + ci);
      const ref = maxPool2dRef(x, s);
      const dy = randomArray(ref.y.length, 500 + ci);
      const dx = tensor(new Float32Array(x.length).fill(NaN), [x.length]);
      k.maxPool2dBackward(runtime().runner, tensor(dy, [dy.length]).buffer, tensor(ref.argmax, [dy.length]).buffer, dx.buffer, geometry(s));
      expectClose(await dx.toArray(), maxPool2dBackwardRef(dy, ref.argmax, s), `dx ${label(s)}`);
    }
  });

  it("backward through a ReLU (given the pooled ReLU output) equals the ReLU's gate after the plain backward", async () => {
    for (const [ci, s] of CASES.entries()) {
      // A ReLU's output, mostly zeros, so that many windows tie at 0 and pass no gradient.
      const x = randomArray(s.n * s.c * s.h * s.w, 450 + ci).map((v) => Math.max(v - 0.6, 0));
      const ref = maxPool2dRef(x, s);
      const dy = randomArray(ref.y.length, 550 + ci);
      const want = maxPool2dBackwardRef(dy, ref.argmax, s).map((g, i) => (x[i] > 0 ? g : 0));
      const dx = tensor(new Float32Array(x.length).fill(NaN), [x.length]);
      const t = (a: Float32Array | Int32Array) => tensor(a, [a.length]).buffer;
      k.maxPool2dBackward(runtime().runner, t(dy), t(ref.argmax), dx.buffer, geometry(s), t(ref.y));
      const got = await dx.toArray();
      expectClose(got, want, `relu dx ${label(s)}`);
      const plain = maxPool2dBackwardRef(dy, ref.argmax, s);
      const gated = want.map((v, i) => v === 0 && plain[i] !== 0);
      expect(gated.some(Boolean), 'some gradient is gated').toBe(true);
      gated.forEach((g, i) => g && expect(got[i], `gated dx[${i}] ${label(s)}`).toBe(0));
    }
  });

  it('ties go to the first maximum in row-major window order; NaN wins', async () => {
    const s: PoolShape = { n: 2, c: 3, h: 13, w: 17, kh: 3, kw: 3, sh: 2, sw: 2 };
    const r = rng(7);
    // Values from {-1, 0, 1} make ties in most windows; a few NaNs test PyTorch's NaN propagation.
    const x = Float32Array.from({ length: s.n * s.c * s.h * s.w }, () => (r() < 0.02 ? NaN : Math.floor(r() * 3) - 1));
    const got = await runForward(x, s);
    const ref = maxPool2dRef(x, s);
    expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
    expect(Array.from(got.y)).toEqual(Array.from(ref.y));
    expect(ref.y.some(Number.isNaN)).toBe(true);
  });
});

describe('maxPool2d op', () => {
  it('forward and GPU backward match the reference (ties included)', async () => {
    for (const [ci, s] of CASES.entries()) {
      const size = s.n * s.c * s.h * s.w;
      // Odd cases take integer values, so ties exercise the argmax used by backward.
      const xv = ci % 2 ? randomArray(size, 200 + ci).map((v) => Math.round(4 * v)) : randomArray(size, 200 + ci);
      const x = tensor(xv, [s.n, s.c, s.h, s.w], { requiresGrad: true });
      const y = maxPool2d(x, [s.kh, s.kw], [s.sh, s.sw]);
      const [oh, ow] = outSize(s);
      expect(y.shape).toEqual([s.n, s.c, oh, ow]);
      const ref = maxPool2dRef(xv, s);
      expect(Array.from(await y.toArray()), label(s)).toEqual(Array.from(ref.y));
      const dy = randomArray(y.size, 300 + ci);
      y.backward(tensor(dy, y.shape));
      expectClose(await x.grad!.toArray(), maxPool2dBackwardRef(dy, ref.argmax, s), `dx ${label(s)}`);
    }
  });

  it('takes an int kernel size, stride defaulting to it', async () => {
    const xv = randomArray(2 * 3 * 13 * 17, 5);
    const y = maxPool2d(tensor(xv, [2, 3, 13, 17]), 2);
    expect(y.shape).toEqual([2, 3, 6, 8]);
    expect(Array.from(await y.toArray())).toEqual(Array.from(maxPool2dRef(xv, { n: 2, c: 3, h: 13, w: 17, kh: 2, kw: 2, sh: 2, sw: 2 }).y));
  });

  it('records nothing and needs no argmax without gradients', async () => {
    const xv = randomArray(3 * 13 * 17, 6);
    const x = tensor(xv, [1, 3, 13, 17], { requiresGrad: true });
    const y = noGrad(() => maxPool2d(x, 3, 2));
    expect(y.node).toBeNull();
    expect(Array.from(await y.toArray())).toEqual(Array.from(maxPool2dRef(xv, { n: 1, c: 3, h: 13, w: 17, kh: 3, kw: 3, sh: 2, sw: 2 }).y));
  });

  it('rejects bad input naming the op and shapes', () => {
    expect(() => maxPool2d(tensor(new Float32Array(12), [3, 4]), 2)).toThrow('maxPool2d: needs an f32 [N,C,H,W] tensor, got f32 [3,4]');
    expect(() => maxPool2d(tensor(new Int32Array(16), [1, 1, 4, 4]), 2)).toThrow(/maxPool2d: needs an f32 .* got i32 \[1,1,4,4\]/);
    expect(() => maxPool2d(tensor(new Float32Array(10), [1, 1, 2, 5]), 3)).toThrow('maxPool2d: kernel larger than the input plane 2x5 (x [1,1,2,5], kernel [3,3], stride [3,3])');
    expect(() => maxPool2d(tensor(new Float32Array(16), [1, 1, 4, 4]), [2, 0])).toThrow(/maxPool2d: kernel size and stride must be positive integers \(x \[1,1,4,4\], kernel \[2,0\]/);
    expect(() => maxPool2d(tensor(new Float32Array(16), [1, 1, 4, 4]), 2, 1.5)).toThrow(/positive integers/);
  });
});

describe('maxPool2d reference backward', () => {
  it('matches central finite differences away from ties', () => {
    for (const s of [
      { n: 1, c: 2, h: 5, w: 7, kh: 3, kw: 3, sh: 2, sw: 2 },
      { n: 2, c: 1, h: 6, w: 5, kh: 2, kw: 2, sh: 2, sw: 2 },
      { n: 1, c: 1, h: 7, w: 6, kh: 3, kw: 2, sh: 1, sw: 3 },
    ] satisfies PoolShape[]) {
      const size = s.n * s.c * s.h * s.w;
      // Distinct values 0.1 apart: a perturbation of 1e-6 never changes a window's winner.
      const order = Array.from({ length: size }, (_, i) => i);
      const r = rng(size);
      for (let i = size - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const x = Float64Array.from(order, (v) => 0.1 * v);
      const { y, argmax } = maxPool2dRef(x, s);
      const dy = randomArray(y.length, 9);
      const f = (v: Float64Array) => maxPool2dRef(v, s).y.reduce((acc, yi, i) => acc + yi * dy[i], 0);
      expectClose(maxPool2dBackwardRef(dy, argmax, s), numericGrad(f, x), label(s), 1e-6);
    }
  });
});
