/**
 * Per-layer density budgets for training sparse from the start at an overall sparsity S: uniform (every layer at
 * 1 - S, those kept dense excepted) or Erdős–Rényi-Kernel (ERK, Evci et al. 2020, after Mocanu et al.'s ER): a
 * layer's density is proportional to (sum of its dimensions) / (product of its dimensions), raised to a power
 * scale (1 by default), scaled by one factor so that the nonzero weights total (1 - S) of all; a layer whose
 * density would pass 1 is made dense and the factor found again for the rest.
 */
export interface BudgetLayer {
  name: string;
  /** [out, in] or [out, in, kh, kw]. */
  shape: readonly number[];
}

export type DensityDistribution = 'uniform' | 'erk';

export interface DensityOptions {
  /** Layers kept dense (e.g. the first), counted in the total. */
  dense?: readonly string[];
  /** ERK's exponent on the raw ratio (RigL's erk_power_scale). */
  powerScale?: number;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Density (fraction kept) per layer, in order, whose weighted sum is (1 - sparsity) of all weights. */
export function layerDensities(layers: readonly BudgetLayer[], sparsity: number, distribution: DensityDistribution, options: DensityOptions = {}): number[] {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`density budgets: --sparsity must be in [0, 1), got ${sparsity}`);
  const dense = new Set(options.dense ?? []);
  for (const name of dense) if (!layers.some((l) => l.name === name)) throw new Error(`density budgets: no layer '${name}' to keep dense (layers: ${layers.map((l) => l.name).join(', ')})`);
  const sizes = layers.map((l) => numel(l.shape));
  const total = sizes.reduce((a, b) => a + b, 0);
  const keep = (1 - sparsity) * total;
  const denseSize = layers.reduce((s, l, i) => s + (dense.has(l.name) ? sizes[i] : 0), 0);
  if (denseSize > keep) throw new Error(`density budgets: the layers kept dense (${[...dense].join(', ')}) hold ${denseSize} weights, more than the ${Math.floor(keep)} that sparsity ${sparsity} keeps`);
  if (distribution === 'uniform') {
    const rest = total - denseSize;
    const density = rest === 0 ? 1 : (keep - denseSize) / rest;
    return layers.map((l) => (dense.has(l.name) ? 1 : density));
  }
  const power = options.powerScale ?? 1;
  const raw = layers.map((l) => (l.shape.reduce((a, b) => a + b, 0) / numel(l.shape)) ** power);
  const isDense = layers.map((l) => dense.has(l.name));
  for (;;) {
    // keep = sum_dense size + eps * sum_sparse raw * size.
    let fixed = 0;
    let weighted = 0;
    layers.forEach((_, i) => {
      if (isDense[i]) fixed += sizes[i];
      else weighted += raw[i] * sizes[i];
    });
    const eps = weighted === 0 ? 0 : (keep - fixed) / weighted;
    let changed = false;
    layers.forEach((_, i) => {
      if (!isDense[i] && eps * raw[i] > 1) {
        isDense[i] = true;
        changed = true;
      }
    });
    if (!changed) return layers.map((_, i) => (isDense[i] ? 1 : eps * raw[i]));
  }
}

/** Weights kept per layer: each density times the layer's size, rounded, as a mask can hold. */
export function layerBudgets(layers: readonly BudgetLayer[], densities: readonly number[]): number[] {
  return layers.map((l, i) => Math.round(densities[i] * numel(l.shape)));
}
