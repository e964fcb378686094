import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { conv2d, maxPool2d, memory, noGrad, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, useDevice } from './helpers.js';
import { conv2dBackwardRef, conv2dRef, convOutSize, type ConvOperands, type ConvShape } from './reference/conv.js';

useDevice();

interface Case {
  shape: ConvShape;
  bias?: boolean;
  mask?: boolean;
  relu?: boolean;
}

const shape = (n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, stride: [number, number] = [1, 1], padding: [number, number] = [0, 0]): ConvShape => ({
  n, c, h, w, o, kh, kw, strideH: stride[0], strideW: stride[1], padH: padding[0], padW: padding[1],
});

const name = (c: Case) => {
  const s = c.shape;
  return `x [${s.n},${s.c},${s.h},${s.w}] w [${s.o},${s.c},${s.kh},${s.kw}] stride ${s.strideH}x${s.strideW} pad ${s.padH}x${s.padW}${c.bias ? ' bias' : ''}${c.mask ? ' mask' : ''}${c.relu ? ' relu' : ''}`;
};

/** Seeded operands; the mask prunes about a third of the weights. */
function operands(c: Case, seed: number): { x: Float32Array; weight: Float32Array; bias: Float32Array | null; mask: Float32Array | null; grad: Float32Array } {
  const s = c.shape;
  const [oh, ow] = convOutSize(s);
  const wn = s.o * s.c * s.kh * s.kw;
  return {
    x: randomArray(s.n * s.c * s.h * s.w, seed),
    weight: randomArray(wn, seed + 1),
    bias: c.bias ? randomArray(s.o, seed + 2) : null,
    mask: c.mask ? Float32Array.from(randomArray(wn, seed + 3), (v) => (v < -0.33 ? 0 : 1)) : null,
    grad: randomArray(s.n * s.o * oh * ow, seed + 4),
  };
}

const asOperands = (o: ReturnType<typeof operands>, relu?: boolean): ConvOperands => ({ x: o.x, weight: o.weight, bias: o.bias, mask: o.mask, relu });

// Odd sizes: batch 1 and 33, planes 13 and 17, kernels 5, 3 and non-square, strides 1, 2 and non-square,
// padding 0, 1, 2 and non-square, channel counts that split into uneven blocks.
const CASES: Case[] = [
  { shape: shape(1, 3, 13, 13, 5, 5, 5) },
  { shape: shape(33, 3, 17, 17, 6, 3, 3, [2, 2], [1, 1]), bias: true, relu: true },
  { shape: shape(2, 4, 13, 17, 7, 3, 5, [2, 1], [2, 1]), mask: true, bias: true },
  { shape: shape(3, 2, 13, 13, 9, 5, 5, [1, 1], [2, 2]), mask: true, relu: true },
  { shape: shape(2, 11, 9, 10, 3, 3, 2, [1, 3], [1, 0]), bias: true, mask: true, relu: true },
  { shape: shape(1, 2, 7, 5, 17, 1, 1) },
];

const LENET: Case[] = [
  { shape: shape(1, 3, 64, 64, 6, 5, 5), bias: true, relu: true, mask: true },
  { shape: shape(33, 3, 64, 64, 6, 5, 5), bias: true, relu: true },
  { shape: shape(1, 6, 30, 30, 16, 5, 5), bias: true, relu: true },
  { shape: shape(33, 6, 30, 30, 16, 5, 5), bias: true, relu: true, mask: true },
];

function gpuBuffer(data: Float32Array): GPUBuffer {
  const { runner } = runtime();
  const b = runner.createBuffer(Math.max(data.byteLength, 4), k.BufferUsage.STORAGE | k.BufferUsage.COPY_SRC | k.BufferUsage.COPY_DST, 'conv test');
  if (data.length) runner.write(b, 0, data);
  return b;
}

async function readBuffer(b: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await runtime().runner.read(b, 0, n * 4));
}

describe('conv2d reference', () => {
  it('backward matches central finite differences', () => {
    const cases: Case[] = [
      { shape: shape(2, 2, 5, 6, 3, 3, 2, [2, 1], [1, 0]), bias: true, mask: true },
      { shape: shape(1, 3, 6, 5, 2, 2, 3, [1, 2], [0, 1]), bias: true, relu: true },
    ];
    for (const c of cases) {
      const o = operands(c, 7);
      const x = Float64Array.from(o.x);
      const weight = Float64Array.from(o.weight);
      const bias = Float64Array.from(o.bias!);
      const loss = () => conv2dRef(c.shape, { x, weight, bias, mask: o.mask, relu: c.relu }).reduce((sum, v, i) => sum + v * o.grad[i], 0);
      const ref = conv2dBackwardRef(c.shape, { x, weight, bias, mask: o.mask, relu: c.relu }, o.grad);
      const dw = numericGrad(loss, weight);
      if (o.mask) dw.forEach((_, i) => (dw[i] *= o.mask![i]));
      expectClose(ref.dx, numericGrad(loss, x), `dx ${name(c)}`, 1e-6, 1e-6);
      expectClose(ref.dw, dw, `dw ${name(c)}`, 1e-6, 1e-6);
      expectClose(ref.db, numericGrad(loss, bias), `db ${name(c)}`, 1e-6, 1e-6);
    }
  });
});

