/**
 * Methods the sweep trains sparse from scratch (unit kind 'scratch'): each is one entry below, its name in
 * `--pruners` -> the training settings that train a SparseNet from its initialisation at a sparsity for the dense
 * baseline's epochs (no baseline needed; the fair comparison with it is the same epochs at the same recipe).
 * Each entry's pruner is one of train's --pruner names (typed: a table naming an unknown one does not compile).
 */
import type { PrunerName, TrainConfig } from '../train/config.js';

/** The TrainConfig fields a method sets (its pruner always). */
export type ScratchSettings = Partial<TrainConfig> & { pruner: PrunerName };

export interface ScratchMethod {
  name: string;
  help: string;
  /** The settings at the unit's epochs (its sparsity is the unit's). */
  settings: (epochs: number) => ScratchSettings;
}

/** Gradual magnitude pruning: optimizer steps between pruning events (HAM10000's LeNet: ~110 steps per epoch). */
export const GRADUAL_EVERY = 10;

/**
 * Gradual magnitude pruning (Zhu & Gupta 2017) from scratch: one dense epoch, then the cubic ramp to the target
 * every GRADUAL_EVERY steps, reached at 75% of training (epochs 1 -> 23 of 30), the rest trained at the target.
 * Runs shorter than 4 epochs (smoke runs) ramp from the first step instead.
 */
export function gradualSpan(epochs: number): { pruneStart: number; pruneEnd: number } {
  const pruneStart = epochs >= 4 ? 1 : 0;
  return { pruneStart, pruneEnd: Math.max(pruneStart + 1, Math.ceil(0.75 * epochs)) };
}

/** Pruned once before the first step, then trained with the mask (global scope, as the one-shot rows). */
const atInit = (pruner: PrunerName) => (): ScratchSettings => ({ pruner, schedule: 'oneshot', pruneStart: 0, scope: 'global' });

export const SCRATCH_METHODS: readonly ScratchMethod[] = [
  { name: 'random-init', help: 'random pruning of the untrained model', settings: atInit('random') },
  {
    name: 'gradual', help: `gradual magnitude pruning (Zhu & Gupta) during training, every ${GRADUAL_EVERY} steps to 75% of it`,
    settings: (epochs) => ({ pruner: 'magnitude', schedule: 'gradual', scope: 'global', pruneEvery: GRADUAL_EVERY, ...gradualSpan(epochs) }),
  },
  { name: 'snip', help: 'SNIP at initialisation', settings: atInit('snip') },
  { name: 'grasp', help: 'GraSP at initialisation', settings: atInit('grasp') },
  { name: 'synflow', help: 'SynFlow at initialisation', settings: atInit('synflow') },
  // Dynamic sparse training: sparse from step 0, the masks updated during training by the method itself.
  { name: 'set', help: 'SET: drop the smallest, regrow at random', settings: () => ({ pruner: 'set', pruneStart: 0 }) },
  { name: 'rigl', help: 'RigL: drop the smallest, regrow by |dense gradient|', settings: () => ({ pruner: 'rigl', pruneStart: 0 }) },
];

export const SCRATCH_METHOD_NAMES: readonly string[] = SCRATCH_METHODS.map((m) => m.name);

export function isScratchMethod(name: string): boolean {
  return SCRATCH_METHOD_NAMES.includes(name);
}

export function scratchMethod(name: string): ScratchMethod {
  const method = SCRATCH_METHODS.find((m) => m.name === name);
  if (!method) throw new Error(`sweep: no method '${name}' trained from scratch (methods: ${SCRATCH_METHOD_NAMES.join(', ')})`);
  return method;
}
