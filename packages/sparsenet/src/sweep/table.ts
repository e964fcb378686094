/**
 * The sweep's table: one result per unit (sweep.csv, per seed), and per pruner x sparsity the mean and sample
 * standard deviation over seeds (sweep-summary.csv, sweep.md as mean ± std, sweep.json), the trade-off figures
 * (mean over seeds with their spread, SVG and PNG) and report.html. Column names in the CSVs are ShrinkBench's where it has one (compression_ratio,
 * theoretical_speedup). Every row says how it was trained (`training`): pruned rows are either one-shot pruned from
 * the baseline and fine-tuned, or trained sparse from scratch for the baseline's epochs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIGURE_FORMATS, tradeoffSpec, writeFigure, writeFileAtomic, writeReport, type FigureFormat, type FigureSpec, type ReportFigure, type SweepPoint, type SweepRow } from '@sparsenet/viz';
import { columnIndices, parseCsv } from '../data/csv.js';
import { enumerateUnits, type SweepGrid } from './grid.js';
import type { ModelCounts } from './measure.js';
import { isScratchMethod } from './scratch.js';

/** One unit's row: what it is, its test metrics (final model), its counts and its measurements. */
export interface UnitResult extends ModelCounts {
  unit: string;
  pruner: string;
  targetSparsity: number;
  seed: number;
  testAccuracy: number;
  testBalancedAccuracy: number;
  testLoss: number;
  /** Inference of the model as trained (masked for fine-tunes; the baseline dense). */
  msPerImage: number;
  /** Fine-tunes: the weights on the sparse kernels (SparseLeNet, or SparseModel for the zoo's others); null for the baseline. */
  sparseMsPerImage: number | null;
  /** Structured rows: the compacted dense model (compact.safetensors in the unit's folder). */
  compactMsPerImage: number | null;
  compactParams: number | null;
  compactFlops: number | null;
  /** Kept units of every layer but the output, in the layer graph's order (LeNet: conv1-conv2-fc1-fc2). */
  compactWidths: string | null;
  trainSeconds: number;
  /** The adapter the unit trained on (final.json's device), so a mixed cluster's table shows where time went; absent in results from before it was kept. */
  adapter?: string;
}

type MetricKey = {
  [K in keyof UnitResult]-?: UnitResult[K] extends number | null ? (K extends 'targetSparsity' | 'seed' ? never : K) : never;
}[keyof UnitResult];

interface Metric {
  key: MetricKey;
  csv: string;
  /** Markdown header; absent = CSV only. */
  label?: string;
  digits: number;
  /** Shown in markdown divided by this (FLOPs in millions). */
  scale?: number;
}

const METRICS: readonly Metric[] = [
  { key: 'testAccuracy', csv: 'test_accuracy', label: 'test acc', digits: 4 },
  { key: 'testBalancedAccuracy', csv: 'balanced_accuracy', label: 'balanced acc', digits: 4 },
  { key: 'testLoss', csv: 'test_loss', label: 'test loss', digits: 4 },
  { key: 'sparsity', csv: 'sparsity', label: 'sparsity', digits: 4 },
  { key: 'nonzeroParams', csv: 'nonzero_params', label: 'nonzero params', digits: 0 },
  { key: 'params', csv: 'params', digits: 0 },
  { key: 'flops', csv: 'flops', label: 'MFLOPs', digits: 3, scale: 1e6 },
  { key: 'denseFlops', csv: 'dense_flops', label: 'dense MFLOPs', digits: 3, scale: 1e6 },
  { key: 'compressionRatio', csv: 'compression_ratio', label: 'compression_ratio', digits: 2 },
  { key: 'theoreticalSpeedup', csv: 'theoretical_speedup', label: 'theoretical_speedup', digits: 2 },
  // Structured rows: lower than the masks' effective FLOPs, which still count weights reading pruned filters.
  { key: 'compactFlops', csv: 'compact_flops', label: 'compact MFLOPs', digits: 3, scale: 1e6 },
  { key: 'msPerImage', csv: 'ms_per_image', label: 'ms/img (masked)', digits: 4 },
  { key: 'sparseMsPerImage', csv: 'sparse_ms_per_image', label: 'ms/img (sparse kernels)', digits: 4 },
  { key: 'compactMsPerImage', csv: 'compact_ms_per_image', label: 'ms/img (compact)', digits: 4 },
  { key: 'compactParams', csv: 'compact_params', digits: 0 },
  { key: 'trainSeconds', csv: 'train_seconds', digits: 1 },
];

