/**
 * Evaluating a saved model on its data set: by default on the test part of the split its run used (the run
 * folder's split.csv beside the checkpoint, else the layout's parts and the seeded split of the run's seed), on
 * the same images the run loaded (its --data, --layout and --limit, read from the checkpoint's metadata or the
 * folder's config.json), at the checkpoint's image size, normalised and labelled as its run metadata says.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@sparsenet/viz';
import { DEFAULT_SPLIT, SPLIT_FILE, assignParts, defaultDataDir, loadDataset, readSplitCsv, type ImageDataset, type SplitName } from '../data/index.js';
import type { RunMetadata } from '../run-metadata.js';
import { formatSparsity, prunableLayers, type SparsityReport } from '../prune/index.js';
import type { TrainConfig } from '../train/config.js';
import { evaluate } from '../train/evaluate.js';
import { formatClassMetrics, formatMetric, type ClassificationMetrics } from '../train/metrics.js';
import { commandUsage, parseCommand, type CommandFlag } from './args.js';
import { checkpointSparsity, loadCheckpointModel } from './checkpoint-model.js';
import type { ArchitectureSpec } from '../run-metadata.js';
import { packSparse } from '../sparse-model.js';
import { traceLayerGraph } from '../graph/trace.js';
import { describeArchitecture } from '../zoo/index.js';

export const EVAL_SPLITS = ['test', 'val', 'train', 'all'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

export interface EvaluateCheckpointOptions {
  checkpoint: string;
  /** A data folder in any layout; default: the run's, else the embedded set. */
  data?: string;
  /** Default 'test'. */
  split?: EvalSplit;
  /** A split.csv; default: the one beside the checkpoint, else the seeded split. */
  splitFile?: string;
  /** Run the layers on the sparse kernels (SparseLeNet, SparseModel for other zoo models) instead of masks on the dense ones. */
  sparseKernels?: boolean;
  onWarning?: (message: string) => void;
}

export interface CheckpointEvaluation {
  checkpoint: string;
  architecture: ArchitectureSpec;
  /** Class names in label order (the checkpoint's). */
  classes: string[];
  dataDir: string;
  split: EvalSplit;
  /** Where the split came from: a split.csv path, or 'seeded split (seed N)'. */
  splitSource: string;
  /** Loaded images the split file does not name, left out. */
  unassigned: number;
  /** 'sparse': packSparse (each layer on the sparse kernel or, where faster, the dense one); 'dense': masks on the dense kernels. */
  kernels: 'dense' | 'sparse';
  metrics: ClassificationMetrics;
  sparsity: SparsityReport;
}

/** The training config the checkpoint was made by: its metadata's, else config.json beside it, else null. */
export function runConfig(checkpoint: string, metadata: Record<string, string>): Partial<TrainConfig> | null {
  const besides = join(dirname(checkpoint), 'config.json');
  const text = metadata.config ?? (existsSync(besides) ? readFileSync(besides, 'utf8') : null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as Partial<TrainConfig>;
  } catch {
    return null;
  }
}

/** The images to evaluate on, and where their split came from; throws when the data's classes are not the checkpoint's. */
export async function evaluationImages(options: EvaluateCheckpointOptions, config: Partial<TrainConfig> | null, run: RunMetadata): Promise<{ dataset: ImageDataset; dataDir: string; splitSource: string; unassigned: number }> {
  const runData = resolve(config?.data ?? defaultDataDir());
  const dataDir = resolve(options.data ?? runData);
  // The run's --limit chose its images and its --layout read them; both apply only to the run's own data folder.
  const sameData = dataDir === runData;
  const limit = sameData ? (config?.limit ?? undefined) : undefined;
  const layout = sameData && config?.layout && config.layout !== 'auto' ? config.layout : undefined;
  const loaded = await loadDataset({ dir: dataDir, layout, size: run.imageSize, limit, onWarning: options.onWarning });
  if (loaded.classes.join('\n') !== run.classes.join('\n')) {
    throw new Error(`eval: ${options.checkpoint} was trained on the classes ${run.classes.join(', ')}; ${loaded.dir} (${loaded.layout}) has ${loaded.classes.join(', ')}`);
  }
  const split = options.split ?? 'test';
  if (split === 'all') return { dataset: loaded.dataset, dataDir, splitSource: 'all images', unassigned: 0 };
  const runSplit = join(dirname(options.checkpoint), SPLIT_FILE);
  const splitFile = options.splitFile ?? (existsSync(runSplit) ? runSplit : undefined);
  const seed = config?.seed ?? DEFAULT_SPLIT.seed;
  const assignment = splitFile ? readSplitCsv(splitFile) : assignParts(loaded.items, loaded.classes.length, { seed });
  const named = loaded.dataset.imageIds.flatMap((id, i) => (assignment.has(id) ? [i] : []));
  const parts = loaded.dataset.subset(named).split(assignment);
  return { dataset: parts[split as SplitName], dataDir, splitSource: splitFile ?? `seeded split (seed ${seed})`, unassigned: loaded.dataset.count - named.length };
}

