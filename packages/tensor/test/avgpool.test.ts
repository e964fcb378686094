import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { adaptiveAvgPool2d, avgPool2d, empty, nn, noGrad, runtime, tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, useDevice } from './helpers.js';
import { avgPool2dBackwardRef, avgPool2dRef } from './reference/avgpool.js';
import { outSize, type PoolShape } from './reference/pool.js';

useDevice();

function geometry(s: PoolShape): k.Pool2dGeometry {
  const [outHeight, outWidth] = outSize(s);
  return { planes: s.n * s.c, height: s.h, width: s.w, kernelH: s.kh, kernelW: s.kw, strideH: s.sh, strideW: s.sw, outHeight, outWidth };
}

// As the max-pool tests: 13x17 planes, kernels 2 and 3, strides 1 (overlapping), 2 and 3 (gapped for kernel 2),
// a non-square window; plus global pooling (kernel = plane) at batch 1 and 33.
const CASES: PoolShape[] = [];
for (const n of [1, 33]) {
  for (const kernel of [2, 3]) for (const stride of [1, 2, 3]) CASES.push({ n, c: 3, h: 13, w: 17, kh: kernel, kw: kernel, sh: stride, sw: stride });
  CASES.push({ n, c: 2, h: 13, w: 17, kh: 2, kw: 3, sh: 1, sw: 2 });
  CASES.push({ n, c: 5, h: 7, w: 9, kh: 7, kw: 9, sh: 7, sw: 9 });
}
const label = (s: PoolShape) => `[${s.n},${s.c},${s.h},${s.w}] k=[${s.kh},${s.kw}] s=[${s.sh},${s.sw}]`;

describe('avgPool2d reference', () => {
  it('backward matches central finite differences', () => {
    for (const s of [
      { n: 1, c: 2, h: 5, w: 7, kh: 3, kw: 3, sh: 2, sw: 2 },
      { n: 2, c: 1, h: 6, w: 5, kh: 2, kw: 2, sh: 1, sw: 3 },
      { n: 1, c: 3, h: 4, w: 3, kh: 4, kw: 3, sh: 4, sw: 3 },
    ] satisfies PoolShape[]) {
      const x = Float64Array.from(randomArray(s.n * s.c * s.h * s.w, 1));
      const dy = randomArray(avgPool2dRef(x, s).length, 2);
      const f = (v: Float64Array) => avgPool2dRef(v, s).reduce((acc, yi, i) => acc + yi * dy[i], 0);
      expectClose(avgPool2dBackwardRef(dy, s), numericGrad(f, x), label(s), 1e-6, 1e-8);
    }
  });
});

describe('avgPool2d kernels', () => {
  it('forward and backward (over garbage) match the reference', async () => {
    const { runner } = runtime();
    for (const [ci, s] of CASES.entries()) {
      const x = randomArray(s.n * s.c * s.h * s.w, 100 + ci);
      const ref = avgPool2dRef(x, s);
      const y = empty([ref.length]);
      k.avgPool2dForward(runner, tensor(x, [x.length]).buffer, y.buffer, geometry(s));
      expectClose(await y.toArray(), ref, `y ${label(s)}`);
      const dy = randomArray(ref.length, 200 + ci);
      const dx = tensor(new Float32Array(x.length).fill(NaN), [x.length]);
      k.avgPool2dBackward(runner, tensor(dy, [dy.length]).buffer, dx.buffer, geometry(s));
      expectClose(await dx.toArray(), avgPool2dBackwardRef(dy, s), `dx ${label(s)}`);
    }
  });
});

