/**
 * What a person would rather look at than a run folder's files: figures in <run>/figures/ (SVG and PNG from the
 * same spec) and one self-contained <run>/report.html showing the same SVGs, made from the folder alone (config.json, metrics.json, final.json and
 * final.safetensors; an unfinished run has neither of the last two, and then the last epoch and
 * last.safetensors stand in). No device is needed: everything is drawn from the files on the host.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { nn } from '@sparsenet/tensor';
import {
  confusionSpec, curvesSpec, formatPercent, shapeText, FIGURE_FORMATS, filterGridSpec, maskHeatmapSpec, parseFigureFormats, rgbFiltersSpec, sparsityBarsSpec, writeFigure,
  writeReport, type EpochMetrics, type FigureFormat, type FigureSpec, type HeatmapOptions, type MetricGroup, type ReportFigure, type ReportSection,
} from '@sparsenet/viz';
import { featureSide } from '../model.js';
import { decodeRunMetadata, type RunMetadata } from '../run-metadata.js';
import { formatSparsity, type SparsityReport } from '../prune/index.js';
import { readCheckpoint } from '../train/checkpoint.js';
import type { EpochRecord, FinalRecord } from '../train/run-files.js';
import { commandUsage, parseCommand } from './args.js';
import { checkpointSparsity } from './checkpoint-model.js';
import { dynamicFigures } from './dynamic-figures.js';
import { isDynamicMethod } from '../sparse-training/dynamic-config.js';
import { modelState } from '../model-state.js';
import { readResultsCsv, writeTradeoffFigures } from '../sweep/table.js';

export const FIGURES_DIR = 'figures';
export const REPORT_FILE = 'report.html';
/** Checkpoints a report reads weights from, in order of preference. */
export const REPORT_CHECKPOINTS = ['final.safetensors', 'last.safetensors'] as const;

/** Width and height in SVG pixels of the figures of fixed size (the PNGs are twice that); pictures of weights take their layer's shape. */
export const FIGURE_SIZES = {
  curves: [640, 400],
  sparsityBars: [640, 400],
  confusion: [560, 500],
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
  /** The checkpoint's run metadata: classes, image size, normalisation, layout. */
  runMetadata: RunMetadata;
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
  const checkpoint = readCheckpoint(join(dir, checkpointFile));
  const state = modelState(checkpoint.state, checkpoint.metadata);
  return {
    dir,
    config: readJson<Record<string, unknown>>(join(dir, 'config.json')),
    device: metrics.device ?? null,
    history: metrics.epochs,
    final: existsSync(finalPath) ? readJson<FinalRecord>(finalPath) : null,
    checkpointFile,
    state,
    runMetadata: decodeRunMetadata(checkpoint.metadata, join(dir, checkpointFile), Object.keys(state).some((k) => k.endsWith('.weight_mask'))),
  };
}

/** A chart of per-epoch metrics, drawn both as a figure and as a uPlot chart in the report. */
interface CurveSpec extends MetricGroup {
  /** File name without extension. */
  file: string;
  labels: readonly string[];
  yLabel: string;
  /** Values in [0, 1]: a percentage axis within it. */
  fraction?: boolean;
}

function curveSpecs(layers: readonly string[]): CurveSpec[] {
  return [
    { file: 'curves-loss', title: 'Cross-entropy loss per epoch', keys: ['trainLoss', 'valLoss', 'testLoss'], labels: ['train', 'validation', 'test'], yLabel: 'loss' },
    { file: 'curves-accuracy', title: 'Accuracy per epoch', keys: ['trainAccuracy', 'valAccuracy', 'testAccuracy'], labels: ['train', 'validation', 'test'], yLabel: 'accuracy', fraction: true },
    { file: 'curves-balanced-accuracy', title: 'Balanced accuracy (mean recall over classes) per epoch', keys: ['valBalancedAccuracy', 'testBalancedAccuracy'], labels: ['validation', 'test'], yLabel: 'balanced accuracy', fraction: true },
    { file: 'curves-sparsity', title: 'Sparsity (weights pruned) per epoch', keys: ['sparsity', ...layers.map(layerKey)], labels: ['all layers', ...layers], yLabel: 'sparsity', fraction: true },
  ];
}

const value = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const layerKey = (layer: string) => `sparsity_${layer}`;

/** Scalars per epoch; per-layer sparsity only when some layer was pruned (else it repeats the zero line). */
function epochRows(history: readonly EpochRecord[]): { rows: EpochMetrics[]; prunedLayers: string[] } {
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
  return { rows, prunedLayers: pruned ? layers : [] };
}

