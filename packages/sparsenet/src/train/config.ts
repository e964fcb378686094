/**
 * The training configuration: its defaults, its command-line flags (the names scripts rely on) and its checks.
 * One table describes every flag, so `--help`, parsing and validation cannot drift apart.
 */
import { parseArgs } from 'node:util';
import { parseStructures } from '../prune/structured.js';
import { DYNAMIC_METHODS, isDynamicMethod, type DynamicMethod } from '../sparse-training/dynamic-config.js';
import type { DensityDistribution } from '../sparse-training/densities.js';
import { parseNmPattern } from '../sparse-training/nm.js';
import { LAYOUTS, NORMALIZE_MODES, type Layout, type NormalizeMode } from '../data/index.js';
import { MIN_INPUT_SIZE } from '../model.js';
import type { ArchitectureSpec } from '../run-metadata.js';
import { ARCHITECTURES, fullSpec } from '../zoo/index.js';

export type ModelName = 'lenet' | 'sparsenet';
export type PrunerName = 'none' | 'magnitude' | 'random' | 'structured' | 'nm' | 'snip' | 'grasp' | 'synflow' | DynamicMethod;
export type ScheduleName = 'oneshot' | 'iterative' | 'gradual';
export type SelectMetric = 'accuracy' | 'balanced-accuracy' | 'loss';
export type LrSchedule = 'constant' | 'cosine';

export interface TrainConfig {
  /** Masks: 'lenet' = none, 'sparsenet' = weight_mask/bias_mask on every conv and linear layer (of any --arch). */
  model: ModelName;
  /** A zoo architecture (zoo/index.ts): lenet, vgg, resnet, resnet20. */
  arch: string;
  /** The architecture's options as JSON, over the zoo's defaults ('{"blocks":[2,2,2]}'); '{}' = the defaults. */
  archOptions: string;
  pruner: PrunerName;
  scope: 'layer' | 'global';
  sparsity: number;
  /**
   * plan.json {layer: sparsity} (npm run sensitivity --target): magnitude pruning of each named layer to its own
   * target (layers not named stay dense); the plan's overall sparsity replaces --sparsity. null: no plan.
   */
  sparsityPlan: string | null;
  schedule: ScheduleName;
  /** One structure, or a comma-separated list pruned in turn at each event ('filters,neurons'). */
  structure: string;
  norm: 'l1' | 'l2';
  /** N:M pattern of --pruner nm (--nm N:M alone implies that pruner; its sparsity is 1 - N/M). */
  nm: string;
  /** --pruner nm: comma-separated layers to prune N:M; '' = every layer whose input dimension M divides. */
  nmLayers: string;
  /** Epoch at which pruning starts (one-shot prunes here). */
  pruneStart: number;
  /** Epoch by which the target is reached (iterative and gradual). */
  pruneEnd: number;
  /** Iterative: epochs between rounds. Gradual: optimizer steps between pruning events. */
  pruneEvery: number;
  /** snip, grasp: the training batches their scores are computed on. */
  scoreBatches: number;
  /** Lottery-ticket rewinding after the last pruning event: 'none', 'init', or an epoch number. */
  rewind: string;
  /** Dynamic sparse training (set, rigl): per-layer budgets of --sparsity. */
  densityDistribution: DensityDistribution;
  /** Dynamic sparse training: the first layer stays dense (counted in the budget). */
  denseFirst: boolean;
  /** Dynamic sparse training: optimizer steps between mask updates (RigL's delta T). */
  updateEvery: number;
  /** Dynamic sparse training: the fraction of training after which masks stop changing (RigL's T_end). */
  updateEnd: number;
  /** Dynamic sparse training: the fraction of each layer's kept weights dropped at the first update (alpha), cosine-decayed. */
  dropFraction: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Learning rate over the run's optimizer steps: constant, or cosine annealing from --lr to 0. */
  lrSchedule: LrSchedule;
  weightDecay: number;
  seed: number;
  /** A data folder or CSV in any layout; null: the embedded HAM10000 set. */
  data: string | null;
  /** The data's layout, or 'auto' to detect it from the folder's contents. */
  layout: Layout | 'auto';
  /** Side the images are resized to; the model's input size. */
  imageSize: number;
  /** Input normalisation: (x - 0.5) / 0.5, or the training part's per-channel mean and std. */
  normalize: NormalizeMode;
  /** Start from this checkpoint's weights (and masks, if it has them): fine-tuning a trained model. */
  init: string | null;
  out: string;
  resume: boolean;
  limit: number | null;
  balanced: boolean;
  flips: boolean;
  select: SelectMetric;
  evalBatchSize: number;
  /** Write report.html and figures at the end. */
  report: boolean;
}

