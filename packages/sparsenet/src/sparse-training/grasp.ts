/**
 * GraSP (Wang et al. 2020, "Picking Winning Tickets Before Training by Preserving Gradient Flow"): a weight's
 * score is S = -w * (H g), g the gradient of the training loss with respect to the prunable weights and H its
 * Hessian; the LARGEST scores go (removing them reduces the gradient norm least, or raises it), as the paper's
 * Algorithm 1 and its code (alecwangcq/GraSP: scores -w * Hg, the top `ratio` removed). As that code, the loss
 * divides the logits by a temperature T = 200, the batches' losses are summed, and only conv and linear weights
 * are in g. The pruner ranks by -S (its lowest go). The code's division by |sum S| does not change the ranking.
 *
 * Our autograd has no double backward, so H g is the central finite difference of the gradient along g:
 * H g ~ (grad L(w + eps g) - grad L(w - eps g)) / (2 eps), with eps such that |eps g| = 1e-4 |w| (over all
 * prunable weights). Its error is O(eps^2) plus float32 rounding / eps: measured against PyTorch's exact double
 * backward on the test net, 2.7e-4 of the largest score in float32 (pytorch/fixtures/make_init_scores.py). A ReLU
 * or max-pool kink that the perturbation crosses adds a term double backward does not see (it treats them as
 * locally linear); the small step keeps such crossings rare. On a model with masks, g and the perturbation are
 * restricted to the weights alive (H g of the sparse network), with BatchNorm on each batch's statistics.
 */
import type { nn } from '@sparsenet/tensor';
import type { Pruner, ScoreContext } from '../prune/registry.js';
import { applyMask, type PrunableLayer } from '../prune/types.js';
import { SCOPE_OPTION, scorePrune } from '../prune/unstructured.js';
import { checkBatches, checkSparsity, crossEntropyBackward, effectiveWeights, givenScores, positiveOption, weightGradients, withScoringModel, writeWeights } from './scoring.js';

/** The finite difference's step: |eps g| relative to |w|. */
export const GRASP_RELATIVE_STEP = 1e-4;

/** The paper's score S = -w * (H g) per weight of each layer (its largest go), the loss's logits divided by `temperature`. */
export async function graspScores(model: nn.Module, layers: readonly PrunableLayer[], batches: ScoreContext['batches'], temperature = 200): Promise<Float32Array[]> {
  checkBatches('grasp', batches);
  return withScoringModel(model, 'batch-statistics', async () => {
    const backward = () => crossEntropyBackward(model, batches, temperature);
    const weights = effectiveWeights(layers);
    const g = (await weightGradients(model, layers, backward)).map((grad, i) => applyMask(grad, layers[i].mask));
    const gNorm = norm(g);
    if (gNorm === 0) return weights.map((w) => new Float32Array(w.length));
    const eps = (GRASP_RELATIVE_STEP * norm(weights)) / gNorm;
    const gradientAt = (sign: number) => {
      writeWeights(model, layers, layers.map((layer, i) => Float32Array.from(layer.weight, (v, j) => v + sign * eps * g[i][j])));
      return weightGradients(model, layers, backward);
    };
    const plus = await gradientAt(1);
    const minus = await gradientAt(-1);
    return weights.map((w, i) => Float32Array.from(w, (v, j) => (-v * (plus[i][j] - minus[i][j])) / (2 * eps)));
  });
}

function norm(arrays: readonly Float32Array[]): number {
  let sum = 0;
  for (const a of arrays) for (const v of a) sum += v * v;
  return Math.sqrt(sum);
}

export const graspPruner: Pruner = {
  name: 'grasp',
  help: 'GraSP (Wang et al. 2020): the largest -w * Hg go (Hg by finite differences of the gradient), on --score-batches training batches',
  options: [{ ...SCOPE_OPTION, default: 'global' }, { name: 'temperature', help: "the loss's logits divided by T (the GraSP code's 200)", default: '200' }],
  score: async (layers, { model, batches, sparsity, options }) => {
    checkSparsity('grasp', sparsity);
    const scores = await graspScores(model, layers, batches, positiveOption('grasp', 'temperature', options.temperature));
    return scores.map((s) => s.map((v) => -v));
  },
  computeMasks: (layers, context) => {
    checkSparsity('grasp', context.sparsity);
    return scorePrune(layers, givenScores('grasp', context), { fraction: context.sparsity, scope: context.options.scope as 'layer' | 'global' });
  },
};
