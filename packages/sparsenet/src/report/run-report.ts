/**
 * What a person would rather look at than a run folder's files: PNG figures in <run>/figures/ and one
 * self-contained <run>/report.html, made from the folder alone (config.json, metrics.json, final.json and
 * final.safetensors; an unfinished run has neither of the last two, and then the last epoch and
 * last.safetensors stand in). No device is needed: everything is drawn from the files on the host.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { nn } from '@sparsenet/tensor';
import {
  formatPercent, niceRange, renderConfusion, renderCurves, renderFilterGrid, renderMaskHeatmap, renderRgbFilters, renderSparsityBars, shapeText, writePng,
  writeReport, type EpochMetrics, type MaskHeatmapOptions, type MetricGroup, type ReportImage,
} from '@sparsenet/viz';
import { CLASSES } from '../data/index.js';
import { featureSide } from '../model.js';
import { formatSparsity, type SparsityReport } from '../prune/index.js';
import { readCheckpoint } from '../train/checkpoint.js';
import type { EpochRecord, FinalRecord } from '../train/run-files.js';
import { commandUsage, parseCommand } from './args.js';
import { checkpointSparsity } from './checkpoint-model.js';
import { modelState } from '../model-state.js';

export const FIGURES_DIR = 'figures';
export const REPORT_FILE = 'report.html';
/** Checkpoints a report reads weights from, in order of preference. */
export const REPORT_CHECKPOINTS = ['final.safetensors', 'last.safetensors'] as const;

/** Width and height in pixels of each kind of figure. */
export const FIGURE_SIZES = {
  curves: [800, 500],
  mask: [800, 600],
  rgbFilters: [800, 500],
  filterGrid: [800, 600],
  sparsityBars: [800, 500],
  confusion: [720, 640],
} as const satisfies Record<string, readonly [number, number]>;

/** A run folder's contents as the report needs them. JSON numbers that were NaN read back as null. */
export interface RunFolder {
  dir: string;
  config: Record<string, unknown>;
  device: string | null;
  history: EpochRecord[];
  /** null for an unfinished run. */
  final: FinalRecord | null;
  /** The checkpoint the weights come from (a name in REPORT_CHECKPOINTS). */
  checkpointFile: string;
  /** The model's tensors. */
  state: nn.StateDict;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new Error(`report: ${file} is not valid JSON (${(error as Error).message})`);
  }
}