interface Flag {
  key: keyof TrainConfig;
  type: 'string' | 'number' | 'boolean';
  help: string;
  choices?: readonly string[];
}

export const TRAIN_FLAGS: readonly Flag[] = [
  { key: 'model', type: 'string', choices: ['lenet', 'sparsenet'], help: 'no masks (lenet), or masked layers that pruners act on (sparsenet), on any --arch' },
  { key: 'arch', type: 'string', choices: ARCHITECTURES, help: 'the architecture, from the model zoo' },
  { key: 'archOptions', type: 'string', help: 'the architecture\'s options as JSON over its defaults, e.g. \'{"widths":[16,32,64],"blocks":[2,2,2]}\'' },
  { key: 'pruner', type: 'string', choices: ['none', 'magnitude', 'random', 'structured', 'nm', 'snip', 'grasp', 'synflow', ...DYNAMIC_METHODS], help: 'how to prune (sparsenet only); nm keeps N of every M (--nm); snip, grasp and synflow score the model, usually at init (--prune-start 0); set and rigl train sparse from the first step, dropping and regrowing weights' },
  { key: 'scope', type: 'string', choices: ['layer', 'global'], help: 'unstructured pruning: rank per layer or across all layers' },
  { key: 'sparsity', type: 'number', help: 'target fraction of weights pruned (structured: of filters/neurons per layer)' },
  { key: 'sparsityPlan', type: 'string', help: "magnitude pruning: a plan.json of per-layer sparsities (npm run sensitivity -- RUN --target S); each event's layer targets scale with the schedule's, reaching the plan at its end" },
  { key: 'schedule', type: 'string', choices: ['oneshot', 'iterative', 'gradual'], help: 'one-shot then fine-tune, rounds every --prune-every epochs, or Zhu-Gupta cubic' },
  { key: 'structure', type: 'string', help: "structured pruning: conv filters, conv input channels or linear neurons (filters|channels|neurons), or a list pruned in turn ('filters,neurons', the sweep's)" },
  { key: 'norm', type: 'string', choices: ['l1', 'l2'], help: 'structured pruning: rank units by this norm' },
  { key: 'nm', type: 'string', help: 'N:M sparsity (implies --pruner nm and --sparsity 1-N/M): the N largest |w| of every M along the input dimension; gradual steps the kept count per group from M to N' },
  { key: 'nmLayers', type: 'string', help: "--pruner nm: comma-separated layers to prune N:M ('' = every layer whose input dimension M divides; the others stay dense with a warning)" },
  { key: 'pruneStart', type: 'number', help: 'epoch at which pruning starts (one-shot prunes here)' },
  { key: 'pruneEnd', type: 'number', help: 'epoch by which iterative/gradual pruning reaches the target' },
  { key: 'pruneEvery', type: 'number', help: 'iterative: epochs between rounds; gradual: optimizer steps between events' },
  { key: 'scoreBatches', type: 'number', help: 'snip, grasp: training batches (of --batch-size) the scores are computed on' },
  { key: 'rewind', type: 'string', help: "lottery ticket: after the last pruning, reset survivors to 'init' or to epoch N's weights ('none' = off)" },
  { key: 'densityDistribution', type: 'string', choices: ['uniform', 'erk'], help: "set/rigl: per-layer density, the same in every layer or Erdős–Rényi-Kernel (RigL's ERK)" },
  { key: 'denseFirst', type: 'boolean', help: 'set/rigl: keep the first layer dense (its weights count towards --sparsity)' },
  { key: 'updateEvery', type: 'number', help: 'set/rigl: optimizer steps between mask updates (delta T)' },
  { key: 'updateEnd', type: 'number', help: 'set/rigl: fraction of the run after which masks stop changing (T_end)' },
  { key: 'dropFraction', type: 'number', help: 'set/rigl: fraction of kept weights dropped and regrown at the first update, cosine-decayed to 0 at T_end' },
  { key: 'epochs', type: 'number', help: 'training epochs' },
  { key: 'batchSize', type: 'number', help: 'images per training step' },
  { key: 'lr', type: 'number', help: 'Adam learning rate (the start of the schedule)' },
  { key: 'lrSchedule', type: 'string', choices: ['constant', 'cosine'], help: "learning rate per step: constant, or PyTorch's CosineAnnealingLR from --lr to 0 over the run" },
  { key: 'weightDecay', type: 'number', help: "Adam's L2 weight decay" },
  { key: 'seed', type: 'number', help: 'seed of initialisation, split, batches, flips and random pruning' },
  { key: 'data', type: 'string', help: 'a data folder: HAM10000 (HAM10000_metadata.csv + images), train/ and test/ (optional val/) of class folders, one folder per class, or a CSV of file,label[,group][,split]; default: the embedded 64x64 HAM10000 set' },
  { key: 'layout', type: 'string', choices: ['auto', ...LAYOUTS], help: "the --data folder's layout ('auto': detected from its contents)" },
  { key: 'imageSize', type: 'number', help: "side the images are resized to (as PIL's resize(BOX)), the model's input size" },
  { key: 'normalize', type: 'string', choices: NORMALIZE_MODES, help: "inputs (x - 0.5) / 0.5 ('half'), or by the training part's per-channel mean and std ('dataset')" },
  { key: 'init', type: 'string', help: 'start from this checkpoint (e.g. a dense final.safetensors) and fine-tune it' },
  { key: 'out', type: 'string', help: 'run folder (metrics, checkpoints, split, report)' },
  { key: 'resume', type: 'boolean', help: "continue the run in --out from its last checkpoint" },
  { key: 'limit', type: 'number', help: 'use only the first N images (smoke runs)' },
  { key: 'balanced', type: 'boolean', help: 'class-balanced sampling of training batches' },
  { key: 'flips', type: 'boolean', help: 'random horizontal and vertical flips (--no-flips to turn off)' },
  { key: 'select', type: 'string', choices: ['accuracy', 'balanced-accuracy', 'loss'], help: 'validation metric that picks best.safetensors' },
  { key: 'evalBatchSize', type: 'number', help: 'images per evaluation batch' },
  { key: 'report', type: 'boolean', help: 'write report.html and figures (--no-report to skip)' },
];

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: 'lenet',
  arch: 'lenet',
  archOptions: '{}',
  pruner: 'none',
  scope: 'global',
  sparsity: 0.9,
  sparsityPlan: null,
  schedule: 'oneshot',
  structure: 'filters',
  norm: 'l1',
  nm: '2:4',
  nmLayers: '',
  pruneStart: 10,
  pruneEnd: 15,
  pruneEvery: 1,
  scoreBatches: 1,
  rewind: 'none',
  densityDistribution: 'erk',
  denseFirst: false,
  updateEvery: 100,
  updateEnd: 0.75,
  dropFraction: 0.3,
  epochs: 30,
  batchSize: 64,
  lr: 1e-3,
  lrSchedule: 'cosine',
  weightDecay: 0,
  seed: 0,
  data: null,
  layout: 'auto',
  imageSize: 64,
  normalize: 'half',
  init: null,
  out: 'runs/latest',
  resume: false,
  limit: null,
  balanced: false,
  flips: true,
  select: 'accuracy',
  evalBatchSize: 256,
  report: true,
};

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function trainHelp(command = 'npm run train --'): string {
  const lines = TRAIN_FLAGS.map((f) => {
    const value = DEFAULT_TRAIN_CONFIG[f.key];
    const shown = f.type === 'boolean' ? (value ? 'on' : 'off') : value === null ? '-' : String(value);
    const choices = f.choices ? ` (${f.choices.join('|')})` : '';
    return `  --${flagName(f.key).padEnd(18)} ${f.help}${choices} [default: ${shown}]`;
  });
  return `usage: ${command} [flags]\n\n${lines.join('\n')}\n  --help               this list`;
}

