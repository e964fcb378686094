/**
 * Unstructured pruning: magnitude and random, per layer or global; scorePrune ranks by any per-weight score the
 * same way (the pruners at initialisation, sparse-training/).
 *
 * Target semantics (both pruners): `fraction` is the target sparsity s of the scope. After pruning exactly
 * round(s * total) mask entries of the scope are 0, where total counts every weight of the scope's layers
 * including those already pruned, and round is Python's (half to even, as PyTorch). Like PyTorch's compute_mask,
 * only weights still alive are ranked and nothing is revived: if the scope is already sparser than s, its masks
 * are returned unchanged. On fresh masks this equals PyTorch's l1_unstructured / random_unstructured (scope
 * 'layer') and global_unstructured (scope 'global') with amount = s; PyTorch's repeated calls instead take the
 * amount relative to the survivors: amount a after sparsity p is our fraction 1 - (1 - p)(1 - a).
 *
 * Scope 'layer' applies s to each selected layer; 'global' ranks all selected layers' weights together, so the
 * per-layer sparsities differ. By default every layer is selected, the output layer too (the `--sparsity`
 * convention for unstructured pruning); pass `layers` to restrict. Biases are never pruned here.
 */
import { Random } from '@sparsenet/tensor';
import type { Pruner } from './registry.js';
import { checkFraction, checkLayers, copyMasks, roundHalfEven, selectLayers, type LayerMasks, type PrunableLayer } from './types.js';

export interface UnstructuredScope {
  /** 'layer' (default): the target applies to each layer; 'global': to all selected layers together. */
  scope?: 'layer' | 'global';
  /** Names of the layers to prune (default all, the output layer included). */
  layers?: readonly string[];
}

/** Either a target sparsity (`fraction`) or a magnitude `threshold` (alive weights with |w| < threshold go). */
export type MagnitudeOptions = UnstructuredScope & ({ fraction: number; threshold?: undefined } | { threshold: number; fraction?: undefined });

export interface RandomOptions extends UnstructuredScope {
  fraction: number;
  seed: number;
}

/** The smallest |w| among alive weights go; ties go lowest index first (layer order, then element order). */
export function magnitudePrune(layers: readonly PrunableLayer[], options: MagnitudeOptions): LayerMasks[] {
  const op = 'magnitudePrune';
  if (options.threshold !== undefined) {
    checkLayers(op, layers);
    if (!(options.threshold >= 0)) throw new Error(`${op}: threshold must be >= 0, got ${options.threshold}`);
    const threshold = options.threshold;
    const masks = copyMasks(layers);
    for (const i of selectLayers(op, layers, options.layers)) {
      const { weight } = layers[i];
      const mask = masks[i].mask;
      for (let j = 0; j < mask.length; j++) if (Math.abs(weight[j]) < threshold) mask[j] = 0;
    }
    return masks;
  }
  return pruneToTarget(op, layers, options, lowestFirst(Math.abs));
}

/**
 * The lowest `scores` among alive weights go (one score per weight of each layer, in order), with the scope and
 * target semantics above; ties go lowest index first. The ranking of score-based pruners (SNIP, GraSP, SynFlow).
 */
export function scorePrune(layers: readonly PrunableLayer[], scores: readonly Float32Array[], options: UnstructuredScope & { fraction: number }): LayerMasks[] {
  const op = 'scorePrune';
  if (scores.length !== layers.length) throw new Error(`${op}: ${scores.length} score arrays for ${layers.length} layers`);
  layers.forEach((layer, i) => {
    if (scores[i].length !== layer.weight.length) throw new Error(`${op}: layer '${layer.name}' [${layer.shape}] has ${layer.weight.length} weights but ${scores[i].length} scores`);
    const bad = scores[i].findIndex((v) => Number.isNaN(v));
    if (bad >= 0) throw new Error(`${op}: layer '${layer.name}' has a NaN score at ${bad}`);
  });
  // The pool ranks what it reads as weights: here the scores, taken as they are.
  const scored = layers.map((layer, i) => ({ ...layer, weight: scores[i] }));
  return pruneToTarget(op, scored, options, lowestFirst((v) => v));
}

