/**
 * The sweep's table: one result per unit (sweep.csv, per seed), and per pruner x sparsity the mean and sample
 * standard deviation over seeds (sweep-summary.csv, sweep.md as mean ± std, sweep.json), the trade-off figures
 * (mean over seeds with their spread, SVG and PNG) and report.html. Column names in the CSVs are ShrinkBench's where it has one (compression_ratio,
 * theoretical_speedup).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIGURE_FORMATS, tradeoffSpec, writeFigure, writeFileAtomic, writeReport, type FigureFormat, type FigureSpec, type ReportFigure, type SweepPoint, type SweepRow } from '@sparsenet/viz';
import { columnIndices, parseCsv } from '../data/csv.js';
import { enumerateUnits, type SweepGrid } from './grid.js';
import type { ModelCounts } from './measure.js';

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
  const header = ['pruner', 'target_sparsity', 'seed', ...METRICS.map((m) => m.csv), 'compact_widths', 'unit', 'adapter'];
  const rows = sortResults(grid, results).map((r) => [r.pruner, r.targetSparsity, r.seed, ...METRICS.map((m) => r[m.key]), r.compactWidths, r.unit, r.adapter ?? null].map(csvCell).join(','));
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}

export function summaryCsv(summary: readonly SummaryRow[]): string {
  const header = ['pruner', 'target_sparsity', 'seeds', ...METRICS.flatMap((m) => [`${m.csv}_mean`, `${m.csv}_std`])];
  const rows = summary.map((s) => [s.pruner, s.targetSparsity, s.seeds, ...METRICS.flatMap((m) => [s.mean[m.key], s.std[m.key]])].map(csvCell).join(','));
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
  const header = ['pruner', 'target', 'seeds', ...shown.map((m) => m.label!)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 1 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...summary.map((s) => `| ${[s.pruner, String(s.targetSparsity), String(s.seeds), ...shown.map((m) => cell(s, m))].join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The summary as the report's sweep rows (means; the interactive chart and the table): x = measured sparsity,
 * y = test accuracy. The unpruned fine-tune (dense-finetuned) is every pruner's point at sparsity 0.
 */
export function sweepRows(summary: readonly SummaryRow[]): SweepRow[] {
  const control = summary.find((s) => s.pruner === 'dense-finetuned');
  const pruned = summary.filter((s) => s.pruner !== 'dense' && s.pruner !== 'dense-finetuned');
  const pruners = [...new Set(pruned.map((s) => s.pruner))];
  const series = pruners.flatMap((pruner) => [...(control ? [{ ...control, pruner }] : []), ...pruned.filter((s) => s.pruner === pruner)]);
  return series.map((s): SweepRow => ({
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
 * scale), balanced accuracy against sparsity; each pruner's mean over seeds with ± std, dense-finetuned (the
 * unpruned control) as every pruner's point at sparsity 0, the dense baseline as a reference line with its spread.
 */
export function tradeoffFigures(results: readonly TradeoffResult[]): Array<{ file: string; title: string; spec: FigureSpec }> {
  const control = results.filter((r) => r.pruner === 'dense-finetuned');
  const pruned = results.filter((r) => r.pruner !== 'dense' && r.pruner !== 'dense-finetuned');
  const pruners = [...new Set(pruned.map((r) => r.pruner))];
  const rows = pruners.flatMap((pruner) => [...control.map((r) => ({ ...r, pruner })), ...pruned.filter((r) => r.pruner === pruner)]);
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

export const SWEEP_OUTPUTS = ['sweep.csv', 'sweep-summary.csv', 'sweep.md', 'sweep.json', ...['tradeoff', 'tradeoff-compression', 'tradeoff-balanced'].flatMap((f) => [`${f}.svg`, `${f}.png`]), 'report.html'] as const;

/** Writes every table, the figures and the report into `out`; returns the summary. */
export async function writeSweepOutputs(out: string, grid: SweepGrid, results: readonly UnitResult[], note?: string): Promise<SummaryRow[]> {
  const summary = summarize(grid, results);
  const title = `Pruning sweep: ${grid.pruners.join(', ')} over ${grid.seeds.length} seed${grid.seeds.length === 1 ? '' : 's'}`;
  writeFileAtomic(join(out, 'sweep.csv'), resultsCsv(grid, results));
  writeFileAtomic(join(out, 'sweep-summary.csv'), summaryCsv(summary));
  writeFileAtomic(join(out, 'sweep.md'), `# ${title}\n\n${summaryMarkdown(summary)}`);
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
      'x = sparsity measured from the masks (mean over seeds); y = final test accuracy (mean, band and bars ± 1 sample std over seeds). Structured rows prune that fraction of conv filters and of linear neurons.',
      'compression_ratio = params / nonzero params; theoretical_speedup = dense FLOPs / effective FLOPs (ShrinkBench).',
      'Per-seed values: sweep.csv; mean and standard deviation: sweep-summary.csv and sweep.md.',
    ],
  });
  return summary;
}
