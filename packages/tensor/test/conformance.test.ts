import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { conformanceCases, runConformanceCase, type ConformanceSpec } from '@sparsenet/tensor/conformance';
import { missingPairs, useDevice } from './helpers.js';
import { judgeConformance } from './reference/conformance.js';

useDevice();

type MatmulSpec = Extract<ConformanceSpec, { kernel: 'matmul' }>;

describe('the kernel conformance set', () => {
  const cases = conformanceCases();

  it('has every kernel, stable unique names, and matmul cases covering every pair of variant, layout, epilogue flag and alignment', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => c.spec.kernel)).size).toBe(31);
    const rows = cases.flatMap((c) => (c.spec.kernel === 'matmul' ? [c.spec as MatmulSpec] : [])).map((s) => ({
      variant: s.variant, layout: `${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}`, bias: s.bias, relu: s.relu, maskB: s.maskB, maskOut: s.maskOut,
      accumulate: s.accumulate, aligned: [s.m, s.k, s.n].map((d) => d % 4 === 0).join(),
    }));
    const flag = [false, true];
    const factors = {
      variant: k.MATMUL_VARIANTS, layout: ['nn', 'nt', 'tn', 'tt'], bias: flag, relu: flag, maskB: flag, maskOut: flag, accumulate: flag,
      aligned: [...new Set(rows.map((r) => r.aligned))],
    };
    expect(factors.aligned.length).toBeGreaterThanOrEqual(3);
    expect(missingPairs(factors, rows)).toEqual([]);
  });

  it('runs the sparse (CSR and N:M) kernels within the kernel tolerance of their float64 references', async () => {
    const sparse = cases.filter((c) => ['matmul_csr', 'conv2d_csr', 'matmul_nm', 'conv2d_nm'].includes(c.spec.kernel));
    expect(sparse.length).toBe(10);
    for (const c of sparse) {
      const verdict = judgeConformance(c, await runConformanceCase(c));
      expect(verdict.detail, c.name).toBe('');
      expect(verdict.passed, c.name).toBe(true);
      expect(verdict.outputs.length, c.name).toBe(1);
    }
  });
});
