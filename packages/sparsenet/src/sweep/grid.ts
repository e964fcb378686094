/**
 * The sweep's grid of work (ShrinkBench style): per seed one dense LeNet baseline, then per pruner and sparsity
 * one fine-tune of that baseline, pruned one-shot before its first step. Sparsity 0 prunes nothing whatever the
 * pruner, so it is one unit per seed, `dense-finetuned` (the baseline fine-tuned as long as the pruned models,
 * their fair control), not one identical run per pruner. Units are listed seed-major, the dense baseline first,
 * so a contiguous slice of the list needs at most one baseline it does not own. A method trained sparse from
 * scratch (scratch.ts: random-init, gradual, snip, rigl, ...) is a unit of kind 'scratch' instead: trained from
 * its initialisation for the baseline's epochs, it needs no baseline, and its sparsity 0 would be the baseline
 * itself, so it has none.
 *
 * Sharding: shard K of N owns the units whose cost midpoint (cost = training epochs) falls in the K-th of N
 * equal parts of the total cost; the slices are disjoint, cover the grid and are balanced by epochs. A shard
 * that owns fine-tunes of a seed whose baseline another shard owns trains its own copy of that baseline, in a
 * folder named for the shard (so shards never write the same folder, even with a shared --out). The copy is not
 * one of the shard's results: the table takes each baseline from the shard that owns it.
 */
import type { LrSchedule } from '../train/config.js';
import { isScratchMethod } from './scratch.js';

export const SWEEP_PRUNERS = ['magnitude', 'random', 'structured'] as const;
export type SweepPruner = (typeof SWEEP_PRUNERS)[number];
/** What `--pruners` lists: a pruner whose one-shot pruning of the baseline is fine-tuned, or a scratch method's name. */
export type SweepMethod = SweepPruner | string;
export const UNSTRUCTURED_SPARSITIES: readonly number[] = [0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98];
/** Structured: the fraction of conv filters AND of linear neurons pruned in each layer. */
export const STRUCTURED_FRACTIONS: readonly number[] = [0, 0.25, 0.5, 0.75];
/** What the structured pruner prunes in the sweep, in this order (train's --structure). */
export const SWEEP_STRUCTURES = 'filters,neurons';

/** Everything that decides which units exist and what each computes. */
export interface SweepGrid {
  /** The zoo architecture every unit trains (train's --arch). */
  arch: string;
  seeds: number[];
  pruners: SweepMethod[];
  /** One list for every pruner instead of the defaults above; null = the defaults. */
  sparsities: number[] | null;
  /** Unstructured pruning: rank per layer or across all layers. */
  scope: 'layer' | 'global';
  /** Dense baseline epochs. */
  epochs: number;
  finetuneEpochs: number;
  batchSize: number;
  lr: number;
  lrSchedule: LrSchedule;
  data: string | null;
  limit: number | null;
}

export interface SweepUnit {
  /** Also the unit's folder under --out: `seed0/dense`, `seed0/magnitude-0.9`. */
  id: string;
  kind: 'dense' | 'finetune' | 'scratch';
  seed: number;
  /** 'dense' for the baseline, 'dense-finetuned' for its unpruned fine-tune (every pruner's sparsity 0). */
  pruner: 'dense' | 'dense-finetuned' | SweepMethod;
  /** Target sparsity (structured: fraction of filters and neurons); 0 for the baseline. */
  sparsity: number;
  /** Training epochs: what the shards are balanced by. */
  cost: number;
}

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function sparsitiesOf(grid: SweepGrid, pruner: SweepMethod): readonly number[] {
  return grid.sparsities ?? (pruner === 'structured' ? STRUCTURED_FRACTIONS : UNSTRUCTURED_SPARSITIES);
}

export function denseUnit(grid: SweepGrid, seed: number): SweepUnit {
  return { id: `seed${seed}/dense`, kind: 'dense', seed, pruner: 'dense', sparsity: 0, cost: grid.epochs };
}

/**
 * All units, seed-major: each seed's dense baseline, its unpruned fine-tune if any fine-tuned pruner lists
 * sparsity 0, then its pruned units pruner by pruner (fine-tunes, or trainings from scratch), sparsity ascending.
 */
export function enumerateUnits(grid: SweepGrid): SweepUnit[] {
  const control = grid.pruners.some((pruner) => !isScratchMethod(pruner) && sparsitiesOf(grid, pruner).includes(0));
  return grid.seeds.flatMap((seed) => [
    denseUnit(grid, seed),
    ...(control ? [{ id: `seed${seed}/dense-finetuned`, kind: 'finetune', seed, pruner: 'dense-finetuned', sparsity: 0, cost: grid.finetuneEpochs } satisfies SweepUnit] : []),
    ...grid.pruners.flatMap((pruner) =>
      [...sparsitiesOf(grid, pruner)].filter((sparsity) => sparsity > 0).sort((a, b) => a - b).map((sparsity): SweepUnit => ({
        id: `seed${seed}/${pruner}-${sparsity}`, seed, pruner, sparsity,
        ...(isScratchMethod(pruner) ? { kind: 'scratch', cost: grid.epochs } : { kind: 'finetune', cost: grid.finetuneEpochs }),
      })),
    ),
  ]);
}

/** Parses `K/N` (1 <= K <= N). */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`sweep: --shard must look like K/N (e.g. 2/4), got '${text}'`);
  const [index, count] = [Number(match[1]), Number(match[2])];
  if (count < 1) throw new Error(`sweep: --shard ${text}: N must be at least 1`);
  if (index < 1 || index > count) throw new Error(`sweep: --shard ${text}: K must be between 1 and N = ${count}, got ${index}`);
  return { index, count };
}

export function shardName(shard: Shard): string {
  return `${shard.index}-of-${shard.count}`;
}

/** The 1-based shard owning each unit (same order as `units`). Integer arithmetic: no rounding at the edges. */
export function assignShards(units: readonly SweepUnit[], count: number): number[] {
  const total = units.reduce((sum, u) => sum + u.cost, 0);
  let start = 0;
  return units.map((unit) => {
    // Midpoint start + cost/2 in part floor(midpoint * count / total), all doubled to stay in integers.
    const part = total === 0 ? 0 : Math.floor(((2 * start + unit.cost) * count) / (2 * total));
    start += unit.cost;
    return Math.min(part, count - 1) + 1;
  });
}

export interface ShardWork {
  /** The units this shard owns, in grid order. */
  owned: SweepUnit[];
  /** Baselines owned elsewhere that this shard's fine-tunes start from (trained here as copies). */
  copies: SweepUnit[];
}

export function shardWork(grid: SweepGrid, shard: Shard): ShardWork {
  const units = enumerateUnits(grid);
  const owners = assignShards(units, shard.count);
  const owned = units.filter((_, i) => owners[i] === shard.index);
  const ownedIds = new Set(owned.map((u) => u.id));
  const seedsNeeded = [...new Set(owned.filter((u) => u.kind === 'finetune').map((u) => u.seed))];
  const copies = seedsNeeded.map((seed) => denseUnit(grid, seed)).filter((u) => !ownedIds.has(u.id));
  return { owned, copies };
}

/** The folder of a unit, or of this shard's copy of a baseline. */
export function unitFolder(unit: SweepUnit, copyFor?: Shard): string {
  return copyFor ? `${unit.id}.copy-${shardName(copyFor)}` : unit.id;
}