/** Reads a run folder; throws naming the folder and the missing file when it is not one. */
export function readRunFolder(dir: string): RunFolder {
  if (!existsSync(dir)) throw new Error(`report: run folder not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new Error(`report: ${dir} is not a folder`);
  const notARun = (what: string) => new Error(`report: ${dir} is not a run folder: ${what} (a run folder is what \`npm run train -- --out DIR\` writes)`);
  for (const file of ['config.json', 'metrics.json']) if (!existsSync(join(dir, file))) throw notARun(`${file} is missing`);
  const checkpointFile = REPORT_CHECKPOINTS.find((file) => existsSync(join(dir, file)));
  if (!checkpointFile) throw notARun(`${REPORT_CHECKPOINTS.join(' and ')} are missing`);
  const metrics = readJson<{ device?: string; epochs?: EpochRecord[] }>(join(dir, 'metrics.json'));
  if (!Array.isArray(metrics.epochs) || metrics.epochs.length === 0) throw notARun('metrics.json records no epoch');
  const finalPath = join(dir, 'final.json');
  return {
    dir,
    config: readJson<Record<string, unknown>>(join(dir, 'config.json')),
    device: metrics.device ?? null,
    history: metrics.epochs,
    final: existsSync(finalPath) ? readJson<FinalRecord>(finalPath) : null,
    checkpointFile,
    state: checkpointModelState(join(dir, checkpointFile)),
  };
}

function checkpointModelState(file: string): nn.StateDict {
  const { state, metadata } = readCheckpoint(file);
  return modelState(state, metadata);
}

/** A chart of per-epoch metrics, drawn both as a PNG figure and as a uPlot chart in the report. */
interface CurveSpec extends MetricGroup {
  file: string;
  /** Values in [0, 1]: the axis stays within it. */
  fraction?: boolean;
}

function curveSpecs(layerKeys: readonly string[]): CurveSpec[] {
  return [
    { file: 'curves-loss.png', title: 'Cross-entropy loss per epoch', keys: ['trainLoss', 'valLoss', 'testLoss'], yLabel: 'loss' },
    { file: 'curves-accuracy.png', title: 'Accuracy per epoch', keys: ['trainAccuracy', 'valAccuracy', 'testAccuracy'], yLabel: 'accuracy', fraction: true },
    { file: 'curves-balanced-accuracy.png', title: 'Balanced accuracy (mean recall over classes) per epoch', keys: ['valBalancedAccuracy', 'testBalancedAccuracy'], yLabel: 'balanced accuracy', fraction: true },
    { file: 'curves-sparsity.png', title: 'Sparsity (fraction of weights pruned) per epoch', keys: ['sparsity', ...layerKeys], yLabel: 'sparsity', fraction: true },
  ];
}

const value = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const layerKey = (layer: string) => `sparsity_${layer}`;

/** Scalars per epoch; per-layer sparsity only when some layer was pruned (else it repeats the zero line). */
function epochRows(history: readonly EpochRecord[]): { rows: EpochMetrics[]; layerKeys: string[] } {
  const layers = Object.keys(history[0].layerSparsity ?? {});
  const pruned = history.some((r) => layers.some((l) => (value(r.layerSparsity[l]) ?? 0) > 0));
  const rows = history.map((r) => {
    const row: EpochMetrics = { epoch: r.epoch };
    for (const key of ['trainLoss', 'valLoss', 'testLoss', 'trainAccuracy', 'valAccuracy', 'testAccuracy', 'valBalancedAccuracy', 'testBalancedAccuracy', 'sparsity'] as const) {
      row[key] = value(r[key]);
    }
    if (pruned) for (const l of layers) row[layerKey(l)] = value(r.layerSparsity[l]);
    row.seconds = value(r.seconds);
    row.imagesPerSecond = value(r.imagesPerSecond);
    return row;
  });
  return { rows, layerKeys: pruned ? layers.map(layerKey) : [] };
}

/** The final metrics table: final.json's, or the last epoch's for an unfinished run. */
function finalTable(run: RunFolder, sparsity: SparsityReport): Record<string, number | string | null> {
  const last = run.history.at(-1)!;
  const source = run.final ?? last;
  const classes = run.final?.classes ?? [...CLASSES];
  const images = run.final?.testImages ?? source.testConfusion.flat().reduce((a, b) => a + b, 0);
  return {
    status: run.final ? 'finished' : `unfinished: ${last.epoch} of ${run.config.epochs ?? '?'} epochs (metrics of the last epoch)`,
    testAccuracy: value(source.testAccuracy),
    testBalancedAccuracy: value(source.testBalancedAccuracy),
    testLoss: value(source.testLoss),
    testImages: images,
    sparsity: sparsity.total.sparsity,
    weights: sparsity.total.total,
    nonzeroWeights: sparsity.total.total - sparsity.total.zeros,
    compressionRatio: sparsity.compressionRatio,
    trainSeconds: run.final?.trainSeconds ?? run.history.reduce((s, r) => s + (value(r.seconds) ?? 0), 0),
    device: run.final?.device ?? run.device,
    checkpoint: run.checkpointFile,
    ...Object.fromEntries(classes.map((c) => [`recall ${c}`, value(source.testRecall?.[c])])),
  };
}

/**
 * How a mask is drawn: as its weight's shape, except fc1, whose [out, C*S*S] matrix (one long strip) is drawn
 * as [out, C, S, S]: one cell per (neuron, conv2 channel), coloured by the share of its S x S weights kept, so
 * that dead neurons and unread channels show.
 */
function maskView(name: string, mask: ArrayLike<number>, shape: readonly number[]): [readonly number[], MaskHeatmapOptions] {
  const side = featureSide();
  if (name !== 'fc1' || shape.length !== 2 || shape[1] % (side * side) !== 0) return [shape, { name }];
  let kept = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kept++;
  const channels = shape[1] / (side * side);
  const title = `fc1 ${shapeText(shape)}: ${formatPercent(1 - kept / mask.length)} pruned; cell = 1 neuron x 1 channel (${side}x${side})`;
  return [[shape[0], channels, side, side], { name, title }];
}

export interface RunReportFiles {
  html: string;
  figures: string[];
}

/**
 * Writes <runDir>/figures/*.png (each atomically) and <runDir>/report.html: curves per epoch, sparsity per
 * layer, the test confusion matrix, each masked layer's mask, the stem's filters as RGB patches and the next
 * conv's as a signed grid. Returns the paths written.
 */
export function writeRunReport(runDir: string): RunReportFiles {
  const run = readRunFolder(runDir);
  const figuresDir = join(runDir, FIGURES_DIR);
  const figures: string[] = [];
  const save = (file: string, png: Uint8Array) => {
    const path = join(figuresDir, file);
    writePng(path, png);
    figures.push(path);
    return png;
  };
  const size = (kind: keyof typeof FIGURE_SIZES) => ({ width: FIGURE_SIZES[kind][0], height: FIGURE_SIZES[kind][1] });

  const { rows, layerKeys } = epochRows(run.history);
  const curves = curveSpecs(layerKeys);
  for (const spec of curves) {
    const series = spec.keys.map((k) => ({ name: k, x: rows.map((r) => r.epoch), y: rows.map((r) => r[k] ?? null) }));
    const [lo, hi] = niceRange(series.flatMap((s) => s.y.filter((v): v is number => v !== null)));
    // A fraction's axis stops at 0 and 1, with a sliver of room so that a line at 0 or 1 clears the frame.
    const range = spec.fraction ? { yMin: lo < 0 ? -0.02 : lo, yMax: hi > 1 ? 1.02 : hi } : {};
    save(spec.file, renderCurves(series, { title: spec.title, yLabel: spec.yLabel, ...range, ...size('curves') }));
  }

  const sparsity = checkpointSparsity(run.state);
  const layers = sparsity.layers.map((l) => ({ name: l.name, sparsity: l.sparsity, params: l.total, shape: run.state[`${l.name}.weight`].shape }));
  save('sparsity-layers.png', renderSparsityBars(layers, { overall: sparsity.total.sparsity, ...size('sparsityBars') }));

  const classNames = run.final?.classes ?? [...CLASSES];
  const counts = (run.final ?? run.history.at(-1)!).testConfusion;
  save('confusion.png', renderConfusion(counts, classNames, size('confusion')));

  const images: ReportImage[] = [];
  for (const { name } of sparsity.layers) {
    const mask = run.state[`${name}.weight_mask`];
    if (!mask) continue;
    const [view, options] = maskView(name, mask.data, mask.shape);
    const png = save(`mask-${name}.png`, renderMaskHeatmap(mask.data, view, { ...options, ...size('mask') }));
    images.push({ title: `${name} mask`, png, caption: `${name}: which weights pruning kept` });
  }
  // The stem (the first conv, on RGB) as colour patches, the conv after it as a signed grid.
  const [stem, second] = sparsity.layers.map((l) => l.name).filter((name) => run.state[`${name}.weight`].shape.length === 4);
  const stemWeight = stem ? run.state[`${stem}.weight`] : undefined;
  if (stemWeight?.shape[1] === 3) {
    const png = save(`filters-${stem}.png`, renderRgbFilters(stemWeight.data, stemWeight.shape, { name: stem, ...size('rgbFilters') }));
    images.push({ title: `${stem} filters`, png, caption: `${stem} filters as RGB patches (weight x mask), each scaled to its own min..max` });
  }
  if (second) {
    const weight = run.state[`${second}.weight`];
    const png = save(`filters-${second}.png`, renderFilterGrid(weight.data, weight.shape, { name: second, mode: 'signed', ...size('filterGrid') }));
    images.push({ title: `${second} filters`, png, caption: `${second} kernels (rows: output channels, columns: input channels), signed weights, blue < 0 < red` });
  }

  const html = join(runDir, REPORT_FILE);
  const c = run.config;
  const pruning = c.pruner && c.pruner !== 'none' ? `, ${c.pruner} pruning (${c.schedule}) to ${c.sparsity}` : '';
  writeReport(html, {
    title: `Run ${basename(runDir)}`,
    subtitle: `${c.model}${c.arch && c.arch !== 'lenet' ? ` (${c.arch})` : ''}${pruning}, ${c.epochs} epochs, seed ${c.seed}; ${run.final ? 'finished' : `unfinished after epoch ${run.history.at(-1)!.epoch}`}; ${run.device ?? 'unknown device'}`,
    config: c,
    epochs: rows,
    metricGroups: curves,
    final: finalTable(run, sparsity),
    layers,
    overallSparsity: sparsity.total.sparsity,
    confusion: { classNames, counts },
    images,
    notes: [`Zero weights per layer (weight x mask, biases excluded), from ${run.checkpointFile}:`, ...formatSparsity(sparsity, { withTotal: true }).split('\n')],
  });
  return { html, figures };
}

const REPORT_USAGE = 'npm run report -- RUN_DIR';

/** `npm run report -- RUN_DIR`: rebuilds a run folder's figures and report.html. */
export function reportCommand(argv: string[], print: (text: string) => void): void {
  const { positionals, help } = parseCommand('report', argv, REPORT_USAGE, {});
  if (help) return print(commandUsage(REPORT_USAGE, {}));
  if (positionals.length !== 1) throw new Error(`report: expected one run folder, got ${positionals.length ? positionals.join(' ') : 'none'}\n\n${commandUsage(REPORT_USAGE, {})}`);
  const { html, figures } = writeRunReport(positionals[0]);
  print(`wrote ${html} and ${figures.length} figures in ${join(positionals[0], FIGURES_DIR)}`);
}
