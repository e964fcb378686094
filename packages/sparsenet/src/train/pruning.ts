/**
 * Pruning inside the training loop: the schedule in optimizer steps, and a pruning event applied to a model
 * (weights and masks read back once, new masks computed on the host, masked weights and masks uploaded).
 */
import { gradualSchedule, iterativeSchedule, magnitudePrune, oneShotSchedule, randomPrune, structuredPrune, withMasks, type PrunableLayer, type PruningSchedule, type SavedWeights } from '../prune/index.js';
import { rewindWeights } from '../prune/index.js';
import type { LeNet } from '../model.js';
import { parseStructures, type TrainConfig } from './config.js';

/** The schedule of the run in optimizer steps (epoch e starts at step e * stepsPerEpoch); null without a pruner. */
export function pruningSchedule(config: TrainConfig, stepsPerEpoch: number): PruningSchedule | null {
  if (config.pruner === 'none') return null;
  const start = config.pruneStart * stepsPerEpoch;
  if (config.schedule === 'oneshot') return oneShotSchedule({ step: start, sparsity: config.sparsity });
  if (config.schedule === 'iterative') {
    const rounds = Math.floor((config.pruneEnd - config.pruneStart) / config.pruneEvery) + 1;
    return iterativeSchedule({ start, every: config.pruneEvery * stepsPerEpoch, rounds, sparsity: config.sparsity });
  }
  const span = (config.pruneEnd - config.pruneStart) * stepsPerEpoch;
  const pruningSteps = Math.max(1, Math.floor(span / config.pruneEvery));
  return gradualSchedule({ finalSparsity: config.sparsity, startStep: start, frequency: config.pruneEvery, pruningSteps });
}

/**
 * Prunes `model` to `sparsity` with the configured pruner; `seed` varies random pruning per event. Structured
 * pruning prunes each listed structure in turn, each on the masks the one before left.
 */
export async function pruneModel(model: LeNet, config: TrainConfig, sparsity: number, seed: number): Promise<void> {
  const layers = await model.prunableLayers();
  let pruned: PrunableLayer[];
  if (config.pruner === 'magnitude') pruned = withMasks(layers, magnitudePrune(layers, { fraction: sparsity, scope: config.scope }));
  else if (config.pruner === 'random') pruned = withMasks(layers, randomPrune(layers, { fraction: sparsity, scope: config.scope, seed }));
  else if (config.pruner === 'structured') {
    pruned = layers;
    for (const mode of parseStructures(config.structure)) pruned = withMasks(pruned, structuredPrune(pruned, { mode, fraction: sparsity, norm: config.norm }));
  } else throw new Error(`pruneModel: no pruner (got '${config.pruner}')`);
  // Pruned weights are set to zero now, so checkpoints hold weight * mask; masked Adam keeps them there.
  const state: Record<string, { dtype: 'f32'; shape: number[]; data: Float32Array }> = {};
  for (const layer of pruned) {
    state[`${layer.name}.weight`] = { dtype: 'f32', shape: layer.shape, data: layer.weight.map((w, i) => (layer.mask[i] ? w : 0)) };
    state[`${layer.name}.weight_mask`] = { dtype: 'f32', shape: layer.shape, data: layer.mask };
    if (layer.bias && layer.biasMask) {
      state[`${layer.name}.bias`] = { dtype: 'f32', shape: [layer.bias.length], data: layer.bias.map((b, i) => (layer.biasMask![i] ? b : 0)) };
      state[`${layer.name}.bias_mask`] = { dtype: 'f32', shape: [layer.bias.length], data: layer.biasMask };
    }
  }
  model.loadStateDict(state, { strict: false });
}

/** Weights and biases as saved for lottery-ticket rewinding. */
export async function saveWeights(model: LeNet): Promise<SavedWeights[]> {
  return (await model.prunableLayers()).map((layer) => ({ name: layer.name, weight: layer.weight, bias: layer.bias }));
}

/** Resets the surviving weights to `saved` (pruned ones stay zero). */
export async function rewind(model: LeNet, saved: SavedWeights[]): Promise<void> {
  const layers = await model.prunableLayers();
  const state: Record<string, { dtype: 'f32'; shape: number[]; data: Float32Array }> = {};
  for (const w of rewindWeights(layers, saved)) {
    const layer = layers.find((l) => l.name === w.name)!;
    state[`${w.name}.weight`] = { dtype: 'f32', shape: layer.shape, data: w.weight };
    if (w.bias) state[`${w.name}.bias`] = { dtype: 'f32', shape: [w.bias.length], data: w.bias };
  }
  model.loadStateDict(state, { strict: false });
}