/** Parses argv into a config; unknown flags and bad values throw naming the flag. */
export function parseTrainArgs(argv: string[], base: TrainConfig = DEFAULT_TRAIN_CONFIG): { config: TrainConfig; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const f of TRAIN_FLAGS) {
    options[flagName(f.key)] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
    if (f.type === 'boolean') options[`no-${flagName(f.key)}`] = { type: 'boolean' };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as typeof values;
  } catch (error) {
    throw new Error(`train: ${(error as Error).message}\n\n${trainHelp()}`);
  }
  const config: TrainConfig = { ...base };
  const record = config as unknown as Record<string, unknown>;
  for (const f of TRAIN_FLAGS) {
    const name = flagName(f.key);
    if (f.type === 'boolean') {
      if (values[name]) record[f.key] = true;
      if (values[`no-${name}`]) record[f.key] = false;
      continue;
    }
    const raw = values[name];
    if (raw === undefined) continue;
    if (f.type === 'number') {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new Error(`train: --${name} needs a number, got '${raw}'`);
      record[f.key] = n;
    } else {
      if (f.choices && !f.choices.includes(raw as string)) throw new Error(`train: --${name} must be one of ${f.choices.join(', ')}, got '${raw}'`);
      record[f.key] = raw;
    }
  }
  // --nm and --nm-layers are sugar for --pruner nm, whose target sparsity is the pattern's.
  const nmGiven = values.nm !== undefined || values['nm-layers'] !== undefined;
  if (nmGiven && values.pruner === undefined) config.pruner = 'nm';
  if (nmGiven && config.pruner !== 'nm') throw new Error(`train: --nm and --nm-layers go with --pruner nm, not --pruner ${config.pruner}`);
  if (config.pruner === 'nm' && values.sparsity === undefined) {
    const { n, m } = parseNmPattern(config.nm, 'train: --nm');
    config.sparsity = 1 - n / m;
  }
  if (values['sparsity-plan'] !== undefined && values.sparsity !== undefined) throw new Error(`train: --sparsity comes from --sparsity-plan (its overall sparsity); give one of them`);
  // A pruner implies the masked model unless the user chose otherwise.
  if ((values.pruner !== undefined || nmGiven) && values.model === undefined && config.pruner !== 'none') config.model = 'sparsenet';
  checkTrainConfig(config);
  return { config, help: Boolean(values.help) };
}