export interface SummaryRow {
  pruner: string;
  targetSparsity: number;
  seeds: number;
  mean: Record<MetricKey, number | null>;
  /** Sample standard deviation (n - 1), null with one seed. */
  std: Record<MetricKey, number | null>;
}

function meanStd(values: number[]): { mean: number | null; std: number | null } {
  if (!values.length) return { mean: null, std: null };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) };
}

/** How a row's model was trained, from its pruner (the fine-tuned pruners and the scratch methods have distinct names). */
export function trainingOf(pruner: string): string {
  if (pruner === 'dense') return 'dense baseline';
  if (pruner === 'dense-finetuned') return 'unpruned + fine-tune';
  return isScratchMethod(pruner) ? 'from scratch' : 'one-shot + fine-tune';
}

/**
 * A pruned series' name in the figures: with how it was trained when some series are trained from scratch (or all
 * are), plain when every series is a fine-tune (the figures of sweeps before scratch units stay as they were).
 */
function seriesLabels(pruners: readonly string[]): (pruner: string) => string {
  const scratch = pruners.some(isScratchMethod);
  return (pruner) => (scratch ? `${pruner} (${trainingOf(pruner)})` : pruner);
}

/** Each pruner's series, started at sparsity 0 by its control: the unpruned fine-tune for fine-tunes, the dense baseline for scratch methods. */
function withControls<R extends { pruner: string }>(rows: readonly R[]): R[] {
  const control = rows.filter((r) => r.pruner === 'dense-finetuned');
  const dense = rows.filter((r) => r.pruner === 'dense');
  const pruned = rows.filter((r) => r.pruner !== 'dense' && r.pruner !== 'dense-finetuned');
  const pruners = [...new Set(pruned.map((r) => r.pruner))];
  const label = seriesLabels(pruners);
  return pruners.flatMap((pruner) => [...(isScratchMethod(pruner) ? dense : control), ...pruned.filter((r) => r.pruner === pruner)].map((r) => ({ ...r, pruner: label(pruner) })));
}

const groupKey = (pruner: string, sparsity: number) => `${pruner}@${sparsity}`;

/** Results sorted in grid order (baseline first, pruners as given, sparsity ascending), then by seed. */
export function sortResults(grid: SweepGrid, results: readonly UnitResult[]): UnitResult[] {
  const order = new Map(enumerateUnits({ ...grid, seeds: [0] }).map((u, i) => [groupKey(u.pruner, u.sparsity), i]));
  const rank = (r: UnitResult) => order.get(groupKey(r.pruner, r.targetSparsity)) ?? order.size;
  return [...results].sort((a, b) => rank(a) - rank(b) || a.seed - b.seed);
}

