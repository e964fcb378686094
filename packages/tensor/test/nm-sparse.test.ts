import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { conv2d, linear, nmConv2d, nmLinear, nmWeight, noGrad, packNmWeight, tensor } from '@sparsenet/tensor';
import { expectClose, randomArray, rng, useDevice } from './helpers.js';
import { conv2dRef, type ConvShape } from './reference/conv.js';
import { linearRef } from './reference/matmul.js';
import { freedAfterEachTest } from './sparse-masks.js';

useDevice();

const keep = freedAfterEachTest();

/** A seeded N:M mask [rows, cols]: N random positions of every M along cols; about a fifth of the groups keep one less. */
function nmMaskArray(rows: number, cols: number, { n, m }: k.NmPattern, seed: number): Float32Array {
  const r = rng(seed);
  const mask = new Float32Array(rows * cols);
  for (let g = 0; g < mask.length; g += m) {
    const order = Array.from({ length: m }, (_, i) => i).sort(() => r() - 0.5);
    const kept = r() < 0.2 ? n - 1 : n;
    for (let t = 0; t < kept; t++) mask[g + order[t]] = 1;
  }
  return mask;
}

describe('packNm', () => {
  it('packs 2:4 as ASP does: the kept values in column order and 2-bit positions, 16 per u32, from the low bits', () => {
    const weight = Float32Array.of(0, 1, 0, 2, 3, 0, 0, 4);
    const packed = k.packNm(weight, 1, 8, { n: 2, m: 4 });
    expect(Array.from(packed.values)).toEqual([1, 2, 3, 4]);
    expect(packed.indexBits).toBe(2);
    expect(Array.from(packed.indices)).toEqual([1 | (3 << 2) | (0 << 4) | (3 << 6)]);
  });

  it('round-trips the effective weight for 2:4, 1:4 and (4-bit indices) 3:8, rows spanning several u32 words', () => {
    for (const [pattern, rows, cols, bits] of [[{ n: 2, m: 4 }, 7, 44, 2], [{ n: 1, m: 4 }, 3, 136, 2], [{ n: 3, m: 8 }, 5, 48, 4]] as const) {
      const weight = randomArray(rows * cols, cols);
      const mask = nmMaskArray(rows, cols, pattern, cols + 1);
      const packed = k.packNm(weight, rows, cols, pattern, mask);
      const kept = (cols / pattern.m) * pattern.n;
      expect(packed.indexBits).toBe(bits);
      expect(packed.values.length).toBe(rows * kept);
      expect(packed.indices.length).toBe(rows * Math.ceil((kept * bits) / 32));
      expect(Array.from(k.unpackNm(packed))).toEqual(Array.from(weight, (w, i) => (mask[i] ? w : 0)));
    }
  });

  it('names the layer and the shapes when the mask is not N:M or M does not divide the input dimension', () => {
    const weight = randomArray(2 * 8, 3);
    const mask = Float32Array.of(1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0);
    expect(() => k.packNm(weight, 2, 8, { n: 2, m: 4 }, mask, "layer 'fc2'")).toThrow("packNm layer 'fc2' [2, 8]: not 2:4: row 0, columns 4..7 keep 3 nonzero weights");
    expect(() => k.packNm(randomArray(2 * 6, 4), 2, 6, { n: 2, m: 4 }, null, "layer 'fc3'")).toThrow("packNm layer 'fc3' [2, 6]: 2:4 needs the input dimension 6 to be a multiple of 4");
    expect(() => k.packNm(weight, 2, 8, { n: 4, m: 4 })).toThrow(/pattern 4:4 needs integers 1 <= N < M/);
    expect(() => nmWeight(weight, [2, 2, 2, 2], { n: 2, m: 4 }, mask, 'conv9')).toThrow("packNm layer 'conv9' [2,2,2,2] [2, 8]: not 2:4");
  });
});

/** [batch, in, out]: odd sizes, LeNet's fc1 and fc2 (fc1 at batch 1 and 33), and a batch past one row group (256 rows). */
const LINEAR_SHAPES: [number, number, number][] = [[1, 44, 29], [33, 2704, 120], [1, 2704, 120], [257, 120, 84]];

describe('nmLinear (matmul_nm) against the float64 reference', () => {
  for (const [batch, inF, outF] of LINEAR_SHAPES) {
    for (const on of [false, true]) {
      it(`x [${batch},${inF}] w [${outF},${inF}] 2:4${on ? ' bias relu' : ''}`, async () => {
        const seed = batch + inF + outF + (on ? 1 : 0);
        const x = randomArray(batch * inF, seed);
        const weight = randomArray(outF * inF, seed + 1);
        const mask = nmMaskArray(outF, inF, { n: 2, m: 4 }, seed + 2);
        const bias = on ? randomArray(outF, seed + 3) : null;
        const packed = nmWeight(weight, [outF, inF], { n: 2, m: 4 }, mask, 'fc');
        try {
          const out = keep(noGrad(() => nmLinear(keep(tensor(x, [batch, inF])), packed, bias ? keep(tensor(bias)) : null, { activation: on ? 'relu' : undefined })));
          expectClose(await out.toArray(), linearRef({ x, weight, mask, bias, relu: on, batch, inFeatures: inF, outFeatures: outF }), 'nmLinear');
        } finally {
          packed.dispose();
        }
      });
    }
  }

  it('matches the dense masked linear op on the same tensors (packNmWeight reads them back)', async () => {
    const [batch, inF, outF] = [33, 2704, 120];
    const x = keep(tensor(randomArray(batch * inF, 5), [batch, inF]));
    const weight = keep(tensor(randomArray(outF * inF, 6), [outF, inF]));
    const mask = keep(tensor(nmMaskArray(outF, inF, { n: 2, m: 4 }, 7), [outF, inF]));
    const bias = keep(tensor(randomArray(outF, 8)));
    const packed = await packNmWeight(weight, mask, { n: 2, m: 4 }, 'fc1');
    try {
      const dense = keep(noGrad(() => linear(x, weight, bias, { mask, activation: 'relu' })));
      const got = keep(noGrad(() => nmLinear(x, packed, bias, { activation: 'relu' })));
      expectClose(await got.toArray(), await dense.toArray(), 'N:M vs dense op');
    } finally {
      packed.dispose();
    }
  });
});