export async function evaluateCheckpoint(options: EvaluateCheckpointOptions): Promise<CheckpointEvaluation> {
  const split = options.split ?? 'test';
  if (!(EVAL_SPLITS as readonly string[]).includes(split)) throw new Error(`eval: --split must be one of ${EVAL_SPLITS.join(', ')}, got '${split}'`);
  const { model, metadata, state, run } = await loadCheckpointModel(options.checkpoint);
  try {
    const config = runConfig(options.checkpoint, metadata);
    const { dataset, dataDir, splitSource, unassigned } = await evaluationImages(options, config, run);
    if (dataset.count === 0) throw new Error(`eval: the ${split} part of ${splitSource} holds none of the images in ${dataDir}`);
    const graph = options.sparseKernels ? traceLayerGraph(model, [run.channels, run.imageSize, run.imageSize]) : null;
    const packed = graph ? packSparse(model, await prunableLayers(model, graph), run.imageSize) : null;
    let metrics: ClassificationMetrics;
    try {
      metrics = await evaluate(packed ?? model, dataset, { batchSize: config?.evalBatchSize ?? 256, normalization: run.normalization });
    } finally {
      packed?.dispose();
    }
    const kernels = packed ? 'sparse' : 'dense';
    return { checkpoint: options.checkpoint, architecture: run.architecture, classes: [...run.classes], dataDir, split, splitSource, unassigned, kernels, metrics, sparsity: checkpointSparsity(state) };
  } finally {
    model.dispose();
  }
}

/** The evaluation as text: metrics, per-class recall, the confusion matrix and the seed's sparsity lines. */
export function formatEvaluation(e: CheckpointEvaluation): string {
  const m = e.metrics;
  return [
    `checkpoint: ${e.checkpoint}: ${describeArchitecture(e.architecture)}${e.kernels === 'sparse' ? ', on the sparse kernels' : ''}`,
    `data: ${e.dataDir}, ${e.split === 'all' ? 'all images' : `${e.split} part of ${e.splitSource}`}: ${m.count} images` +
      (e.unassigned ? ` (${e.unassigned} loaded images not in the split file left out)` : ''),
    `accuracy ${formatMetric(m.accuracy)}, balanced accuracy ${formatMetric(m.balancedAccuracy)}, loss ${formatMetric(m.loss)}`,
    '',
    ...formatClassMetrics(m, e.classes),
    '',
    'sparsity:',
    formatSparsity(e.sparsity, { withTotal: true }),
  ].join('\n');
}

/** The evaluation as JSON-ready data (NaN recall as null). */
export function evaluationJson(e: CheckpointEvaluation): Record<string, unknown> {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    checkpoint: e.checkpoint,
    model: describeArchitecture(e.architecture),
    architecture: e.architecture,
    data: e.dataDir,
    split: e.split,
    splitSource: e.splitSource,
    kernels: e.kernels,
    images: e.metrics.count,
    unassigned: e.unassigned,
    accuracy: finite(e.metrics.accuracy),
    balancedAccuracy: finite(e.metrics.balancedAccuracy),
    loss: finite(e.metrics.loss),
    recall: Object.fromEntries(e.classes.map((c, i) => [c, finite(e.metrics.recall[i])])),
    confusion: e.metrics.confusion,
    classes: e.classes,
    sparsity: e.sparsity,
    sparsityText: formatSparsity(e.sparsity, { withTotal: true }),
  };
}

const EVAL_USAGE = 'npm run eval -- --checkpoint FILE [--data DIR] [--split test|val|train|all] [--split-file split.csv] [--sparse-kernels] [--json FILE]';
const EVAL_FLAGS: Record<string, CommandFlag> = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint of any zoo model (.safetensors); required' },
  data: { type: 'string', value: 'DIR', help: "a data folder in any layout, with the checkpoint's classes [default: the run's, else the embedded set]" },
  split: { type: 'string', value: 'PART', help: `which images: ${EVAL_SPLITS.join('|')} [default: test]` },
  'split-file': { type: 'string', value: 'FILE', help: `a split.csv [default: the run folder's ${SPLIT_FILE}, else the seeded split]` },
  'sparse-kernels': { type: 'boolean', help: 'run pruned layers on the sparse (CSR) kernels, faster from about 70% sparsity (logits equal to float rounding)' },
  json: { type: 'string', value: 'FILE', help: 'also write the results as JSON' },
};

/** `npm run eval -- --checkpoint FILE ...`: prints the evaluation; --json writes it too. */
export async function evalCommand(argv: string[], print: (text: string) => void): Promise<void> {
  const { values, positionals, help } = parseCommand('eval', argv, EVAL_USAGE, EVAL_FLAGS);
  const usage = commandUsage(EVAL_USAGE, EVAL_FLAGS);
  if (help) return print(usage);
  if (positionals.length) throw new Error(`eval: unexpected argument ${positionals[0]}\n\n${usage}`);
  if (typeof values.checkpoint !== 'string') throw new Error(`eval: --checkpoint FILE is required\n\n${usage}`);
  const result = await evaluateCheckpoint({
    checkpoint: values.checkpoint,
    data: values.data as string | undefined,
    split: values.split as EvalSplit | undefined,
    splitFile: values['split-file'] as string | undefined,
    sparseKernels: values['sparse-kernels'] === true,
    onWarning: (message) => process.stderr.write(`${message}\n`),
  });
  print(formatEvaluation(result));
  if (typeof values.json === 'string') writeFileAtomic(values.json, `${JSON.stringify(evaluationJson(result), null, 2)}\n`);
}
