/**
 * Pruning inside the training loop: the schedule in optimizer steps, and a pruning event applied to any masked
 * model by dotted layer name (weights and masks read back once, new masks computed on the host by the named
 * pruner, masked weights and masks uploaded).
 */
import type { nn } from '@sparsenet/tensor';
import { BatchLoader, type Batch, type ImageDataset, type Normalization } from '../data/index.js';
import { clampSchedule, computeMasks, computeScores, getPruner, gradualSchedule, iterativeSchedule, loadLayerMasks, magnitudePrune, oneShotSchedule, prunableLayers, rewindWeights, withMasks, type LayerGraph, type LayerMasks, type PrunableLayer, type PruningSchedule, type SavedWeights } from '../prune/index.js';
import { isDynamicMethod } from '../sparse-training/dynamic-config.js';
import { readSparsityPlan } from '../sensitivity/plan-file.js';
import type { SparsityPlan } from '../sensitivity/plan.js';
import type { TrainConfig } from './config.js';

/** The schedule of the run in optimizer steps (epoch e starts at step e * stepsPerEpoch), every event within the run; null without a pruner. */
export function pruningSchedule(config: TrainConfig, stepsPerEpoch: number): PruningSchedule | null {
  if (config.pruner === 'none' || isDynamicMethod(config.pruner)) return null;
  return clampSchedule(scheduleEvents(config, stepsPerEpoch), config.epochs * stepsPerEpoch - 1);
}

function scheduleEvents(config: TrainConfig, stepsPerEpoch: number): PruningSchedule {
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
 * Prunes `model` (its layer graph: `graph`) to `sparsity` with the configured pruner, found by name in the
 * registry with the options it declares taken from the configuration; `seed` varies random pruning per event.
 * A scoring pruner (snip, grasp, synflow) first scores the model, on `scoreBatches()` when it needs data; `log`
 * gets the pruner's warnings.
 * With --sparsity-plan, each planned layer is pruned by magnitude to its plan's sparsity times sparsity /
 * config.sparsity (the schedule's progress: the plan itself at the schedule's last event).
 */
export async function pruneModel(
  model: nn.Module, graph: LayerGraph, config: TrainConfig, sparsity: number, seed: number,
  { scoreBatches = () => [], log }: { scoreBatches?: () => readonly Batch[]; log?: (line: string) => void } = {},
): Promise<void> {
  if (config.pruner === 'none') throw new Error(`pruneModel: no pruner (got '${config.pruner}')`);
  // The configuration's flags of the pruner's option names (--scope, --structure, --norm) are its options.
  const flags = config as unknown as Record<string, unknown>;
  const pruner = getPruner(config.pruner);
  const options = Object.fromEntries(pruner.options.flatMap((o) => (flags[o.name] === undefined ? [] : [[o.name, String(flags[o.name])]])));
  const layers = await prunableLayers(model, graph);
  const batches = pruner.score ? scoreBatches() : [];
  const scores = await computeScores(config.pruner, layers, { model, graph, batches, sparsity, seed, options });
  const masks = config.sparsityPlan === null
    ? computeMasks(config.pruner, layers, { sparsity, seed, graph, options, scores, log })
    : plannedMasks(layers, readSparsityPlan(config.sparsityPlan, graph).plan, config.sparsity > 0 ? sparsity / config.sparsity : 0);
  loadLayerMasks(model, withMasks(layers, masks));
}

/** Each layer of `plan` pruned by magnitude (layer scope) to its sparsity times `scale`; the others keep their masks. */
function plannedMasks(layers: readonly PrunableLayer[], plan: SparsityPlan, scale: number): LayerMasks[] {
  let pruned = layers;
  for (const [name, sparsity] of Object.entries(plan)) pruned = withMasks(pruned, magnitudePrune(pruned, { fraction: sparsity * scale, scope: 'layer', layers: [name] }));
  return pruned.map((layer) => ({ name: layer.name, mask: layer.mask, biasMask: layer.biasMask }));
}

/**
 * The batches scoring pruners score on: the first --score-batches batches of a seeded (--seed), unflipped draw
 * of the training part, the same at every event and on resume, the training loader's order untouched.
 */
export function scoringBatches(train: ImageDataset, config: TrainConfig, normalization: Normalization): Batch[] {
  const loader = new BatchLoader(train, { batchSize: config.batchSize, seed: config.seed, balanced: config.balanced, normalization });
  const batches: Batch[] = [];
  for (const batch of loader.epoch()) {
    if (batches.length === config.scoreBatches) break;
    batches.push(batch);
  }
  return batches;
}

/** Weights and biases as saved for lottery-ticket rewinding. */
export async function saveWeights(model: nn.Module, graph: LayerGraph): Promise<SavedWeights[]> {
  return (await prunableLayers(model, graph)).map((layer) => ({ name: layer.name, weight: layer.weight, bias: layer.bias }));
}

/** Resets the surviving weights to `saved` (pruned ones stay zero). */
export async function rewind(model: nn.Module, graph: LayerGraph, saved: SavedWeights[]): Promise<void> {
  const layers = await prunableLayers(model, graph);
  const state: nn.StateDict = {};
  for (const w of rewindWeights(layers, saved)) {
    const layer = layers.find((l) => l.name === w.name)!;
    state[`${w.name}.weight`] = { dtype: 'f32', shape: layer.shape, data: w.weight };
    if (w.bias) state[`${w.name}.bias`] = { dtype: 'f32', shape: [w.bias.length], data: w.bias };
  }
  model.loadStateDict(state, { strict: false });
}