const convShape = (n: number, c: number, h: number, w: number, o: number, k3: number, stride: number, pad: number): ConvShape => ({
  n, c, h, w, o, kh: k3, kw: k3, strideH: stride, strideW: stride, padH: pad, padW: pad,
});

/** A ResNet 3x3 conv (padded) at odd sizes, strided, and unpadded (the other program). */
const CONV_SHAPES: ConvShape[] = [convShape(2, 8, 9, 7, 5, 3, 1, 1), convShape(3, 4, 11, 10, 6, 3, 2, 1), convShape(1, 4, 8, 9, 3, 3, 1, 0)];

describe('nmConv2d (conv2d_nm) against the float64 reference', () => {
  for (const s of CONV_SHAPES) {
    it(`x [${s.n},${s.c},${s.h},${s.w}] w [${s.o},${s.c},3,3] stride ${s.strideH} pad ${s.padH} 2:4 bias relu`, async () => {
      const seed = s.n * 100 + s.c * 10 + s.h;
      const x = randomArray(s.n * s.c * s.h * s.w, seed);
      const weight = randomArray(s.o * s.c * 9, seed + 1);
      const mask = nmMaskArray(s.o, s.c * 9, { n: 2, m: 4 }, seed + 2);
      const bias = randomArray(s.o, seed + 3);
      const packed = nmWeight(weight, [s.o, s.c, 3, 3], { n: 2, m: 4 }, mask, 'conv');
      try {
        const out = keep(noGrad(() => nmConv2d(keep(tensor(x, [s.n, s.c, s.h, s.w])), packed, keep(tensor(bias)), { stride: s.strideH, padding: s.padH, activation: 'relu' })));
        expectClose(await out.toArray(), conv2dRef(s, { x, weight, mask, bias, relu: true }), 'nmConv2d');
      } finally {
        packed.dispose();
      }
    });
  }

  it('matches the dense masked conv op on the same tensors', async () => {
    const s = CONV_SHAPES[0];
    const x = keep(tensor(randomArray(s.n * s.c * s.h * s.w, 9), [s.n, s.c, s.h, s.w]));
    const weight = keep(tensor(randomArray(s.o * s.c * 9, 10), [s.o, s.c, 3, 3]));
    const mask = keep(tensor(nmMaskArray(s.o, s.c * 9, { n: 2, m: 4 }, 11), [s.o, s.c, 3, 3]));
    const bias = keep(tensor(randomArray(s.o, 12)));
    const packed = await packNmWeight(weight, mask, { n: 2, m: 4 }, 'conv');
    try {
      const dense = keep(noGrad(() => conv2d(x, weight, bias, { padding: 1, mask, activation: 'relu' })));
      const got = keep(noGrad(() => nmConv2d(x, packed, bias, { padding: 1, activation: 'relu' })));
      expectClose(await got.toArray(), await dense.toArray(), 'N:M vs dense conv op');
    } finally {
      packed.dispose();
    }
  });
});

describe('N:M op errors', () => {
  it('name the op and the shapes, and refuse to run where a gradient would be needed', () => {
    const packed = nmWeight(randomArray(3 * 8, 1), [3, 8], { n: 2, m: 4 }, nmMaskArray(3, 8, { n: 2, m: 4 }, 2), 'fc');
    try {
      expect(() => nmLinear(keep(tensor(new Float32Array(10), [2, 5])), packed)).toThrow('nmLinear: x [2,5] and N:M 2:4 weight [3,8] do not match (x must be [batch, 8])');
      expect(() => nmLinear(keep(tensor(new Float32Array(16), [2, 8])), packed, keep(tensor(new Float32Array(4))))).toThrow(/nmLinear: bias \[4\] does not match 3 outputs/);
      expect(() => nmConv2d(keep(tensor(new Float32Array(16), [1, 1, 4, 4])), packed)).toThrow('nmConv2d: needs a conv weight, got N:M 2:4 weight [3,8]');
      const x = keep(tensor(new Float32Array(16), [2, 8], { requiresGrad: true }));
      expect(() => nmLinear(x, packed)).toThrow(/nmLinear: inference only/);
    } finally {
      packed.dispose();
    }
  });
});