export function checkTrainConfig(c: TrainConfig): void {
  const fail = (message: string) => {
    throw new Error(`train: ${message}`);
  };
  const positiveInt = (key: keyof TrainConfig, least = 1) => {
    const v = c[key] as number;
    if (!Number.isInteger(v) || v < least) fail(`--${flagName(key)} must be an integer >= ${least}, got ${v}`);
  };
  positiveInt('epochs');
  positiveInt('batchSize');
  positiveInt('evalBatchSize');
  positiveInt('pruneEvery');
  positiveInt('pruneStart', 0);
  positiveInt('pruneEnd', 0);
  positiveInt('scoreBatches');
  if (!Number.isInteger(c.seed) || c.seed < 0) fail(`--seed must be a non-negative integer, got ${c.seed}`);
  if (c.limit !== null) positiveInt('limit', 10);
  positiveInt('imageSize', MIN_INPUT_SIZE);
  if (!(c.lr > 0)) fail(`--lr must be > 0, got ${c.lr}`);
  if (!(c.weightDecay >= 0)) fail(`--weight-decay must be >= 0, got ${c.weightDecay}`);
  if (!(c.sparsity >= 0 && c.sparsity < 1)) fail(`--sparsity must be in [0, 1), got ${c.sparsity}`);
  if (c.pruner !== 'none' && c.model !== 'sparsenet') fail(`--pruner ${c.pruner} needs --model sparsenet (a model without masks cannot be pruned)`);
  architectureSpec(c);
  const scheduled = c.pruner !== 'none' && !isDynamicMethod(c.pruner);
  if (scheduled && c.pruneStart >= c.epochs) fail(`--prune-start ${c.pruneStart} is not before the last epoch (--epochs ${c.epochs})`);
  if (scheduled && c.schedule !== 'oneshot' && c.pruneEnd <= c.pruneStart) fail(`--prune-end ${c.pruneEnd} must be after --prune-start ${c.pruneStart}`);
  if (scheduled && c.schedule !== 'oneshot' && c.pruneEnd > c.epochs) fail(`--prune-end ${c.pruneEnd} is past the last epoch (--epochs ${c.epochs})`);
  parseStructures(c.structure);
  positiveInt('updateEvery');
  if (!(c.updateEnd > 0 && c.updateEnd <= 1)) fail(`--update-end must be in (0, 1], got ${c.updateEnd}`);
  if (!(c.dropFraction > 0 && c.dropFraction < 1)) fail(`--drop-fraction must be in (0, 1), got ${c.dropFraction}`);
  if (isDynamicMethod(c.pruner) && c.rewind !== 'none') fail(`--rewind ${c.rewind} does not apply to --pruner ${c.pruner} (it trains sparse from the first step)`);
  if (c.pruner === 'nm') {
    const { n, m } = parseNmPattern(c.nm, 'train: --nm');
    if (Math.abs(c.sparsity - (1 - n / m)) > 1e-9) fail(`--sparsity ${c.sparsity} does not fit --nm ${c.nm}, whose sparsity is ${1 - n / m} (leave --sparsity out with --nm)`);
  }
  if (c.sparsityPlan !== null && c.pruner !== 'magnitude') fail(`--sparsity-plan gives per-layer targets for --pruner magnitude, not '${c.pruner}'`);
  if (c.rewind !== 'none' && c.rewind !== 'init' && !/^\d+$/.test(c.rewind)) fail(`--rewind must be none, init or an epoch number, got '${c.rewind}'`);
  if (/^\d+$/.test(c.rewind) && Number(c.rewind) > c.pruneStart) fail(`--rewind ${c.rewind} must be an epoch at or before --prune-start ${c.pruneStart}`);
}

/** The run's architecture: --arch with --arch-options over the zoo's defaults, masked for --model sparsenet. */
export function architectureSpec(c: Pick<TrainConfig, 'arch' | 'archOptions' | 'model'>): ArchitectureSpec {
  let options: unknown;
  try {
    options = JSON.parse(c.archOptions);
  } catch (error) {
    throw new Error(`train: --arch-options must be JSON, got '${c.archOptions}' (${(error as Error).message})`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new Error(`train: --arch-options must be a JSON object, got '${c.archOptions}'`);
  try {
    return fullSpec({ name: c.arch, options: options as Record<string, unknown>, masked: c.model === 'sparsenet' });
  } catch (error) {
    throw new Error(`train: ${(error as Error).message}`);
  }
}
