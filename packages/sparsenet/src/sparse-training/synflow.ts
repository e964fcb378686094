/**
 * SynFlow (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving synaptic
 * flow"): data-free. Every parameter and buffer is replaced by its absolute value, the model runs in evaluation
 * mode (as the authors' code, ganguli-lab/Synaptic-Flow) on one all-ones image, R is the sum of its outputs and a
 * weight's score is |dR/dw * w|. Pruning is iterative: round k of n prunes the lowest scores to the sparsity
 * 1 - (1 - s)^(k/n), the masks applied before the next round's scores, the last round exactly to s (its count
 * of kept weights, as every pruner here). Globally by default, as the paper.
 *
 * As a Pruner, the scoring step runs the rounds and scores each weight by the rounds it survived (pruned in
 * round k: k - 1; kept: n), a ranking whose lowest, at the same sparsity, are exactly the weights the rounds
 * pruned; computeMasks turns it into the masks.
 */
import { tensor, type nn } from '@sparsenet/tensor';
import type { Pruner } from '../prune/registry.js';
import { withMasks, type PrunableLayer } from '../prune/types.js';
import { SCOPE_OPTION, scorePrune } from '../prune/unstructured.js';
import { checkSparsity, effectiveWeights, givenScores, layerModules, positiveOption, weightGradients, withScoringModel } from './scoring.js';

export interface SynflowOptions {
  /** Target sparsity s of the scope. */
  sparsity: number;
  /** Rounds n (default 100). */
  rounds?: number;
  scope?: 'layer' | 'global';
}

/** The sparsity after each round k = 1..n: 1 - (1 - s)^(k/n), the last exactly s. */
export function synflowSparsities(sparsity: number, rounds: number): number[] {
  return Array.from({ length: rounds }, (_, k) => (k + 1 === rounds ? sparsity : 1 - (1 - sparsity) ** ((k + 1) / rounds)));
}

/** One round's scores |dR/dw * w| on the model as it stands (its masks), in the scoring mode. */
export async function synflowScores(model: nn.Module, layers: readonly PrunableLayer[], inputShape: readonly number[]): Promise<Float32Array[]> {
  return withScoringModel(model, 'eval', async (saved) => {
    linearize(model, saved);
    return synflowRound(model, layers, inputShape);
  });
}

/**
 * Prunes `layers` (their weights and current masks, as on the model) in SynFlow's rounds; returns the rounds each
 * weight survived. The model's masks are set between rounds and restored after.
 */
export async function synflowSurvival(model: nn.Module, layers: readonly PrunableLayer[], inputShape: readonly number[], options: SynflowOptions): Promise<Float32Array[]> {
  const { sparsity, rounds = 100, scope = 'global' } = options;
  checkSparsity('synflow', sparsity);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`pruner 'synflow': --rounds must be a positive integer, got ${rounds}`);
  const modules = layerModules(model, layers);
  const unmasked = layers.find((_, i) => !modules[i].weightMask);
  if (unmasked) throw new Error(`pruner 'synflow': layer '${unmasked.name}' has no weight_mask, which its rounds set; mask the model first (maskLayers)`);
  return withScoringModel(model, 'eval', async (saved) => {
    linearize(model, saved);
    const survived = layers.map((layer) => new Float32Array(layer.weight.length).fill(rounds));
    let current = layers;
    for (const [k, fraction] of synflowSparsities(sparsity, rounds).entries()) {
      const masks = scorePrune(current, await synflowRound(model, current, inputShape), { fraction, scope });
      masks.forEach((m, i) => m.mask.forEach((v, j) => v === 0 && current[i].mask[j] !== 0 && (survived[i][j] = k)));
      current = withMasks(current, masks);
      model.loadStateDict(Object.fromEntries(current.map((layer) => [`${layer.name}.weight_mask`, { dtype: 'f32', shape: layer.shape, data: layer.mask }])), { strict: false });
    }
    return survived;
  });
}

/** |x| for every f32 entry of the state dict (weights, biases, BatchNorm's parameters and running statistics). */
function linearize(model: nn.Module, saved: nn.StateDict): void {
  const absolute: nn.StateDict = {};
  for (const [name, entry] of Object.entries(saved)) if (entry.dtype === 'f32') absolute[name] = { ...entry, data: entry.data.map(Math.abs) };
  model.loadStateDict(absolute, { strict: false });
}

/** |dR/dw * w| on the linearized model: R the sum of its outputs on one all-ones image. */
async function synflowRound(model: nn.Module, layers: readonly PrunableLayer[], inputShape: readonly number[]): Promise<Float32Array[]> {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const grads = await weightGradients(model, layers, () => {
    const out = model.forward(tensor(new Float32Array(size).fill(1), [1, ...inputShape]));
    out.backward(tensor(new Float32Array(out.size).fill(1), out.shape));
  });
  return effectiveWeights(layers).map((w, i) => {
    const score = Float32Array.from(w, (v, j) => Math.abs(v * grads[i][j]));
    const bad = score.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`pruner 'synflow': score ${bad} of layer '${layers[i].name}' [${layers[i].shape}] is ${score[bad]}: R overflowed float32 on this model`);
    return score;
  });
}

export const synflowPruner: Pruner = {
  name: 'synflow',
  help: 'SynFlow (Tanaka et al. 2020): data-free, the lowest |dR/dw * w| go over --rounds rounds of exponentially rising sparsity',
  options: [{ ...SCOPE_OPTION, default: 'global' }, { name: 'rounds', help: 'pruning rounds, sparsity 1 - (1 - s)^(k/n) after round k', default: '100' }],
  score: (layers, { model, graph, sparsity, options }) =>
    synflowSurvival(model, layers, graph.inputShape, { sparsity, rounds: positiveOption('synflow', 'rounds', options.rounds, true), scope: options.scope as 'layer' | 'global' }),
  computeMasks: (layers, context) => {
    checkSparsity('synflow', context.sparsity);
    return scorePrune(layers, givenScores('synflow', context), { fraction: context.sparsity, scope: context.options.scope as 'layer' | 'global' });
  },
};
