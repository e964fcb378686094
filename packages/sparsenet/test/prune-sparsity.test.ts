/** Sparsity accounting in the seed's format, ShrinkBench's compression ratio and theoretical speedup. */
import { describe, expect, it } from 'vitest';
import { flops, formatSparsity, magnitudePrune, sparsityReport, structuredPrune, withMasks } from '@sparsenet/sparsenet';
import { LENET_INPUT, lenetLayers } from './prune-fixtures.js';

describe('sparsityReport and formatSparsity', () => {
  it("prints the seed's interpret_sparsity lines", () => {
    const layers = lenetLayers(40);
    const pruned = withMasks(layers, magnitudePrune(layers, { fraction: 0.5, layers: ['conv1', 'conv2'] }));
    const report = sparsityReport(pruned.slice(0, 2));
    expect(formatSparsity(report)).toBe(['conv1 (sparsity = 0.50): 225 weights are zero out of 450', 'conv2 (sparsity = 0.50): 1200 weights are zero out of 2400'].join('\n'));
    expect(formatSparsity(report, { withTotal: true }).split('\n')[2]).toBe('total (sparsity = 0.50): 1425 weights are zero out of 2850');
  });

  it('counts zeros of the effective weight (masked or exactly zero) and formats like Python (ties to even)', () => {
    const layer = (name: string, zeros: number, n: number, maskedZeros = 0) => {
      const weight = new Float32Array(n).fill(0.5);
      const mask = new Float32Array(n).fill(1);
      weight.fill(0, 0, zeros - maskedZeros);
      mask.fill(0, zeros - maskedZeros, zeros);
      return { name, weight, mask };
    };
    const report = sparsityReport([layer('a', 1, 8), layer('b', 3, 8, 2), layer('c', 5, 8, 5), layer('d', 7, 8, 1), layer('e', 1, 3)]);
    // Python: f'{0.125:.2f}' = '0.12', 0.375 -> '0.38', 0.625 -> '0.62', 0.875 -> '0.88'; (0.125).toFixed(2) is '0.13'.
    expect(formatSparsity(report).split('\n')).toEqual([
      'a (sparsity = 0.12): 1 weights are zero out of 8',
      'b (sparsity = 0.38): 3 weights are zero out of 8',
      'c (sparsity = 0.62): 5 weights are zero out of 8',
      'd (sparsity = 0.88): 7 weights are zero out of 8',
      'e (sparsity = 0.33): 1 weights are zero out of 3',
    ]);
    expect(report.layers.map((l) => l.sparsity)).toEqual([0.125, 0.375, 0.625, 0.875, 1 - 2 / 3]);
  });

  it('totals over layers; compression ratio over all parameters, biases included', () => {
    const layers = lenetLayers(41);
    const pruned = withMasks(layers, structuredPrune(layers, { mode: 'neurons', fraction: 0.5 }));
    const report = sparsityReport(pruned);
    const weights = layers.reduce((a, l) => a + l.weight.length, 0);
    const biases = layers.reduce((a, l) => a + l.bias!.length, 0);
    // Half the rows of fc1 and fc2 with their biases (fc2's columns reading dead fc1 neurons stay unmasked).
    const zeroWeights = 60 * 2704 + 42 * 120;
    const nonzero = weights + biases - zeroWeights - 60 - 42;
    expect(report.total).toEqual({ name: 'total', zeros: zeroWeights, total: weights, sparsity: 1 - (weights - zeroWeights) / weights });
    expect(report.layers.map((l) => l.zeros)).toEqual([0, 0, 60 * 2704, 42 * 120, 0]);
    expect(report.params).toEqual({ total: weights + biases, nonzero });
    expect(report.compressionRatio).toBe((weights + biases) / nonzero);
  });

  it('theoretical speedup = dense FLOPs / effective FLOPs', () => {
    const layers = lenetLayers(42);
    const pruned = withMasks(layers, structuredPrune(layers, { mode: 'filters', fraction: 0.5 }));
    const count = flops(pruned, LENET_INPUT);
    // Half the filters of each conv: half their weights, so half their FLOPs; linears untouched.
    expect(count.effective).toBe(3_240_000 / 2 + 3_244_800 / 2 + 670_296);
    expect(count.theoreticalSpeedup).toBe((3_240_000 + 3_244_800 + 670_296) / count.effective);
  });
});