/** Uniformly random among alive weights, reproducible by `seed` (one generator, layers drawn in order). */
export function randomPrune(layers: readonly PrunableLayer[], options: RandomOptions): LayerMasks[] {
  if (!Number.isInteger(options.seed)) throw new Error(`randomPrune: seed must be an integer, got ${options.seed}`);
  const random = new Random(options.seed);
  return pruneToTarget('randomPrune', layers, options, (pool) => {
    // Partial Fisher-Yates: the first `need` draws are a uniform random subset.
    const alive = pool.alive.slice();
    let drawn = 0;
    return (k) => {
      for (; drawn <= k; drawn++) {
        const j = drawn + random.int(alive.length - drawn);
        const t = alive[drawn];
        alive[drawn] = alive[j];
        alive[j] = t;
      }
      return alive[k];
    };
  });
}

export const SCOPE_OPTION = { name: 'scope', help: "'layer': the sparsity of each layer; 'global': of all layers together", default: 'layer', choices: ['layer', 'global'] } as const;

export const magnitudePruner: Pruner = {
  name: 'magnitude',
  help: 'the smallest |w| go (PyTorch l1_unstructured, global_unstructured)',
  options: [SCOPE_OPTION],
  computeMasks: (layers, { sparsity, options }) => magnitudePrune(layers, { fraction: sparsity, scope: options.scope as 'layer' | 'global' }),
};

export const randomPruner: Pruner = {
  name: 'random',
  help: 'uniformly random alive weights go (PyTorch random_unstructured), seeded per pruning event',
  options: [SCOPE_OPTION],
  computeMasks: (layers, { sparsity, seed, options }) => randomPrune(layers, { fraction: sparsity, scope: options.scope as 'layer' | 'global', seed }),
};

/** The weights of one scope, concatenated in layer order; `g` indexes the concatenation. */
interface Pool {
  /** Concatenated indices of the alive weights, ascending. */
  alive: Uint32Array;
  weightAt(g: number): number;
}

/** A ranking of the pool's alive weights by value(weight) ascending, ties by index. */
function lowestFirst(value: (weight: number) => number): (pool: Pool) => (k: number) => number {
  return (pool) => {
    const values = new Float64Array(pool.alive.length);
    pool.alive.forEach((g, k) => (values[k] = value(pool.weightAt(g))));
    const order = Uint32Array.from(values.keys());
    // alive is ascending, so breaking ties by position breaks them by index.
    order.sort((a, b) => values[a] - values[b] || a - b);
    return (k) => pool.alive[order[k]];
  };
}

/**
 * Shared driver: for each scope, prunes `need` = round(s * total) - (already pruned) alive weights, taking them
 * in the order given by `rank(pool)` (k-th weight to prune, for k = 0, 1, ..., need - 1).
 */
function pruneToTarget(op: string, layers: readonly PrunableLayer[], options: UnstructuredScope & { fraction: number }, rank: (pool: Pool) => (k: number) => number): LayerMasks[] {
  checkLayers(op, layers);
  checkFraction(op, options.fraction);
  const scope = options.scope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') throw new Error(`${op}: scope must be 'layer' or 'global', got '${String(scope)}'`);
  const selected = selectLayers(op, layers, options.layers);
  const masks = copyMasks(layers);
  for (const group of scope === 'global' ? [selected] : selected.map((i) => [i])) {
    const starts = [0];
    for (const i of group) starts.push(starts[starts.length - 1] + layers[i].weight.length);
    const total = starts[starts.length - 1];
    const locate = (g: number): [number, number] => {
      let k = 0;
      while (g >= starts[k + 1]) k++;
      return [group[k], g - starts[k]];
    };
    const alive: number[] = [];
    group.forEach((i, k) => layers[i].mask.forEach((m, j) => m !== 0 && alive.push(starts[k] + j)));
    const need = roundHalfEven(options.fraction * total) - (total - alive.length);
    if (need <= 0) continue;
    const pick = rank({
      alive: Uint32Array.from(alive),
      weightAt: (g) => {
        const [i, j] = locate(g);
        return layers[i].weight[j];
      },
    });
    for (let k = 0; k < need; k++) {
      const [i, j] = locate(pick(k));
      masks[i].mask[j] = 0;
    }
  }
  return masks;
}