describe('conv2d kernels', () => {
  async function checkKernels(c: Case, seed: number, variants: readonly k.Conv2dForwardVariant[]): Promise<void> {
    const { runner } = runtime();
    const s = c.shape;
    const [oh, ow] = convOutSize(s);
    const o = operands(c, seed);
    const ref = conv2dRef(s, asOperands(o, c.relu));
    const grads = conv2dBackwardRef(s, asOperands(o), o.grad);
    // The forward and input-gradient kernels take the weight already masked.
    const maskedWeight = Float32Array.from(o.weight, (v, i) => (o.mask ? v * o.mask[i] : v));
    const [x, w, wm, g] = [o.x, o.weight, maskedWeight, o.grad].map(gpuBuffer);
    const bias = o.bias && gpuBuffer(o.bias);
    const mask = o.mask && gpuBuffer(o.mask);
    const out = gpuBuffer(new Float32Array(s.n * s.o * oh * ow));
    for (const variant of variants) {
      k.conv2dForwardVariant(runner, variant, x, wm, out, s, { bias, relu: c.relu });
      expectClose(await readBuffer(out, ref.length), ref, `forward ${variant} ${name(c)}`);
    }
    const dx = gpuBuffer(new Float32Array(o.x.length));
    k.conv2dBackwardInput(runner, g, wm, dx, s);
    expectClose(await readBuffer(dx, o.x.length), grads.dx, `backward input ${name(c)}`);
    const dw = gpuBuffer(new Float32Array(o.weight.length));
    const partials = gpuBuffer(new Float32Array(k.conv2dBackwardWeightScratch(s)));
    k.conv2dBackwardWeight(runner, x, g, dw, partials, s, { mask });
    const gotDw = await readBuffer(dw, o.weight.length);
    expectClose(gotDw, grads.dw, `backward weight ${name(c)}`);
    if (o.mask) o.mask.forEach((m, i) => m === 0 && expect(Object.is(gotDw[i], 0), `pruned weight ${i} gets exactly 0`).toBe(true));
    for (const b of [x, w, wm, g, out, dx, dw, partials, bias, mask]) b?.destroy();
  }

  // One test per shape: the register kernels are specialised per shape (block sizes, kernel width, strides), so
  // each case compiles its own pipelines (about 1.5 s each on a cold lavapipe cache).
  for (const [i, c] of CASES.entries()) {
    it(`every variant and both backward kernels match the reference: ${name(c)}`, async () => {
      await checkKernels(c, 100 + 10 * i, k.CONV2D_FORWARD_VARIANTS);
    });
  }

  for (const [i, c] of LENET.entries()) {
    it(`match the reference on a LeNet shape: ${name(c)}`, async () => {
      await checkKernels(c, 200 + 10 * i, ['register']);
    });
  }

  it('fold grids beyond 65,535 workgroups (direct forward at batch 256 of LeNet conv1)', async () => {
    const { runner } = runtime();
    const s = shape(256, 3, 64, 64, 6, 5, 5);
    const [oh, ow] = convOutSize(s);
    const outputs = s.n * s.o * oh * ow;
    expect(k.foldGrid(Math.ceil(outputs / 64))[1]).toBeGreaterThan(1);
    const xv = randomArray(s.n * s.c * s.h * s.w, 300);
    const wv = randomArray(s.o * s.c * s.kh * s.kw, 301);
    const bv = randomArray(s.o, 302);
    const [x, w, b] = [xv, wv, bv].map(gpuBuffer);
    const out = gpuBuffer(new Float32Array(outputs));
    const got = new Float32Array(outputs);
    for (const variant of k.CONV2D_FORWARD_VARIANTS) {
      k.conv2dForwardVariant(runner, variant, x, w, out, s, { bias: b, relu: true });
      got.set(await readBuffer(out, outputs));
      // Images at both ends of the batch: the last one lives in the folded part of the grid.
      const plane = s.c * s.h * s.w;
      const image = s.o * oh * ow;
      for (const n of [0, 137, s.n - 1]) {
        const ref = conv2dRef({ ...s, n: 1 }, { x: xv.subarray(n * plane, (n + 1) * plane), weight: wv, bias: bv, relu: true });
        expectClose(got.subarray(n * image, (n + 1) * image), ref, `${variant} image ${n}`);
      }
    }
    for (const buffer of [x, w, b, out]) buffer.destroy();
  });
});

