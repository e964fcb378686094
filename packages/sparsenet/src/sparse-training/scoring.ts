/**
 * What the pruners at initialisation (SNIP, GraSP, SynFlow) share: the model put in a scoring mode and restored
 * afterwards, the gradients of a scalar with respect to the prunable layers' effective weights w * mask (dense on
 * masked layers, denseWeightGradients) read back per layer, and their checks.
 *
 * Modes: 'batch-statistics' for the data-driven SNIP and GraSP: BatchNorm normalises by each batch's own
 * statistics, as in the training steps the scores predict, while Dropout is off so that the scores are
 * deterministic and Dropout's draws stay the training run's; 'eval' for SynFlow, as its authors' code (running
 * statistics, no Dropout). Either way the model's whole state dict (the running statistics a training forward
 * updates, the weights GraSP perturbs and SynFlow replaces by |w|, the masks SynFlow's rounds set) and its
 * modules' modes are restored afterwards, and its parameters are left without gradients.
 */
import { beginScope, crossEntropy, denseWeightGradients, labels, nn, scale, scoped, tensor } from '@sparsenet/tensor';
import { weightedLayers, type WeightedLayer } from '../prune/masks.js';
import type { PruneContext, ScoreContext } from '../prune/registry.js';
import { applyMask, type PrunableLayer } from '../prune/types.js';

export type ScoringMode = 'batch-statistics' | 'eval';

/** Runs `fn` on the model in `mode` (fn gets the state dict as it was); restores that state and the modes after. */
export async function withScoringModel<T>(model: nn.Module, mode: ScoringMode, fn: (saved: nn.StateDict) => Promise<T>): Promise<T> {
  const modes = model.namedModules().map(([, module]) => [module, module.training] as const);
  const saved = await model.stateDict();
  clearGradients(model);
  model.eval();
  if (mode === 'batch-statistics') for (const [, module] of model.namedModules()) if (module instanceof nn.BatchNorm2d) module.training = true;
  try {
    return await fn(saved);
  } finally {
    model.loadStateDict(saved);
    for (const [module, training] of modes) module.training = training;
    clearGradients(model);
  }
}

/**
 * The gradient, with respect to each layer's effective weight (pruned entries included), of what `backward`
 * differentiates: it runs forwards and backwards (several backwards accumulate) under denseWeightGradients.
 */
export async function weightGradients(model: nn.Module, layers: readonly PrunableLayer[], backward: () => void): Promise<Float32Array[]> {
  const modules = layerModules(model, layers);
  clearGradients(model);
  await scoped(() => denseWeightGradients(backward));
  const grads = await Promise.all(modules.map(async (module, i) => (module.weight.grad ? ((await module.weight.grad.toArray()) as Float32Array) : new Float32Array(layers[i].weight.length))));
  clearGradients(model);
  return grads;
}

/** Backward of the sum over `batches` of each batch's mean cross-entropy, the logits divided by `temperature`. */
export function crossEntropyBackward(model: nn.Module, batches: ScoreContext['batches'], temperature = 1): void {
  for (const batch of batches) {
    // One batch's activations at a time.
    const scope = beginScope();
    try {
      const logits = model.forward(tensor(batch.x, batch.shape));
      crossEntropy(temperature === 1 ? logits : scale(logits, 1 / temperature), labels(batch.y)).backward();
    } finally {
      scope.end();
    }
  }
}

/** Each layer's effective weight w * mask. */
export function effectiveWeights(layers: readonly PrunableLayer[]): Float32Array[] {
  return layers.map((layer) => applyMask(layer.weight, layer.mask));
}

/** Writes `weights` (one array per layer, in order) into the layers' `weight` parameters. */
export function writeWeights(model: nn.Module, layers: readonly PrunableLayer[], weights: readonly Float32Array[]): void {
  model.loadStateDict(Object.fromEntries(layers.map((layer, i) => [`${layer.name}.weight`, { dtype: 'f32', shape: layer.shape, data: weights[i] }])), { strict: false });
}

/** The conv and linear modules of `layers`, in order; a name the model lacks throws naming it. */
export function layerModules(model: nn.Module, layers: readonly PrunableLayer[]): WeightedLayer[] {
  const modules = new Map(weightedLayers(model));
  return layers.map((layer) => {
    const module = modules.get(layer.name);
    if (!module || module.weight.size !== layer.weight.length) {
      throw new Error(`scoring: layer '${layer.name}' [${layer.shape}] is ${module ? `[${module.weight.shape}]` : 'not a conv or linear layer'} in this model`);
    }
    return module;
  });
}

/** The scores computeMasks was given; a scoring pruner called without its scoring step throws naming it. */
export function givenScores(pruner: string, context: PruneContext): readonly Float32Array[] {
  if (!context.scores) throw new Error(`pruner '${pruner}': ranks by scores computed on the model; run its scoring step first (computeScores, as pruneModel does)`);
  return context.scores;
}

/** A sparsity of 1 would leave no weight at all: the scoring pruners take [0, 1). */
export function checkSparsity(pruner: string, sparsity: number): void {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`pruner '${pruner}': --sparsity must be in [0, 1) (1 would prune every weight), got ${sparsity}`);
}

/** Data-driven scores need at least one training batch. */
export function checkBatches(pruner: string, batches: ScoreContext['batches']): void {
  if (batches.length === 0) throw new Error(`pruner '${pruner}': needs at least one training batch to score on (--score-batches)`);
}

/** A positive number option (`flag` as the user writes it). */
export function positiveOption(pruner: string, flag: string, text: string, integer = false): number {
  const value = Number(text);
  if (text.trim() === '' || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new Error(`pruner '${pruner}': --${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
  }
  return value;
}

function clearGradients(model: nn.Module): void {
  for (const param of model.parameters()) {
    param.grad?.dispose();
    param.grad = null;
  }
}
