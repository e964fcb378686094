/**
 * Which epoch's model becomes best.safetensors: the best validation score (accuracy, balanced accuracy or
 * loss, by --select) among epochs after pruning has finished (a dense early epoch is not a pruned model's best).
 */
import type { TrainConfig } from './config.js';
import type { ClassificationMetrics } from './metrics.js';

export function selectionScore(metrics: ClassificationMetrics, select: TrainConfig['select']): number {
  if (select === 'loss') return -metrics.loss;
  return select === 'balanced-accuracy' ? metrics.balancedAccuracy : metrics.accuracy;
}

/** True when this epoch's model should replace best.safetensors; `best` is the score of the current one. */
export function isNewBest(score: number, best: number | null, pruningDone: boolean): boolean {
  return pruningDone && (best === null || score > best);
}
