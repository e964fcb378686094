/**
 * Dynamic sparse training's mask update (SET, Mocanu et al. 2018; RigL, Evci et al. 2020), on one layer: drop the
 * `floor(kept * fraction)` kept weights of smallest |w|, then grow as many among the weights not kept after the
 * drop (so a weight just dropped may come straight back) by the largest grow score: |dense gradient| for RigL,
 * a seeded uniform draw for SET. Ties go to the lower index. The count of nonzero mask entries never changes.
 * Grown weights start at zero and their optimizer moments are reset by the caller (`grown` lists them); a weight
 * dropped and grown in the same update keeps its value, as in RigL's reference implementation.
 */
import { Random } from '@sparsenet/tensor';

/** RigL's drop fraction at step t: alpha (1 + cos(pi t / T_end)) / 2 before T_end, 0 after (no more updates). */
export function rigLDropFraction(alpha: number, step: number, endStep: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`--drop-fraction must be in (0, 1), got ${alpha}`);
  if (step >= endStep) return 0;
  return (alpha / 2) * (1 + Math.cos((Math.PI * step) / endStep));
}

/** Whether step t (0-based) updates the masks: every `every` steps from `every`, before `endStep`. */
export function isUpdateStep(step: number, every: number, endStep: number): boolean {
  return step > 0 && step % every === 0 && step < endStep;
}

export interface DropGrowResult {
  mask: Float32Array;
  /** Indices that were 0 in the old mask and are 1 now: zero their weights and moments. */
  grown: number[];
  /** Indices that were 1 in the old mask and are 0 now. */
  dropped: number[];
}

/** One layer's update: `growScore` [same length] ranks the candidates for growth (larger first). */
export function dropAndGrow(weight: Float32Array, mask: Float32Array, growScore: ArrayLike<number>, fraction: number, layer = 'layer'): DropGrowResult {
  if (weight.length !== mask.length || growScore.length !== mask.length) {
    throw new Error(`dropAndGrow: layer '${layer}' has ${weight.length} weights, a mask of ${mask.length} and ${growScore.length} grow scores`);
  }
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`dropAndGrow: layer '${layer}': drop fraction must be in [0, 1), got ${fraction}`);
  const kept: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kept.push(i);
  const count = Math.floor(kept.length * fraction);
  const next = Float32Array.from(mask);
  if (count === 0) return { mask: next, grown: [], dropped: [] };
  kept.sort((a, b) => Math.abs(weight[a]) - Math.abs(weight[b]) || a - b);
  const droppedNow = kept.slice(0, count);
  for (const i of droppedNow) next[i] = 0;
  const candidates: number[] = [];
  for (let i = 0; i < next.length; i++) if (next[i] === 0) candidates.push(i);
  candidates.sort((a, b) => growScore[b] - growScore[a] || a - b);
  const grownNow = candidates.slice(0, count);
  for (const i of grownNow) next[i] = 1;
  return {
    mask: next,
    grown: grownNow.filter((i) => mask[i] === 0).sort((a, b) => a - b),
    dropped: droppedNow.filter((i) => next[i] === 0).sort((a, b) => a - b),
  };
}

/** RigL's grow score: |dense gradient|. */
export function rigLGrowScore(denseGradient: Float32Array): Float32Array {
  return denseGradient.map(Math.abs);
}

/** SET's grow score: uniform draws from a generator seeded by (seed, step, layer index), reproducible by seed. */
export function setGrowScore(size: number, seed: number, step: number, layerIndex: number): Float32Array {
  const random = new Random((seed * 1_000_003 + step * 8191 + layerIndex * 131) >>> 0);
  return Float32Array.from({ length: size }, () => random.next());
}