/** One row per pruner x target sparsity, in grid order. */
export function summarize(grid: SweepGrid, results: readonly UnitResult[]): SummaryRow[] {
  const groups = new Map<string, UnitResult[]>();
  for (const r of sortResults(grid, results)) {
    const key = groupKey(r.pruner, r.targetSparsity);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  return [...groups.values()].map((rows) => {
    const mean = {} as SummaryRow['mean'];
    const std = {} as SummaryRow['std'];
    for (const { key } of METRICS) {
      const stats = meanStd(rows.map((r) => r[key]).filter((v): v is number => v !== null));
      mean[key] = stats.mean;
      std[key] = stats.std;
    }
    return { pruner: rows[0].pruner, targetSparsity: rows[0].targetSparsity, seeds: rows.length, mean, std };
  });
}

const csvCell = (v: string | number | null): string => (v === null ? '' : typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function resultsCsv(grid: SweepGrid, results: readonly UnitResult[]): string {
  const header = ['pruner', 'target_sparsity', 'seed', 'training', ...METRICS.map((m) => m.csv), 'compact_widths', 'unit', 'adapter'];
  const rows = sortResults(grid, results).map((r) => [r.pruner, r.targetSparsity, r.seed, trainingOf(r.pruner), ...METRICS.map((m) => r[m.key]), r.compactWidths, r.unit, r.adapter ?? null].map(csvCell).join(','));
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}

export function summaryCsv(summary: readonly SummaryRow[]): string {
  const header = ['pruner', 'target_sparsity', 'seeds', 'training', ...METRICS.flatMap((m) => [`${m.csv}_mean`, `${m.csv}_std`])];
  const rows = summary.map((s) => [s.pruner, s.targetSparsity, s.seeds, trainingOf(s.pruner), ...METRICS.flatMap((m) => [s.mean[m.key], s.std[m.key]])].map(csvCell).join(','));
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}

export function summaryMarkdown(summary: readonly SummaryRow[]): string {
  const shown = METRICS.filter((m) => m.label);
  const cell = (s: SummaryRow, m: Metric): string => {
    const mean = s.mean[m.key];
    if (mean === null) return '–';
    const std = s.std[m.key];
    const f = (v: number) => (v / (m.scale ?? 1)).toFixed(m.digits);
    return std === null ? f(mean) : `${f(mean)} ± ${f(std)}`;
  };
  const header = ['pruner', 'target', 'seeds', 'trained', ...shown.map((m) => m.label!)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 1 || i === 3 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...summary.map((s) => `| ${[s.pruner, String(s.targetSparsity), String(s.seeds), trainingOf(s.pruner), ...shown.map((m) => cell(s, m))].join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The summary as the report's sweep rows (means; the interactive chart and the table): x = measured sparsity,
 * y = test accuracy. The unpruned fine-tune (dense-finetuned) is every fine-tuned pruner's point at sparsity 0,
 * the dense baseline every scratch method's.
 */
export function sweepRows(summary: readonly SummaryRow[]): SweepRow[] {
  return withControls(summary).map((s): SweepRow => ({
    pruner: s.pruner,
    sparsity: s.mean.sparsity ?? s.targetSparsity,
    accuracy: s.mean.testAccuracy ?? Number.NaN,
    target: s.targetSparsity,
    seeds: s.seeds,
    accuracy_std: s.std.testAccuracy,
    balanced_accuracy: s.mean.testBalancedAccuracy,
    test_loss: s.mean.testLoss,
    nonzero_params: s.mean.nonzeroParams,
    compression_ratio: s.mean.compressionRatio,
    theoretical_speedup: s.mean.theoreticalSpeedup,
    ms_per_image: s.mean.msPerImage,
    sparse_ms_per_image: s.mean.sparseMsPerImage,
    compact_ms_per_image: s.mean.compactMsPerImage,
  }));
}

/** What the trade-off figures need of each unit (one seed). */
export type TradeoffResult = Pick<UnitResult, 'pruner' | 'targetSparsity' | 'seed' | 'sparsity' | 'testAccuracy' | 'testBalancedAccuracy'>;

/** Reads a sweep's per-seed CSV (resultsCsv's columns; docs/results/sweep.csv); names the file, line and column on bad input. */
export function readResultsCsv(file: string): TradeoffResult[] {
  const [header, ...records] = parseCsv(readFileSync(file, 'utf8'), file);
  const at = columnIndices(header, ['pruner', 'target_sparsity', 'seed', 'sparsity', 'test_accuracy', 'balanced_accuracy'] as const, file);
  return records.map((r) => {
    const number = (column: keyof typeof at) => {
      const v = Number(r.fields[at[column]]);
      if (r.fields[at[column]] === undefined || r.fields[at[column]].trim() === '' || !Number.isFinite(v)) throw new Error(`${file} line ${r.line}: ${column} '${r.fields[at[column]] ?? ''}' is not a number`);
      return v;
    };
    return { pruner: r.fields[at.pruner], targetSparsity: number('target_sparsity'), seed: number('seed'), sparsity: number('sparsity'), testAccuracy: number('test_accuracy'), testBalancedAccuracy: number('balanced_accuracy') };
  });
}

/**
 * The trade-off figures of per-seed results: test accuracy against sparsity and against compression ratio (log
 * scale), balanced accuracy against sparsity; each pruner's mean over seeds with ± std, its control as its point
 * at sparsity 0 (dense-finetuned for fine-tunes, the baseline for scratch methods; named with how each was trained
 * when scratch methods are present), the dense baseline as a reference line with its spread.
 */
export function tradeoffFigures(results: readonly TradeoffResult[]): Array<{ file: string; title: string; spec: FigureSpec }> {
  const rows = withControls(results);
  const dense = results.filter((r) => r.pruner === 'dense');
  const seeds = new Set(results.map((r) => r.seed)).size;
  const over = `${seeds} seed${seeds === 1 ? '' : 's'}`;
  const points = (metric: 'testAccuracy' | 'testBalancedAccuracy'): SweepPoint[] => rows.map((r) => ({ pruner: r.pruner, target: r.targetSparsity, sparsity: r.sparsity, accuracy: r[metric], seed: r.seed }));
  const baseline = (metric: 'testAccuracy' | 'testBalancedAccuracy') => (dense.length ? { label: 'dense baseline', values: dense.map((r) => r[metric]) } : undefined);
  return [
    { file: 'tradeoff', title: `Test accuracy against sparsity (${over})`, spec: tradeoffSpec(points('testAccuracy'), { title: `Test accuracy against sparsity (${over})`, baseline: baseline('testAccuracy') }) },
    { file: 'tradeoff-compression', title: `Test accuracy against compression (${over})`, spec: tradeoffSpec(points('testAccuracy'), { title: `Test accuracy against compression (${over})`, xAxis: 'compression', baseline: baseline('testAccuracy') }) },
    { file: 'tradeoff-balanced', title: `Balanced accuracy against sparsity (${over})`, spec: tradeoffSpec(points('testBalancedAccuracy'), { title: `Balanced accuracy against sparsity (${over})`, yTitle: 'test balanced accuracy', baseline: baseline('testBalancedAccuracy') }) },
  ];
}

/** Writes the trade-off figures into `dir` in each format; returns the paths written. */
export async function writeTradeoffFigures(dir: string, results: readonly TradeoffResult[], formats: readonly FigureFormat[] = FIGURE_FORMATS): Promise<string[]> {
  const files: string[] = [];
  for (const f of tradeoffFigures(results)) files.push(...(await writeFigure(join(dir, f.file), f.spec, formats)).files);
  return files;
}

/**
 * For a table missing some of its grid's units (a sweep still running, a partial merge): which rows lack which
 * seeds, as one line to print above the table; null when every unit is there.
 */
export function partialNote(grid: SweepGrid, results: readonly UnitResult[]): string | null {
  const done = new Set(results.map((r) => r.unit));
  const units = enumerateUnits(grid);
  const missing = units.filter((u) => !done.has(u.id));
  if (!missing.length) return null;
  const rows = new Map<string, number[]>();
  for (const u of missing) rows.set(`${u.pruner} ${u.sparsity}`, [...(rows.get(`${u.pruner} ${u.sparsity}`) ?? []), u.seed]);
  const listed = [...rows].map(([row, seeds]) => `${row} (seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')})`);
  return `Partial: ${units.length - missing.length} of ${units.length} units finished; missing ${listed.join(', ')}.`;
}

export const SWEEP_OUTPUTS = ['sweep.csv', 'sweep-summary.csv', 'sweep.md', 'sweep.json', ...['tradeoff', 'tradeoff-compression', 'tradeoff-balanced'].flatMap((f) => [`${f}.svg`, `${f}.png`]), 'report.html'] as const;

/** Writes every table, the figures and the report into `out`; returns the summary. */
export async function writeSweepOutputs(out: string, grid: SweepGrid, results: readonly UnitResult[], note?: string): Promise<SummaryRow[]> {
  const summary = summarize(grid, results);
  const title = `Pruning sweep: ${grid.pruners.join(', ')} over ${grid.seeds.length} seed${grid.seeds.length === 1 ? '' : 's'}`;
  writeFileAtomic(join(out, 'sweep.csv'), resultsCsv(grid, results));
  writeFileAtomic(join(out, 'sweep-summary.csv'), summaryCsv(summary));
  const partial = partialNote(grid, results);
  writeFileAtomic(join(out, 'sweep.md'), `# ${title}\n\n${partial ? `${partial}\n\n` : ''}${summaryMarkdown(summary)}`);
  writeFileAtomic(join(out, 'sweep.json'), `${JSON.stringify({ grid, summary, units: sortResults(grid, results) }, null, 2)}\n`);
  const figures: ReportFigure[] = [];
  for (const f of tradeoffFigures(results)) figures.push({ section: 'sweep', title: f.title, svg: (await writeFigure(join(out, f.file), f.spec)).svg });
  const dense = summary.find((s) => s.pruner === 'dense');
  writeReport(join(out, 'report.html'), {
    title,
    subtitle: note,
    config: { ...grid },
    final: dense ? { dense_test_accuracy: dense.mean.testAccuracy, dense_balanced_accuracy: dense.mean.testBalancedAccuracy, dense_ms_per_image: dense.mean.msPerImage, seeds: dense.seeds } : undefined,
    sweep: sweepRows(summary),
    figures,
    notes: [
      ...(partial ? [partial] : []),
      'x = sparsity measured from the masks (mean over seeds); y = final test accuracy (mean, band and bars ± 1 sample std over seeds). Structured rows prune that fraction of conv filters and of linear neurons.',
      `One-shot + fine-tune rows prune the dense baseline once and fine-tune it ${grid.finetuneEpochs} epochs; from-scratch rows train a SparseNet from its initialisation for the baseline's ${grid.epochs} epochs.`,
      'compression_ratio = params / nonzero params; theoretical_speedup = dense FLOPs / effective FLOPs (ShrinkBench).',
      'Per-seed values: sweep.csv; mean and standard deviation: sweep-summary.csv and sweep.md.',
    ],
  });
  return summary;
}
