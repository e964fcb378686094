import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { conv2d, noGrad, packSparseConv2d, sparseConv2d, sparseConv2dWeight, tensor, runtime, SPARSE_VARIANTS } from '@sparsenet/tensor';
import { expectClose, randomArray, useDevice } from './helpers.js';
import { conv2dRef, type ConvShape } from './reference/conv.js';
import { freedAfterEachTest, sparseMask } from './sparse-masks.js';

useDevice();

const keep = freedAfterEachTest();

const shape = (n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, stride: [number, number] = [1, 1], padding: [number, number] = [0, 0]): ConvShape => ({
  n, c, h, w, o, kh, kw, strideH: stride[0], strideW: stride[1], padH: padding[0], padW: padding[1],
});

// Odd planes, batch 1 and 33, strides and paddings (the padded program), rows whose width is not a multiple of
// the pixels per lane, LeNet's conv1 and conv2.
const SHAPES: ConvShape[] = [
  shape(1, 3, 13, 13, 5, 5, 5),
  shape(33, 3, 17, 17, 6, 3, 3, [2, 2], [1, 1]),
  shape(2, 4, 13, 17, 7, 3, 5, [2, 1], [2, 1]),
  shape(2, 11, 9, 10, 3, 3, 2, [1, 3], [1, 0]),
  shape(1, 3, 64, 64, 6, 5, 5),
  shape(2, 6, 30, 30, 16, 5, 5),
];
const SPARSITIES = [0, 0.5, 0.95, 1];
/** The sparse kernel at every sparsity, with and without bias and ReLU; the dense variant once per shape. */
const VARIANT_CASES = [
  ...SPARSITIES.flatMap((sparsity) => [false, true].map((on) => ({ variant: 'sparse', sparsity, bias: on, relu: on }))),
  { variant: 'dense', sparsity: 0.5, bias: true, relu: true },
] as const;

const describeShape = (s: ConvShape) => `x [${s.n},${s.c},${s.h},${s.w}] w [${s.o},${s.c},${s.kh},${s.kw}] stride ${s.strideH}x${s.strideW} pad ${s.padH}x${s.padW}`;

describe('packConv2dTaps', () => {
  it('keeps exactly the nonzero effective taps per output channel', () => {
    const dims = [4, 3, 5, 2] as const;
    const weight = randomArray(4 * 3 * 5 * 2, 1);
    weight[7] = 0;
    const mask = sparseMask(weight.length, 0.5, 2);
    const { tapStart, taps, nonzeros } = k.packConv2dTaps(weight, dims, mask);
    const dense = new Float32Array(weight.length);
    const f32 = new Float32Array(taps.buffer);
    for (let o = 0; o < 4; o++) {
      for (let t = tapStart[o]; t < tapStart[o + 1]; t++) {
        const packed = taps[2 * t];
        dense[((o * 3 + (packed >>> 16)) * 5 + ((packed >>> 8) & 255)) * 2 + (packed & 255)] = f32[2 * t + 1];
      }
    }
    expect(Array.from(dense)).toEqual(Array.from(weight, (w, i) => (mask[i] ? w : 0)));
    expect(nonzeros).toBe(tapStart[4]);
  });
});