describe('avgPool2d and adaptiveAvgPool2d ops', () => {
  it('forward and GPU backward match the reference', async () => {
    for (const [ci, s] of CASES.entries()) {
      const xv = randomArray(s.n * s.c * s.h * s.w, 300 + ci);
      const x = tensor(xv, [s.n, s.c, s.h, s.w], { requiresGrad: true });
      const y = avgPool2d(x, [s.kh, s.kw], [s.sh, s.sw]);
      expect(y.shape).toEqual([s.n, s.c, ...outSize(s)]);
      expectClose(await y.toArray(), avgPool2dRef(xv, s), `y ${label(s)}`);
      const dy = randomArray(y.size, 400 + ci);
      y.backward(tensor(dy, y.shape));
      expectClose(await x.grad!.toArray(), avgPool2dBackwardRef(dy, s), `dx ${label(s)}`);
    }
  });

  it('adaptiveAvgPool2d(x, 1) averages each plane to [N, C, 1, 1] and spreads the gradient evenly', async () => {
    for (const [n, c, h, w] of [[1, 3, 13, 17], [33, 5, 8, 8], [2, 4, 1, 1]]) {
      const s: PoolShape = { n, c, h, w, kh: h, kw: w, sh: h, sw: w };
      const xv = randomArray(n * c * h * w, n + c + h);
      const x = tensor(xv, [n, c, h, w], { requiresGrad: true });
      const y = adaptiveAvgPool2d(x, 1);
      expect(y.shape).toEqual([n, c, 1, 1]);
      expectClose(await y.toArray(), avgPool2dRef(xv, s), `y [${n},${c},${h},${w}]`);
      const dy = randomArray(n * c, 7);
      y.backward(tensor(dy, y.shape));
      expectClose(await x.grad!.toArray(), Float64Array.from({ length: xv.length }, (_, i) => dy[Math.floor(i / (h * w))] / (h * w)), `dx [${n},${c},${h},${w}]`);
    }
  });

  it('records nothing without gradients; nn.AvgPool2d and nn.AdaptiveAvgPool2d call the ops', async () => {
    const xv = randomArray(2 * 3 * 13 * 17, 5);
    const x = tensor(xv, [2, 3, 13, 17], { requiresGrad: true });
    expect(noGrad(() => avgPool2d(x, 3, 2)).node).toBeNull();
    const pooled = new nn.AvgPool2d(3, 2).call(x);
    expectClose(await pooled.toArray(), avgPool2dRef(xv, { n: 2, c: 3, h: 13, w: 17, kh: 3, kw: 3, sh: 2, sw: 2 }), 'nn.AvgPool2d(3, 2)');
    expect(new nn.AvgPool2d(2).stride).toEqual([2, 2]);
    const global = new nn.AdaptiveAvgPool2d(1).call(x);
    expectClose(await global.toArray(), avgPool2dRef(xv, { n: 2, c: 3, h: 13, w: 17, kh: 13, kw: 17, sh: 13, sw: 17 }), 'nn.AdaptiveAvgPool2d(1)');
  });

  it('rejects bad input naming the op and shapes', () => {
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    expect(() => avgPool2d(tensor(new Float32Array(12), [3, 4]), 2)).toThrow('avgPool2d: needs an f32 [N,C,H,W] tensor, got f32 [3,4]');
    expect(() => avgPool2d(x, 5)).toThrow('avgPool2d: kernel larger than the input plane 4x4 (x [1,1,4,4], kernel [5,5], stride [5,5])');
    expect(() => avgPool2d(x, 2, 0)).toThrow(/avgPool2d: kernel size and stride must be positive integers/);
    expect(() => adaptiveAvgPool2d(x, 2)).toThrow('adaptiveAvgPool2d: only output size 1 is supported, got 2 (x [1,1,4,4])');
    expect(() => adaptiveAvgPool2d(tensor(new Float32Array(4), [4]), 1)).toThrow('adaptiveAvgPool2d: needs an f32 [N,C,H,W] tensor, got f32 [4]');
    expect(() => new nn.AdaptiveAvgPool2d([1, 2])).toThrow('AdaptiveAvgPool2d: only output size 1 is supported, got [1,2]');
    expect(() => new nn.AvgPool2d(0)).toThrow('AvgPool2d: kernelSize must be integers >= 1, got 0');
  });
});
