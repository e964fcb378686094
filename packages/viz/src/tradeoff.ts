/**
 * Trade-off of a pruning sweep: accuracy against sparsity (or compression ratio, log scale), one line per
 * pruner through the mean over seeds with a band and error bars of ± one sample standard deviation, and the
 * dense baseline as a reference line with its own spread.
 */
import { paletteColor, REFERENCE_RGB, rgbHex } from './colormap.js';
import type { FigureSpec } from './render.js';
import { figureFrame, type FigureSize } from './theme.js';

/** One trained model of a sweep (one seed). */
export interface SweepPoint {
  pruner: string;
  /** The sparsity asked for: points of one pruner and target are the seeds of one mean. */
  target: number;
  /** Fraction of weights pruned, measured from the masks, in [0, 1). */
  sparsity: number;
  accuracy: number;
  seed?: number;
}

/** The seeds of one pruner at one target: means and sample standard deviation (0 with one seed). */
export interface SweepSummary {
  pruner: string;
  target: number;
  seeds: number;
  sparsity: number;
  accuracy: number;
  std: number;
}

export interface TradeoffOptions extends FigureSize {
  title?: string;
  /** 'sparsity' (as a percentage, default) or 'compression' = 1 / (1 - sparsity) on a log2 axis. */
  xAxis?: 'sparsity' | 'compression';
  /** Default 'test accuracy'. */
  yTitle?: string;
  /** The dense model's accuracy per seed: a reference line at the mean with a band of ± std. */
  baseline?: { label: string; values: readonly number[] };
}

/** Mean and sample standard deviation (n - 1; 0 for one value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

/** Per pruner (in order of first appearance) and target (ascending): the mean over its seeds. */
export function summarizeSweep(points: readonly SweepPoint[]): SweepSummary[] {
  const groups = new Map<string, SweepPoint[]>();
  for (const p of points) {
    if (!Number.isFinite(p.accuracy) || !Number.isFinite(p.sparsity)) throw new Error(`tradeoffSpec: ${p.pruner} at ${p.target}: accuracy ${p.accuracy} and sparsity ${p.sparsity} must be finite`);
    const key = JSON.stringify([p.pruner, p.target]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(p);
  }
  const pruners = [...new Set(points.map((p) => p.pruner))];
  return [...groups.values()]
    .map((g) => {
      const { mean, std } = meanStd(g.map((p) => p.accuracy));
      return { pruner: g[0].pruner, target: g[0].target, seeds: g.length, sparsity: meanStd(g.map((p) => p.sparsity)).mean, accuracy: mean, std };
    })
    .sort((a, b) => pruners.indexOf(a.pruner) - pruners.indexOf(b.pruner) || a.target - b.target);
}

/** Compression ratio of a sparsity: 1 / (1 - s); infinite at s = 1. */
export function compressionRatio(sparsity: number): number {
  return 1 / (1 - sparsity);
}

/**
 * The figure. Each mean point's ARIA label reads '<pruner>, sparsity <s>: mean <m>, band <m - std> to
 * <m + std>, <n> seeds'; the baseline's '<label>: mean <m>, band <lo> to <hi>, <n> seeds'.
 */
export function tradeoffSpec(points: readonly SweepPoint[], options: TradeoffOptions = {}): FigureSpec {
  const compression = options.xAxis === 'compression';
  const summary = summarizeSweep(points).filter((s) => !compression || s.sparsity < 1);
  const pruners = [...new Set(summary.map((s) => s.pruner))];
  const values = summary.map((s) => ({
    ...s,
    x: compression ? compressionRatio(s.sparsity) : s.sparsity,
    lo: s.accuracy - s.std,
    hi: s.accuracy + s.std,
    description: `${s.pruner}, sparsity ${s.sparsity}: mean ${s.accuracy}, band ${s.accuracy - s.std} to ${s.accuracy + s.std}, ${s.seeds} seed${s.seeds === 1 ? '' : 's'}`,
  }));
  const baseline = options.baseline && options.baseline.values.length ? { label: options.baseline.label, ...meanStd(options.baseline.values), seeds: options.baseline.values.length } : undefined;
  const domain = [...pruners, ...(baseline ? [baseline.label] : [])];
  const range = [...pruners.map((_, i) => rgbHex(paletteColor(i))), ...(baseline ? [rgbHex(REFERENCE_RGB)] : [])];
  const color = { field: 'pruner', type: 'nominal', title: null, scale: { domain, range }, sort: domain };
  const yTitle = options.yTitle ?? 'test accuracy';
  const ys = [...values.flatMap((v) => [v.lo, v.hi]), ...(baseline ? [baseline.mean - baseline.std, baseline.mean + baseline.std] : [])];
  const y = { field: 'accuracy', type: 'quantitative', title: yTitle, scale: { zero: false, nice: true, domain: [Math.min(...ys), Math.max(...ys)] }, axis: { format: '.0%' } };
  const maxX = Math.max(2, ...values.map((v) => v.x));
  const x = compression
    ? { field: 'x', type: 'quantitative', title: 'compression ratio 1 / (1 − sparsity), log scale', scale: { type: 'log', base: 2, domain: [1, 2 ** Math.ceil(Math.log2(maxX))], nice: false }, axis: { values: Array.from({ length: Math.ceil(Math.log2(maxX)) + 1 }, (_, k) => 2 ** k), format: '~g', labelExpr: "datum.label + '×'" } }
    : { field: 'x', type: 'quantitative', title: 'sparsity (weights pruned)', scale: { domain: [0, 1], nice: false }, axis: { format: '.0%' } };
  const baselineLayers = baseline
    ? [
        { data: { values: [{ pruner: baseline.label, lo: baseline.mean - baseline.std, hi: baseline.mean + baseline.std }] }, mark: { type: 'rect', opacity: 0.15, aria: false }, encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } },
        {
          data: { values: [{ pruner: baseline.label, accuracy: baseline.mean, description: `${baseline.label}: mean ${baseline.mean}, band ${baseline.mean - baseline.std} to ${baseline.mean + baseline.std}, ${baseline.seeds} seed${baseline.seeds === 1 ? '' : 's'}` }] },
          mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
          encoding: { y, color, description: { field: 'description' } },
        },
      ]
    : [];
  const shape = { field: 'pruner', type: 'nominal', title: null, sort: domain };
  return {
    ...figureFrame(options.title ?? (compression ? 'Accuracy against compression' : 'Accuracy against sparsity'), options, { width: 640, height: 400 }, `mean over seeds, band and bars ± 1 std${baseline ? `; dashed grey: ${baseline.label} (mean, band ± 1 std)` : ''}`),
    layer: [
      ...baselineLayers,
      {
        data: { values },
        encoding: { x, color },
        layer: [
          { mark: { type: 'area', opacity: 0.18, aria: false }, encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
          { mark: { type: 'rule', strokeWidth: 1.5, aria: false }, encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
          { mark: { type: 'line', aria: false }, encoding: { y } },
          { mark: { type: 'point', size: 50 }, encoding: { y, shape, description: { field: 'description' } } },
        ],
      },
    ],
  };
}
