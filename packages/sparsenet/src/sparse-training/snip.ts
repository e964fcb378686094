/**
 * SNIP (Lee et al. 2019, "SNIP: Single-shot Network Pruning based on Connection Sensitivity"): a weight's
 * connection sensitivity is |g * w|, g the gradient of the training loss with respect to the effective weight
 * (the derivative of the loss by the connection's mask, so pruned connections have one too), on a few training
 * batches (the sum of their mean cross-entropies; BatchNorm on each batch's statistics, see scoring.ts). The
 * lowest sensitivities go, globally by default as in the paper. The paper's division by the scores' sum does
 * not change the ranking and is left out.
 */
import type { nn } from '@sparsenet/tensor';
import type { Pruner, ScoreContext } from '../prune/registry.js';
import type { PrunableLayer } from '../prune/types.js';
import { SCOPE_OPTION, scorePrune } from '../prune/unstructured.js';
import { checkBatches, checkSparsity, crossEntropyBackward, effectiveWeights, givenScores, weightGradients, withScoringModel } from './scoring.js';

/** |g * w| per weight of each layer, g summed over `batches`. */
export async function snipScores(model: nn.Module, layers: readonly PrunableLayer[], batches: ScoreContext['batches']): Promise<Float32Array[]> {
  checkBatches('snip', batches);
  return withScoringModel(model, 'batch-statistics', async () => {
    const grads = await weightGradients(model, layers, () => crossEntropyBackward(model, batches));
    return effectiveWeights(layers).map((w, i) => Float32Array.from(w, (v, j) => Math.abs(v * grads[i][j])));
  });
}

export const snipPruner: Pruner = {
  name: 'snip',
  help: 'SNIP (Lee et al. 2019): the lowest connection sensitivities |dL/dw * w| on --score-batches training batches go',
  options: [{ ...SCOPE_OPTION, default: 'global' }],
  score: (layers, { model, batches, sparsity }) => {
    checkSparsity('snip', sparsity);
    return snipScores(model, layers, batches);
  },
  computeMasks: (layers, context) => {
    checkSparsity('snip', context.sparsity);
    return scorePrune(layers, givenScores('snip', context), { fraction: context.sparsity, scope: context.options.scope as 'layer' | 'global' });
  },
};
