/**
 * Dynamic sparse training in the training loop (`--pruner set|rigl`): random masks within each layer's budget
 * before the first step, then every --update-every steps until --update-end of the run a mask update that
 * replaces that step (trainEpoch's replaceStep). Weights and gradients are read back only on update steps.
 *
 * The optimizer on an update step follows google-research/rigl (sparse_optimizers.py): RigL's update step takes
 * no optimizer step (SparseRigLOptimizer.apply_gradients runs the mask update *instead of* apply_gradients; its
 * forward and backward give the dense gradient that ranks growth); SET takes its optimizer step, then updates
 * the masks. Grown weights start at zero with zero Adam moments (RigL's grow_init 'zeros' and reset_momentum):
 * masked Adam already zeroes pruned weights and moments at every step, and zeroStateAt makes it so even when no
 * step has run since a weight was dropped (RigL with --update-every 1).
 *
 * Records go to the run folder: dynamic.json (budgets; per update and layer, weights dropped and grown; the mask
 * snapshots) and dynamic-masks/step-<t>.safetensors (weights and masks at the start, after the updates nearest
 * 1/3 and 2/3 of them, and after the last). The updates so far ride in the resume checkpoint's loop state.
 */
import { join } from 'node:path';
import { safetensors, type nn, type optim } from '@sparsenet/tensor';
import { writeFileAtomic } from '@sparsenet/viz';
import type { Batch } from '../data/index.js';
import { loadLayerMasks, prunableLayers, weightedLayers, withMasks, type LayerGraph, type PrunableLayer } from '../prune/index.js';
import { dynamicBudgets, dynamicUpdate, initialDynamicMasks, updateSteps, type DynamicOptions, type LayerBudget, type MaskUpdate } from '../sparse-training/dynamic.js';
import { isDynamicMethod } from '../sparse-training/dynamic-config.js';
import type { TrainConfig } from './config.js';
import { trainStep, type RunningTotals } from './steps.js';

export const DYNAMIC_FILE = 'dynamic.json';
export const DYNAMIC_MASKS_DIR = 'dynamic-masks';

/** What the resume checkpoint keeps: the updates made so far (masks and moments are in the model and optimizer). */
export interface DynamicState {
  updates: MaskUpdate[];
}

export interface MaskSnapshot {
  step: number;
  label: string;
  /** Relative to the run folder. */
  file: string;
}

/** dynamic.json. */
export interface DynamicRecords {
  method: string;
  sparsity: number;
  densityDistribution: string;
  denseFirst: boolean;
  updateEvery: number;
  endStep: number;
  dropFraction: number;
  totalSteps: number;
  layers: LayerBudget[];
  updates: MaskUpdate[];
  /** The snapshots taken so far. */
  snapshots: MaskSnapshot[];
}

export interface DynamicTrainingArgs {
  model: nn.Module;
  graph: LayerGraph;
  config: TrainConfig;
  /** Optimizer steps of the whole run. */
  totalSteps: number;
  /** The optimizer of the next step. */
  optimizer: () => optim.Optimizer;
  outDir: string;
  /** The resumed run's state; absent: a new run, whose initial masks are drawn now. */
  state?: DynamicState;
  log?: (line: string) => void;
}

export class DynamicTraining {
  private readonly updates: MaskUpdate[];
  private readonly updateSet: Set<number>;
  /** Steps after whose update a snapshot is taken (0: the initial masks), with their labels. */
  private readonly plannedSnapshots: Map<number, string>;

  private constructor(
    private readonly args: DynamicTrainingArgs,
    readonly options: DynamicOptions,
    readonly budgets: LayerBudget[],
    state: DynamicState | undefined,
  ) {
    this.updates = [...(state?.updates ?? [])];
    const steps = updateSteps(options);
    this.updateSet = new Set(steps);
    const n = steps.length;
    this.plannedSnapshots = new Map([[0, 'start']]);
    for (const k of new Set([Math.ceil(n / 3), Math.ceil((2 * n) / 3), n])) {
      if (k >= 1) this.plannedSnapshots.set(steps[k - 1], `after update ${k} of ${n} (step ${steps[k - 1]})`);
    }
  }