describe('conv2d op', () => {
  async function checkOp(c: Case, seed: number): Promise<void> {
    const s = c.shape;
    const o = operands(c, seed);
    const x = tensor(o.x, [s.n, s.c, s.h, s.w], { requiresGrad: true });
    const w = tensor(o.weight, [s.o, s.c, s.kh, s.kw], { requiresGrad: true });
    const b = o.bias ? tensor(o.bias, [s.o], { requiresGrad: true }) : null;
    const mask = o.mask ? tensor(o.mask, [s.o, s.c, s.kh, s.kw]) : null;
    const y = conv2d(x, w, b, { stride: [s.strideH, s.strideW], padding: [s.padH, s.padW], mask, activation: c.relu ? 'relu' : undefined });
    const [oh, ow] = convOutSize(s);
    expect(y.shape).toEqual([s.n, s.o, oh, ow]);
    expectClose(await y.toArray(), conv2dRef(s, asOperands(o, c.relu)), `op forward ${name(c)}`);
    y.backward(tensor(o.grad, y.shape));
    const ref = conv2dBackwardRef(s, asOperands(o, c.relu), o.grad);
    expectClose(await x.grad!.toArray(), ref.dx, `op dx ${name(c)}`);
    const dw = await w.grad!.toArray();
    expectClose(dw, ref.dw, `op dw ${name(c)}`);
    if (o.mask) o.mask.forEach((m, i) => m === 0 && expect(Object.is(dw[i], 0), `pruned weight ${i} gets exactly 0`).toBe(true));
    if (b) expectClose(await b.grad!.toArray(), ref.db, `op db ${name(c)}`);
    for (const t of [x, w, b, mask, y] as (Tensor | null)[]) {
      t?.grad?.dispose();
      t?.dispose();
    }
  }

  // The kernels' shapes again (their pipelines are compiled already): with and without bias, mask and ReLU.
  for (const [i, c] of CASES.slice(1, 5).entries()) {
    it(`forward and gradients for x, weight and bias match the reference: ${name(c)}`, async () => {
      await checkOp(c, 400 + 10 * i);
    });
  }

  it('LeNet shapes at batch 1 and 33', async () => {
    for (const [i, c] of LENET.entries()) await checkOp(c, 500 + 10 * i);
  });

  it('runs every forward variant when forced, and tunes between them', async () => {
    const { runner } = runtime();
    const c: Case = { shape: shape(2, 3, 13, 13, 5, 3, 3, [1, 1], [1, 1]), bias: true, relu: true };
    const o = operands(c, 600);
    const ref = conv2dRef(c.shape, asOperands(o, true));
    const x = tensor(o.x, [2, 3, 13, 13]);
    const w = tensor(o.weight, [5, 3, 3, 3]);
    const b = tensor(o.bias!, [5]);
    try {
      for (const variant of k.CONV2D_FORWARD_VARIANTS) {
        runner.tuner.force({ conv2d: variant });
        expectClose(await conv2d(x, w, b, { padding: 1, activation: 'relu' }).toArray(), ref, `forced ${variant}`);
      }
    } finally {
      runner.tuner.force({});
    }
    conv2d(x, w, b, { padding: 1, activation: 'relu' });
    const report = await runner.tuner.tunePending();
    expect(Object.keys([...report.values()][0] ?? {}).sort()).toEqual([...k.CONV2D_FORWARD_VARIANTS].sort());
    expectClose(await conv2d(x, w, b, { padding: 1, activation: 'relu' }).toArray(), ref, 'tuned');
  });

  // Shapes of the kernel tests (stride 1: pooling follows the layers that have it), pools of 2 and 3.
  const POOLED: [Case, number][] = [[CASES[3], 2], [LENET[2], 2], [CASES[0], 3]];
  for (const [i, [c, pool]] of POOLED.entries()) {
    it(`with maxPool ${pool}, gives exactly maxPool2d of its output and the same gradients (ReLU gated in the unpooling): ${name(c)}`, async () => {
      const s = c.shape;
      const o = operands(c, 900 + i);
      const grads = async (fused: boolean) => {
        const x = tensor(o.x, [s.n, s.c, s.h, s.w], { requiresGrad: true });
        const w = tensor(o.weight, [s.o, s.c, s.kh, s.kw], { requiresGrad: true });
        const b = o.bias ? tensor(o.bias, [s.o], { requiresGrad: true }) : null;
        const mask = o.mask ? tensor(o.mask, [s.o, s.c, s.kh, s.kw]) : null;
        const options = { padding: [s.padH, s.padW] as [number, number], mask, activation: c.relu ? ('relu' as const) : undefined };
        const y = fused ? conv2d(x, w, b, { ...options, maxPool: pool }) : maxPool2d(conv2d(x, w, b, options), pool);
        y.backward(tensor(randomArray(y.size, 950 + i), y.shape));
        return { shape: y.shape, y: await y.toArray(), dx: await x.grad!.toArray(), dw: await w.grad!.toArray(), db: b ? await b.grad!.toArray() : [] };
      };
      const [fused, composed] = [await grads(true), await grads(false)];
      for (const key of ['shape', 'y', 'dx', 'dw', 'db'] as const) expect(Array.from(fused[key] as ArrayLike<number>), `${key} ${name(c)} pool ${pool}`).toEqual(Array.from(composed[key] as ArrayLike<number>));
      expect(fused.dx.some((v) => v !== 0)).toBe(true);
    });
  }

  it('with maxPool, refuses a pool larger than the output plane', () => {
    const x = tensor(new Float32Array(2 * 3 * 6 * 6), [2, 3, 6, 6]);
    expect(() => conv2d(x, tensor(new Float32Array(4 * 3 * 5 * 5), [4, 3, 5, 5]), null, { maxPool: 3 })).toThrow(/conv2d maxPool: kernel larger than the input plane 2x2/);
  });

  it('skips the input gradient when x does not require it', async () => {
    const x = tensor(randomArray(2 * 3 * 8 * 8, 700), [2, 3, 8, 8]);
    const w = tensor(randomArray(4 * 3 * 3 * 3, 701), [4, 3, 3, 3], { requiresGrad: true });
    conv2d(x, w).backward(tensor(randomArray(2 * 4 * 6 * 6, 702), [2, 4, 6, 6]));
    expect(x.grad).toBeNull();
    expect(w.grad!.shape).toEqual([4, 3, 3, 3]);
  });

  it('frees the masked weight when no gradient needs it', async () => {
    const x = tensor(randomArray(2 * 3 * 8 * 8, 800), [2, 3, 8, 8]);
    const w = tensor(randomArray(4 * 3 * 3 * 3, 801), [4, 3, 3, 3], { requiresGrad: true });
    const mask = tensor(new Float32Array(4 * 3 * 3 * 3).fill(1), [4, 3, 3, 3]);
    const before = memory().liveBuffers;
    for (const run of [() => noGrad(() => conv2d(x, w, null, { mask })), () => conv2d(x, w, null, { mask })]) {
      const y = run();
      await y.toArray();
      y.dispose();
      expect(memory().liveBuffers).toBe(before);
    }
  });

  it('rejects bad operands with errors that name the op and the shapes', () => {
    const x = tensor(new Float32Array(2 * 4 * 8 * 8), [2, 4, 8, 8]);
    const w = tensor(new Float32Array(6 * 3 * 5 * 5), [6, 3, 5, 5]);
    expect(() => conv2d(x, w)).toThrow('conv2d: input [2,4,8,8] has 4 channels, weight [6,3,5,5] expects 3');
    expect(() => conv2d(tensor(new Float32Array(4 * 8 * 8), [4, 8, 8]), w)).toThrow(/conv2d: input must be \[N,C,H,W\], got \[4,8,8\]/);
    expect(() => conv2d(x, tensor(new Float32Array(6 * 4 * 5), [6, 4, 5]))).toThrow(/conv2d: weight must be \[out,in,kh,kw\], got \[6,4,5\]/);
    const w4 = tensor(new Float32Array(6 * 4 * 5 * 5), [6, 4, 5, 5]);
    expect(() => conv2d(tensor(new Float32Array(2 * 4 * 3 * 3), [2, 4, 3, 3]), w4)).toThrow(/conv2d: kernel 5x5 is larger than the padded input 3x3/);
    expect(() => conv2d(tensor(new Float32Array(2 * 4 * 3 * 3), [2, 4, 3, 3]), w4, null, { padding: 1 })).not.toThrow();
    expect(() => conv2d(tensor(new Int32Array(2 * 4 * 8 * 8), [2, 4, 8, 8], { dtype: 'i32' }), w4)).toThrow(/conv2d: input must be f32, got i32/);
    expect(() => conv2d(x, w4, tensor(new Float32Array(5), [5]))).toThrow(/conv2d: bias \[5\] does not match 6 output channels/);
    expect(() => conv2d(x, w4, null, { mask: tensor(new Float32Array(6 * 4 * 5), [6, 4, 5, 1]) })).toThrow(/conv2d: mask \[6,4,5,1\] does not match weight \[6,4,5,5\]/);
    expect(() => conv2d(x, w4, null, { stride: 0 })).toThrow(/conv2d: stride must be positive integers/);
    expect(() => conv2d(x, w4, null, { padding: [1, -1] })).toThrow(/conv2d: padding must be non-negative integers/);
  });
});