/** The final metrics table: final.json's, or the last epoch's for an unfinished run. */
function finalTable(run: RunFolder, sparsity: SparsityReport): Record<string, number | string | null> {
  const last = run.history.at(-1)!;
  const source = run.final ?? last;
  const classes = run.final?.classes ?? run.runMetadata.classes;
  const images = run.final?.testImages ?? source.testConfusion.flat().reduce((a, b) => a + b, 0);
  return {
    status: run.final ? 'finished' : `unfinished: ${last.epoch} of ${run.config.epochs ?? '?'} epochs (metrics of the last epoch)`,
    'test accuracy': value(source.testAccuracy),
    'test balanced accuracy': value(source.testBalancedAccuracy),
    'test loss': value(source.testLoss),
    'test images': images,
    sparsity: sparsity.total.sparsity,
    weights: sparsity.total.total,
    'nonzero weights': sparsity.total.total - sparsity.total.zeros,
    'compression ratio': sparsity.compressionRatio,
    'training seconds': run.final?.trainSeconds ?? run.history.reduce((s, r) => s + (value(r.seconds) ?? 0), 0),
    device: run.final?.device ?? run.device,
    checkpoint: run.checkpointFile,
    ...Object.fromEntries(classes.map((c) => [`recall ${c}`, value(source.testRecall?.[c])])),
  };
}

/**
 * How a layer's weights are drawn: as their shape, except fc1, whose [out, C*S*S] matrix (one long strip) is
 * drawn as [out, C, S, S]: one cell per (neuron, conv2 channel) when reduced, so that dead neurons and unread
 * channels show.
 */
function weightView(name: string, mask: ArrayLike<number>, shape: readonly number[], inputSize: number): [readonly number[], HeatmapOptions] {
  const side = featureSide(inputSize);
  if (name !== 'fc1' || shape.length !== 2 || shape[1] % (side * side) !== 0) return [shape, { name }];
  let kept = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kept++;
  const view = [shape[0], shape[1] / (side * side), side, side];
  const title = `fc1 ${shapeText(shape)} as ${shapeText(view)}: ${formatPercent(1 - kept / mask.length)} pruned`;
  return [view, { name, title, xTitle: `input channel (conv2 output, ${side}x${side} positions)`, yTitle: 'output neuron' }];
}

/** One figure of a run: its file name (no extension), where the report shows it, and its spec. */
interface RunFigure {
  file: string;
  section: ReportSection;
  title: string;
  caption?: string;
  spec: FigureSpec;
}

export interface RunReportFiles {
  html: string;
  figures: string[];
}

/** Every figure of a run folder: curves, sparsity per layer, confusion matrix, masks, filters. */
function runFigures(run: RunFolder, rows: readonly EpochMetrics[], curves: readonly CurveSpec[], layers: readonly LayerRow[], overall: number): RunFigure[] {
  const size = (kind: keyof typeof FIGURE_SIZES) => ({ width: FIGURE_SIZES[kind][0], height: FIGURE_SIZES[kind][1] });
  const figures: RunFigure[] = curves.map((spec) => ({
    file: spec.file,
    section: 'curves',
    title: spec.title,
    spec: curvesSpec(
      spec.keys.map((k, i) => ({ label: spec.labels[i], x: rows.map((r) => r.epoch), y: rows.map((r) => r[k] ?? null) })),
      { title: spec.title, yTitle: spec.yLabel, percent: spec.fraction, ...size('curves') },
    ),
  }));
  figures.push({ file: 'sparsity-layers', section: 'layers', title: 'Sparsity per layer', spec: sparsityBarsSpec(layers, { overall, ...size('sparsityBars') }) });
  const classNames = run.final?.classes ?? run.runMetadata.classes;
  const counts = (run.final ?? run.history.at(-1)!).testConfusion;
  figures.push({ file: 'confusion', section: 'confusion', title: 'Confusion matrix', caption: 'Rows: true class; columns: predicted; colour: share of the row.', spec: confusionSpec(counts, classNames, size('confusion')) });
  for (const { name } of checkpointSparsity(run.state).layers) {
    const mask = run.state[`${name}.weight_mask`];
    const weight = run.state[`${name}.weight`];
    if (!mask || !weight) continue;
    const [view, options] = weightView(name, mask.data, mask.shape, run.runMetadata.imageSize);
    figures.push({ file: `mask-${name}`, section: 'pictures', title: `${name} mask`, caption: `${name}: |w| of the weights pruning kept; grey: pruned`, spec: maskHeatmapSpec(weight.data, mask.data, view, options) });
  }
  figures.push(...dynamicFigures(run.dir, (name, mask, shape) => weightView(name, mask, shape, run.runMetadata.imageSize)));
  // The stem (the first conv, on RGB) as colour patches, the conv after it as a signed grid.
  const [stem, second] = Object.keys(run.state).filter((key) => key.endsWith('.weight') && run.state[key].shape.length === 4).map((key) => key.slice(0, -'.weight'.length));
  const stemWeight = stem ? run.state[`${stem}.weight`] : undefined;
  if (stemWeight?.shape[1] === 3) {
    figures.push({ file: `filters-${stem}`, section: 'pictures', title: `${stem} filters`, caption: `${stem} filters as RGB patches (weight x mask), each scaled to its own min..max`, spec: rgbFiltersSpec(stemWeight.data, stemWeight.shape, { name: stem }) });
  }
  if (second) {
    const weight = run.state[`${second}.weight`];
    const mask = run.state[`${second}.weight_mask`]?.data;
    figures.push({ file: `filters-${second}`, section: 'pictures', title: `${second} filters`, caption: `${second} kernels (rows: output channels, columns: input channels), signed weights`, spec: filterGridSpec(weight.data, weight.shape, { name: second, mask }) });
  }
  return figures;
}

