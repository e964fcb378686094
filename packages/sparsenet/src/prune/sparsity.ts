/**
 * Sparsity accounting as the seed's interpret_sparsity: per layer, the zeros of the effective weight
 * (weight * mask; biases excluded), sparsity = 1 - nonzero / total, printed as
 * `conv1 (sparsity = 0.50): 225 weights are zero out of 450`. Totals and ShrinkBench's compression_ratio
 * (all parameters, biases included, over the nonzero ones) come with it.
 */
import { countNonzero } from './types.js';

/** What accounting needs of a layer: its weights, and its masks when it is masked. */
export interface SparsityLayer {
  name: string;
  weight: Float32Array;
  mask?: Float32Array;
  bias?: Float32Array;
  biasMask?: Float32Array;
}

export interface LayerSparsity {
  name: string;
  zeros: number;
  total: number;
  /** 1 - nonzero / total, computed as the seed does (same float64). */
  sparsity: number;
}

export interface SparsityReport {
  layers: LayerSparsity[];
  /** The weights of all layers together. */
  total: LayerSparsity;
  /** Weights and biases. */
  params: { total: number; nonzero: number };
  /** ShrinkBench: params.total / params.nonzero. */
  compressionRatio: number;
}

export function sparsityReport(layers: readonly SparsityLayer[]): SparsityReport {
  const stats = (name: string, nonzero: number, total: number): LayerSparsity => ({ name, zeros: total - nonzero, total, sparsity: 1 - nonzero / total });
  const perLayer = layers.map((layer) => stats(layer.name, countNonzero(layer.weight, layer.mask), layer.weight.length));
  const weightsTotal = perLayer.reduce((a, l) => a + l.total, 0);
  const weightsNonzero = perLayer.reduce((a, l) => a + l.total - l.zeros, 0);
  let paramsTotal = weightsTotal;
  let paramsNonzero = weightsNonzero;
  for (const { bias, biasMask } of layers) {
    if (!bias) continue;
    paramsTotal += bias.length;
    paramsNonzero += countNonzero(bias, biasMask);
  }
  return {
    layers: perLayer,
    total: stats('total', weightsNonzero, weightsTotal),
    params: { total: paramsTotal, nonzero: paramsNonzero },
    compressionRatio: paramsTotal / paramsNonzero,
  };
}

/** The seed's lines, one per layer; `withTotal` appends the same line for all layers, named 'total'. */
export function formatSparsity(report: SparsityReport, options: { withTotal?: boolean } = {}): string {
  const rows = options.withTotal ? [...report.layers, report.total] : report.layers;
  return rows.map((l) => `${l.name} (sparsity = ${formatFixed(l.sparsity, 2)}): ${l.zeros} weights are zero out of ${l.total}`).join('\n');
}

/**
 * Python's f'{x:.{digits}f}': the exact binary value correctly rounded, exact ties to even (toFixed rounds them
 * up: (0.125).toFixed(2) is '0.13', Python gives '0.12').
 */
function formatFixed(x: number, digits: number): string {
  const fixed = x.toFixed(digits);
  // A tie has at most digits + 1 decimals; any other double differs from one well within 40 more digits.
  const exact = x.toFixed(Math.min(100, digits + 40));
  const tail = exact.slice(exact.indexOf('.') + 1 + digits);
  if (!/^50*$/.test(tail)) return fixed;
  const lastDigit = Number(fixed[fixed.length - 1]);
  if (lastDigit % 2 === 0) return fixed;
  // toFixed rounded the tie away from zero to an odd digit; the even neighbour is one unit toward zero.
  return (Math.sign(x) * (Math.abs(Number(fixed)) - 10 ** -digits)).toFixed(digits);
}