describe('sparseConv2d (tap-list kernel) against the dense reference', () => {
  for (const s of SHAPES) {
    for (const { variant, sparsity, bias, relu } of VARIANT_CASES) {
      it(`[${variant}] ${describeShape(s)} sparsity ${sparsity}${bias ? ' bias' : ''}${relu ? ' relu' : ''}`, async () => {
        runtime().runner.tuner.force({ sparse_conv2d: variant });
        const seed = s.n * 31 + s.c * 7 + s.o + sparsity * 100;
        const x = randomArray(s.n * s.c * s.h * s.w, seed);
        const weight = randomArray(s.o * s.c * s.kh * s.kw, seed + 1);
        const mask = sparseMask(weight.length, sparsity, seed + 2);
        const b = bias ? randomArray(s.o, seed + 3) : null;
        const sparse = sparseConv2dWeight(weight, [s.o, s.c, s.kh, s.kw], mask);
        try {
          const out = keep(noGrad(() => sparseConv2d(keep(tensor(x, [s.n, s.c, s.h, s.w])), sparse, b ? keep(tensor(b)) : null, {
            stride: [s.strideH, s.strideW], padding: [s.padH, s.padW], activation: relu ? 'relu' : undefined,
          })));
          expectClose(await out.toArray(), conv2dRef(s, { x, weight, mask, bias: b, relu }), 'sparseConv2d');
        } finally {
          sparse.dispose();
        }
      });
    }
  }

  it('lets the tuner measure both representations and runs the one it picks', async () => {
    const s = shape(4, 6, 30, 30, 16, 5, 5);
    const x = randomArray(s.n * s.c * s.h * s.w, 11);
    const weight = randomArray(16 * 6 * 25, 12);
    const mask = sparseMask(weight.length, 0.95, 13);
    const sparse = sparseConv2dWeight(weight, [16, 6, 5, 5], mask);
    try {
      const xt = keep(tensor(x, [s.n, s.c, s.h, s.w]));
      keep(noGrad(() => sparseConv2d(xt, sparse)));
      await runtime().runner.tuner.tunePending();
      const choice = runtime().runner.tuner.export()[`sparse_conv2d:${k.conv2dShapeKey(s)}:nnz${sparse.nonzeros}`]?.variant;
      expect(SPARSE_VARIANTS).toContain(choice);
      const out = keep(noGrad(() => sparseConv2d(xt, sparse)));
      expectClose(await out.toArray(), conv2dRef(s, { x, weight, mask }), `sparseConv2d after tuning (${choice})`);
    } finally {
      sparse.dispose();
    }
  });

  it('matches the dense masked conv2d op on the same tensors (packSparseConv2d reads them back)', async () => {
    const s = shape(33, 6, 30, 30, 16, 5, 5);
    const x = keep(tensor(randomArray(s.n * s.c * s.h * s.w, 5), [s.n, s.c, s.h, s.w]));
    const weight = keep(tensor(randomArray(16 * 6 * 25, 6), [16, 6, 5, 5]));
    const mask = keep(tensor(sparseMask(16 * 6 * 25, 0.9, 7), [16, 6, 5, 5]));
    const bias = keep(tensor(randomArray(16, 8)));
    const sparse = await packSparseConv2d(weight, mask);
    try {
      const dense = keep(noGrad(() => conv2d(x, weight, bias, { mask, activation: 'relu' })));
      const got = keep(noGrad(() => sparseConv2d(x, sparse, bias, { activation: 'relu' })));
      expect(got.shape).toEqual(dense.shape);
      expectClose(await got.toArray(), await dense.toArray(), 'sparse vs dense op');
    } finally {
      sparse.dispose();
    }
  });
});

describe('sparseConv2d errors', () => {
  it('names the op and the shapes', () => {
    const w = sparseConv2dWeight(randomArray(6 * 3 * 25, 1), [6, 3, 5, 5]);
    try {
      expect(() => sparseConv2d(keep(tensor(new Float32Array(2 * 4 * 64), [2, 4, 8, 8])), w)).toThrow('sparseConv2d: input [2,4,8,8] has 4 channels, weight [6,3,5,5] expects 3');
      expect(() => sparseConv2d(keep(tensor(new Float32Array(3 * 9), [1, 3, 3, 3])), w)).toThrow(/kernel 5x5 is larger than the padded input 3x3/);
      expect(() => sparseConv2d(keep(tensor(new Float32Array(3 * 64), [1, 3, 8, 8], { requiresGrad: true })), w)).toThrow(/sparseConv2d: inference only/);
    } finally {
      w.dispose();
    }
  });
});