  /** Budgets from the model's layers; a new run's masks are drawn (seeded) and uploaded, and its start snapshot written. */
  static async start(args: DynamicTrainingArgs): Promise<DynamicTraining> {
    const { config } = args;
    if (!isDynamicMethod(config.pruner)) throw new Error(`DynamicTraining: --pruner ${config.pruner} is not a dynamic sparse training method (set, rigl)`);
    const options: DynamicOptions = {
      method: config.pruner, sparsity: config.sparsity, distribution: config.densityDistribution, denseFirst: config.denseFirst,
      updateEvery: config.updateEvery, endStep: Math.floor(config.updateEnd * args.totalSteps), dropFraction: config.dropFraction, seed: config.seed,
    };
    const layers = await prunableLayers(args.model, args.graph);
    const budgets = dynamicBudgets(layers, options);
    const dynamic = new DynamicTraining(args, options, budgets, args.state);
    if (!args.state) {
      const masked = withMasks(layers, initialDynamicMasks(layers, budgets, config.seed));
      loadLayerMasks(args.model, masked);
      dynamic.snapshot(0, masked);
    }
    const steps = updateSteps(options);
    args.log?.(`${options.method}: ${budgets.map((b) => `${b.name} ${b.kept}/${b.shape.reduce((a, c) => a * c, 1)}`).join(', ')} kept (${options.distribution}); ${steps.length} mask updates every ${options.updateEvery} steps until step ${options.endStep}`);
    return dynamic;
  }

  /** trainEpoch's replaceStep: on an update step, the step as the method takes it and the mask update; else false. */
  readonly replaceStep = async (step: number, batch: Batch, lr: number, totals: RunningTotals): Promise<boolean> => {
    if (!this.updateSet.has(step)) return false;
    const { model, graph } = this.args;
    const optimizer = this.args.optimizer();
    let gradients: Map<string, Float32Array> | null = null;
    if (this.options.method === 'rigl') {
      trainStep(model, optimizer, batch, lr, totals, { denseWeightGradients: true, optimizerStep: false });
      const modules = weightedLayers(model);
      gradients = new Map(await Promise.all(modules.map(async ([name, m]) => {
        if (!m.weight.grad) throw new Error(`--pruner rigl: layer '${name}' [${m.weight.shape}] got no weight gradient at step ${step} (is it used in the forward?)`);
        return [name, (await m.weight.grad.toArray()) as Float32Array] as const;
      })));
      optimizer.zeroGrad();
    } else trainStep(model, optimizer, batch, lr, totals);
    const layers = await prunableLayers(model, graph);
    const { masks, grown, record } = dynamicUpdate(layers, gradients, step, this.options);
    const byName = new Map(layers.map((l) => [l.name, l]));
    const modules = new Map(weightedLayers(model));
    // Grown weights start at zero (they are zero already when masked Adam has run since they were pruned).
    const updated = masks.map((m, i): PrunableLayer => {
      const layer = byName.get(m.name)!;
      const weight = layer.weight.slice();
      for (const j of grown[i]) weight[j] = 0;
      return { ...layer, weight, mask: m.mask, biasMask: m.biasMask ?? layer.biasMask };
    });
    loadLayerMasks(model, updated);
    for (const [i, m] of masks.entries()) await optimizer.zeroStateAt(modules.get(m.name)!.weight, grown[i]);
    this.updates.push(record);
    if (this.plannedSnapshots.has(step)) {
      const byUpdate = new Map(updated.map((l) => [l.name, l]));
      this.snapshot(step, layers.map((l) => byUpdate.get(l.name) ?? l));
    }
    return true;
  };

  state(): DynamicState {
    return { updates: [...this.updates] };
  }

  /** dynamic.json, written whole (after each epoch, beside the checkpoint whose state it matches). */
  records(): DynamicRecords {
    const last = this.updates.at(-1)?.step ?? 0;
    const { options, args } = this;
    return {
      method: options.method, sparsity: options.sparsity, densityDistribution: options.distribution, denseFirst: options.denseFirst,
      updateEvery: options.updateEvery, endStep: options.endStep, dropFraction: options.dropFraction, totalSteps: args.totalSteps,
      layers: this.budgets, updates: this.updates,
      snapshots: [...this.plannedSnapshots].filter(([step]) => step <= last).map(([step, label]) => ({ step, label, file: snapshotFile(step) })),
    };
  }

  writeRecords(): void {
    writeFileAtomic(join(this.args.outDir, DYNAMIC_FILE), `${JSON.stringify(this.records())}\n`);
  }

  /** Weights (times masks) and masks of every layer at `step`, under PyTorch's names. */
  private snapshot(step: number, layers: readonly PrunableLayer[]): void {
    const tensors: Record<string, safetensors.SafetensorsEntry> = {};
    for (const l of layers) {
      tensors[`${l.name}.weight`] = { dtype: 'F32', shape: l.shape, data: l.weight.map((w, i) => (l.mask[i] === 0 ? 0 : w)) };
      tensors[`${l.name}.weight_mask`] = { dtype: 'F32', shape: l.shape, data: l.mask };
    }
    writeFileAtomic(join(this.args.outDir, snapshotFile(step)), safetensors.encode(tensors, { step: String(step), label: this.plannedSnapshots.get(step)! }));
  }
}

function snapshotFile(step: number): string {
  return join(DYNAMIC_MASKS_DIR, `step-${step}.safetensors`);
}