interface LayerRow {
  name: string;
  sparsity: number;
  params: number;
  shape: readonly number[];
}

/**
 * Writes <runDir>/figures/<figure>.<format> for each format (each file atomically) and <runDir>/report.html,
 * which shows the same SVGs. Returns the paths written.
 */
export async function writeRunReport(runDir: string, formats: readonly FigureFormat[] = FIGURE_FORMATS): Promise<RunReportFiles> {
  const run = readRunFolder(runDir);
  const { rows, prunedLayers } = epochRows(run.history);
  const curves = curveSpecs(prunedLayers);
  const sparsity = checkpointSparsity(run.state);
  const layers: LayerRow[] = sparsity.layers.map((l) => ({ name: l.name, sparsity: l.sparsity, params: l.total, shape: run.state[`${l.name}.weight`].shape }));
  const figures: string[] = [];
  const shown: ReportFigure[] = [];
  for (const f of runFigures(run, rows, curves, layers, sparsity.total.sparsity)) {
    const written = await writeFigure(join(runDir, FIGURES_DIR, f.file), f.spec, formats);
    figures.push(...written.files);
    shown.push({ section: f.section, title: f.title, caption: f.caption, svg: written.svg });
  }

  const html = join(runDir, REPORT_FILE);
  const c = run.config;
  const pruning = !c.pruner || c.pruner === 'none' ? '' : isDynamicMethod(String(c.pruner)) ? `, ${c.pruner} dynamic sparse training at ${c.sparsity}` : `, ${c.pruner} pruning (${c.schedule}) to ${c.sparsity}`;
  writeReport(html, {
    title: `Run ${basename(runDir)}`,
    subtitle: `${c.model}${c.arch && c.arch !== 'lenet' ? ` (${c.arch})` : ''}${pruning}, ${c.epochs} epochs, seed ${c.seed}; ${run.runMetadata.layout ?? 'unknown'} data, ${run.runMetadata.classes.length} classes at ${run.runMetadata.imageSize}x${run.runMetadata.imageSize}; ${run.final ? 'finished' : `unfinished after epoch ${run.history.at(-1)!.epoch}`}; ${run.device ?? 'unknown device'}`,
    config: c,
    epochs: rows,
    metricGroups: curves,
    final: finalTable(run, sparsity),
    layers,
    overallSparsity: sparsity.total.sparsity,
    figures: shown,
    notes: [`Zero weights per layer (weight x mask, biases excluded), from ${run.checkpointFile}:`, ...formatSparsity(sparsity, { withTotal: true }).split('\n')],
  });
  return { html, figures };
}

const REPORT_USAGE = 'npm run report -- RUN_DIR [--format svg,png]  |  npm run report -- SWEEP_CSV [--out DIR] [--format svg,png]';
const REPORT_FLAGS = {
  format: { type: 'string', value: 'LIST', help: `figure formats, a comma list of ${FIGURE_FORMATS.join(', ')} (default both; no pdf: neither renderer makes one)` },
  out: { type: 'string', value: 'DIR', help: "a sweep's per-seed CSV (sweep.csv): where its trade-off figures go (default: beside the CSV)" },
} as const;

/**
 * `npm run report -- RUN_DIR`: rebuilds a run folder's figures and report.html. `npm run report -- sweep.csv`:
 * the trade-off figures of a sweep's per-seed results (mean and spread over seeds).
 */
export async function reportCommand(argv: string[], print: (text: string) => void): Promise<void> {
  const { positionals, values, help } = parseCommand('report', argv, REPORT_USAGE, REPORT_FLAGS);
  if (help) return print(commandUsage(REPORT_USAGE, REPORT_FLAGS));
  if (positionals.length !== 1) throw new Error(`report: expected one run folder or sweep CSV, got ${positionals.length ? positionals.join(' ') : 'none'}\n\n${commandUsage(REPORT_USAGE, REPORT_FLAGS)}`);
  const formats = typeof values.format === 'string' ? parseFigureFormats(values.format) : [...FIGURE_FORMATS];
  const [target] = positionals;
  if (target.endsWith('.csv')) {
    const files = await writeTradeoffFigures(typeof values.out === 'string' ? values.out : dirname(target), readResultsCsv(target), formats);
    return print(`wrote ${files.join(', ')}`);
  }
  if (typeof values.out === 'string') throw new Error('report: --out is for a sweep CSV; a run folder\'s figures go in RUN_DIR/figures');
  const { html, figures } = await writeRunReport(target, formats);
  print(`wrote ${html} and ${figures.length} figure files in ${join(target, FIGURES_DIR)}`);
}
