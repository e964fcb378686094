/**
 * Dynamic sparse training on the host (SET, Mocanu et al. 2018; RigL, Evci et al. 2020): per-layer budgets of an
 * overall sparsity, random initial masks within them, the steps that update the masks, and one update of every
 * sparse layer (drop the smallest |w| among the kept, grow as many of the rest by the method's score). Pure: the
 * training loop (train/dynamic-training.ts) reads weights and gradients back and uploads the masks.
 */
import { Random } from '@sparsenet/tensor';
import type { LayerMasks, PrunableLayer } from '../prune/types.js';
import { layerBudgets, layerDensities, type DensityDistribution } from './densities.js';
import type { DynamicMethod } from './dynamic-config.js';
import { dropAndGrow, isUpdateStep, rigLDropFraction, rigLGrowScore, setGrowScore } from './drop-grow.js';

export interface DynamicOptions {
  method: DynamicMethod;
  /** Overall fraction of conv and linear weights pruned, constant through training. */
  sparsity: number;
  distribution: DensityDistribution;
  /** Keep the first layer dense. */
  denseFirst: boolean;
  /** Optimizer steps between updates (delta T). */
  updateEvery: number;
  /** No update at or after this step (T_end). */
  endStep: number;
  /** Drop fraction of the first update (alpha), cosine-decayed. */
  dropFraction: number;
  seed: number;
}

/** One layer's part of an update: `dropped` kept weights of smallest |w| (the formula's count), `grown` new ones. */
export interface LayerUpdate {
  name: string;
  /** Weights the layer keeps (before and after: the update moves them, never adds). */
  kept: number;
  /** floor(kept * fraction): taken out by magnitude. */
  dropped: number;
  /** Weights that were pruned and now are kept; dropped - grown came straight back. */
  grown: number;
}

export interface MaskUpdate {
  step: number;
  /** The drop fraction at this step. */
  fraction: number;
  layers: LayerUpdate[];
}

export interface LayerBudget {
  name: string;
  shape: number[];
  density: number;
  /** Weights kept. */
  kept: number;
}

/** Each layer's density and kept count at `options.sparsity`; bad options and a layer left with no weight are errors naming the flag and the layer. */
export function dynamicBudgets(layers: readonly Pick<PrunableLayer, 'name' | 'shape'>[], options: Pick<DynamicOptions, 'method' | 'sparsity' | 'distribution' | 'denseFirst' | 'dropFraction'>): LayerBudget[] {
  const flag = `--pruner ${options.method}`;
  if (!(options.dropFraction > 0 && options.dropFraction < 1)) {
    throw new Error(`${flag}: --drop-fraction must be in (0, 1), got ${options.dropFraction}: layer '${layers[0]?.name}' [${layers[0]?.shape}] and every other would drop that fraction of its kept weights at the first update`);
  }
  if (!(options.sparsity >= 0 && options.sparsity < 1)) {
    throw new Error(`${flag}: --sparsity must be in [0, 1), got ${options.sparsity}: it would leave layer '${layers[0]?.name}' [${layers[0]?.shape}] and every other with no weight`);
  }
  const densities = layerDensities(layers, options.sparsity, options.distribution, { dense: options.denseFirst && layers.length ? [layers[0].name] : [] });
  const kept = layerBudgets(layers, densities);
  return layers.map((l, i) => {
    if (kept[i] === 0) throw new Error(`${flag}: --sparsity ${options.sparsity} with --density-distribution ${options.distribution} leaves layer '${l.name}' [${l.shape}] no weight (density ${densities[i]})`);
    return { name: l.name, shape: [...l.shape], density: densities[i], kept: kept[i] };
  });
}

/** Masks with exactly each layer's budget of ones at seeded random places; biases stay unmasked. */
export function initialDynamicMasks(layers: readonly PrunableLayer[], budgets: readonly LayerBudget[], seed: number): LayerMasks[] {
  const random = new Random(seed);
  return layers.map((layer, i) => {
    const size = layer.weight.length;
    const order = Int32Array.from({ length: size }, (_, j) => j);
    random.shuffle(order);
    const mask = new Float32Array(size);
    for (let j = 0; j < budgets[i].kept; j++) mask[order[j]] = 1;
    return { name: layer.name, mask, ...(layer.bias ? { biasMask: new Float32Array(layer.bias.length).fill(1) } : {}) };
  });
}

/** Every step that updates the masks, in order. */
export function updateSteps(options: Pick<DynamicOptions, 'updateEvery' | 'endStep'>): number[] {
  const steps: number[] = [];
  for (let t = options.updateEvery; t < options.endStep; t += options.updateEvery) if (isUpdateStep(t, options.updateEvery, options.endStep)) steps.push(t);
  return steps;
}

export interface DynamicUpdateResult {
  /** New masks of the layers updated (those with pruned weights; dense layers stay as they are). */
  masks: LayerMasks[];
  /** Per updated layer, the indices grown: their weights and optimizer state must start at zero. */
  grown: number[][];
  record: MaskUpdate;
}

/**
 * The update at `step` of every layer that has pruned weights: RigL grows by |dense gradient| (`gradients`, by
 * layer name, the gradient of w * mask on that step's batch), SET by seeded uniform draws.
 */
export function dynamicUpdate(layers: readonly PrunableLayer[], gradients: ReadonlyMap<string, Float32Array> | null, step: number, options: DynamicOptions): DynamicUpdateResult {
  const fraction = rigLDropFraction(options.dropFraction, step, options.endStep);
  const masks: LayerMasks[] = [];
  const grown: number[][] = [];
  const record: MaskUpdate = { step, fraction, layers: [] };
  layers.forEach((layer, index) => {
    if (layer.mask.every((m) => m !== 0)) return;
    let score: Float32Array;
    if (options.method === 'rigl') {
      const gradient = gradients?.get(layer.name);
      if (!gradient) throw new Error(`--pruner rigl: no dense gradient for layer '${layer.name}' [${layer.shape}] at step ${step}`);
      score = rigLGrowScore(gradient);
    } else score = setGrowScore(layer.weight.length, options.seed, step, index);
    let kept = 0;
    for (const m of layer.mask) if (m !== 0) kept++;
    const result = dropAndGrow(layer.weight, layer.mask, score, fraction, layer.name);
    masks.push({ name: layer.name, mask: result.mask, ...(layer.bias ? { biasMask: layer.biasMask ?? new Float32Array(layer.bias.length).fill(1) } : {}) });
    grown.push(result.grown);
    record.layers.push({ name: layer.name, kept, dropped: Math.floor(kept * fraction), grown: result.grown.length });
  });
  return { masks, grown, record };
}
