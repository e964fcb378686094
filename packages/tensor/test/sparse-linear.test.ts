import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { linear, noGrad, packSparseLinear, sparseLinear, sparseLinearWeight, tensor, runtime, SPARSE_VARIANTS } from '@sparsenet/tensor';
import { expectClose, randomArray, useDevice } from './helpers.js';
import { linearRef } from './reference/matmul.js';
import { freedAfterEachTest, sparseMask } from './sparse-masks.js';

useDevice();

const keep = freedAfterEachTest();

/** [batch, in, out]: one value, odd sizes, LeNet's fc1 at batch 1 and 33, and batches past one row group (256 rows). */
const SHAPES: [number, number, number][] = [[1, 1, 1], [33, 17, 29], [1, 2704, 120], [33, 2704, 120], [257, 120, 84], [300, 84, 7]];
const SPARSITIES = [0, 0.5, 0.95, 1];
/** The sparse kernel at every sparsity, with and without bias and ReLU; the dense variant once per shape. */
const VARIANT_CASES = [
  ...SPARSITIES.flatMap((sparsity) => [false, true].map((on) => ({ variant: 'sparse', sparsity, bias: on, relu: on }))),
  { variant: 'dense', sparsity: 0.5, bias: true, relu: true },
] as const;

describe('packCsrRows', () => {
  it('keeps exactly the nonzero effective weights, in row order', () => {
    const weight = randomArray(7 * 9, 1);
    weight[3] = 0; // zero without a mask: dropped as well
    const mask = sparseMask(weight.length, 0.6, 2);
    const { rowStart, entries, nonzeros } = k.packCsrRows(weight, 7, 9, mask);
    const dense = new Float32Array(weight.length);
    const f32 = new Float32Array(entries.buffer);
    for (let r = 0; r < 7; r++) for (let e = rowStart[r]; e < rowStart[r + 1]; e++) dense[r * 9 + entries[2 * e]] = f32[2 * e + 1];
    expect(Array.from(dense)).toEqual(Array.from(weight, (w, i) => (mask[i] ? w : 0)));
    expect(nonzeros).toBe(weight.filter((w, i) => w !== 0 && mask[i] !== 0).length);
    expect(rowStart[7]).toBe(nonzeros);
  });

  it('rejects data that does not fill the shape', () => {
    expect(() => k.packCsrRows(new Float32Array(5), 2, 3)).toThrow(/5 values do not fill \[2, 3\]/);
  });
});

describe('sparseLinear (CSR kernel) against the dense reference', () => {
  for (const [batch, inF, outF] of SHAPES) {
    for (const { variant, sparsity, bias, relu } of VARIANT_CASES) {
      it(`[${variant}] x [${batch},${inF}] w [${outF},${inF}] sparsity ${sparsity}${bias ? ' bias' : ''}${relu ? ' relu' : ''}`, async () => {
        runtime().runner.tuner.force({ sparse_linear: variant });
        const seed = batch * 7 + inF + outF + sparsity * 100;
        const x = randomArray(batch * inF, seed);
        const weight = randomArray(outF * inF, seed + 1);
        const mask = sparseMask(weight.length, sparsity, seed + 2);
        const b = bias ? randomArray(outF, seed + 3) : null;
        const sparse = sparseLinearWeight(weight, [outF, inF], mask);
        try {
          const out = keep(noGrad(() => sparseLinear(keep(tensor(x, [batch, inF])), sparse, b ? keep(tensor(b)) : null, { activation: relu ? 'relu' : undefined })));
          expectClose(await out.toArray(), linearRef({ x, weight, mask, bias: b, relu, batch, inFeatures: inF, outFeatures: outF }), 'sparseLinear');
        } finally {
          sparse.dispose();
        }
      });
    }
  }

  it('lets the tuner measure both representations and runs the one it picks', async () => {
    const [batch, inF, outF] = [64, 2704, 120];
    const x = randomArray(batch * inF, 11);
    const weight = randomArray(outF * inF, 12);
    const mask = sparseMask(weight.length, 0.95, 13);
    const sparse = sparseLinearWeight(weight, [outF, inF], mask);
    try {
      const xt = keep(tensor(x, [batch, inF]));
      keep(noGrad(() => sparseLinear(xt, sparse)));
      await runtime().runner.tuner.tunePending();
      const choice = runtime().runner.tuner.export()[`sparse_linear:${batch}x${inF}x${outF}:nnz${sparse.nonzeros}`]?.variant;
      expect(SPARSE_VARIANTS).toContain(choice);
      const out = keep(noGrad(() => sparseLinear(xt, sparse)));
      expectClose(await out.toArray(), linearRef({ x, weight, mask, batch, inFeatures: inF, outFeatures: outF }), `sparseLinear after tuning (${choice})`);
    } finally {
      sparse.dispose();
    }
  });

  it('matches the dense masked linear op on the same tensors (packSparseLinear reads them back)', async () => {
    const [batch, inF, outF] = [33, 2704, 120];
    const x = keep(tensor(randomArray(batch * inF, 5), [batch, inF]));
    const weight = keep(tensor(randomArray(outF * inF, 6), [outF, inF]));
    const mask = keep(tensor(sparseMask(outF * inF, 0.9, 7), [outF, inF]));
    const bias = keep(tensor(randomArray(outF, 8)));
    const sparse = await packSparseLinear(weight, mask);
    try {
      expect(sparse.density).toBeCloseTo(0.1, 1);
      const dense = keep(noGrad(() => linear(x, weight, bias, { mask, activation: 'relu' })));
      const got = keep(noGrad(() => sparseLinear(x, sparse, bias, { activation: 'relu' })));
      expectClose(await got.toArray(), await dense.toArray(), 'sparse vs dense op');
    } finally {
      sparse.dispose();
    }
  });
});

describe('sparseLinear errors', () => {
  const sparse = () => sparseLinearWeight(randomArray(12, 1), [3, 4]);

  it('names the op and the shapes on a mismatch', () => {
    const w = sparse();
    try {
      expect(() => sparseLinear(keep(tensor(new Float32Array(10), [2, 5])), w)).toThrow('sparseLinear: x [2,5] and sparse weight [3,4] do not match (in_features 4 != 5)');
      expect(() => sparseLinear(keep(tensor(new Float32Array(8), [2, 4])), w, keep(tensor(new Float32Array(4))))).toThrow(/bias \[4\] does not match 3 out_features/);
      expect(() => sparseLinear(keep(tensor(new Int32Array(8), [2, 4])), w)).toThrow('sparseLinear: x must be f32, got i32 [2,4]');
    } finally {
      w.dispose();
    }
  });

  it('refuses to run where a gradient would be needed', () => {
    const w = sparse();
    try {
      const x = keep(tensor(new Float32Array(8), [2, 4], { requiresGrad: true }));
      expect(() => sparseLinear(x, w)).toThrow(/sparseLinear: inference only/);
      expect(() => noGrad(() => keep(sparseLinear(x, w)))).not.toThrow();
    } finally {
      w.dispose();
    }
  });
});
