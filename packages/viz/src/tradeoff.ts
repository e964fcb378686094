/** Trade-off of a pruning sweep: accuracy against sparsity, one line per pruner. */
import { log2Ticks, niceRange, niceTicks, PlotFrame, REFERENCE_DASH, type LegendEntry } from './axes.js';
import { Canvas, type RGB } from './canvas.js';
import { drawSeries, legendFor, type Series } from './series.js';

export interface SweepPoint {
  pruner: string;
  /** Fraction of weights pruned, in [0, 1). */
  sparsity: number;
  accuracy: number;
}

export interface TradeoffOptions {
  title?: string;
  /** 'sparsity' (0..1, default) or 'compression' = 1 / (1 - sparsity) on a log2 axis. */
  xAxis?: 'sparsity' | 'compression';
  /** Default 'accuracy'. */
  yLabel?: string;
  /** Accuracy of the dense model, drawn as a dashed grey line. */
  baseline?: number;
  width?: number;
  height?: number;
}

const BASELINE_RGB: RGB = [110, 110, 110];

/** Compression ratio of a sparsity: 1 / (1 - s); infinite at s = 1. */
export function compressionRatio(sparsity: number): number {
  return 1 / (1 - sparsity);
}

/** The sweep's points grouped by pruner (in order of first appearance), each sorted by sparsity. */
export function groupByPruner(points: readonly SweepPoint[]): Map<string, SweepPoint[]> {
  const groups = new Map<string, SweepPoint[]>();
  for (const p of points) {
    if (!groups.has(p.pruner)) groups.set(p.pruner, []);
    groups.get(p.pruner)!.push(p);
  }
  for (const g of groups.values()) g.sort((a, b) => a.sparsity - b.sparsity);
  return groups;
}

/**
 * PNG of accuracy against sparsity (or compression ratio on a log2 axis) for a sweep, one line with markers
 * per pruner and a legend; 800 x 500 by default. Points at sparsity 1 are left out of the compression view.
 */
export function renderTradeoff(points: readonly SweepPoint[], options: TradeoffOptions = {}): Buffer {
  const compression = options.xAxis === 'compression';
  const toX = compression ? (p: SweepPoint) => compressionRatio(p.sparsity) : (p: SweepPoint) => p.sparsity;
  const series: Series[] = [...groupByPruner(points)].map(([name, group]) => {
    const kept = group.filter((p) => Number.isFinite(toX(p)));
    return { name, x: kept.map(toX), y: kept.map((p) => p.accuracy) };
  });
  const xs = series.flatMap((s) => s.x ?? []);
  const ys = series.flatMap((s) => s.y.filter((y): y is number => y !== null));
  const [yMin, yMax] = niceRange(options.baseline === undefined ? ys : [...ys, options.baseline]);
  const xMax = compression ? 2 ** Math.max(1, Math.ceil(Math.log2(Math.max(2, ...xs)))) : 1;
  const legend: LegendEntry[] = legendFor(series, true);
  if (options.baseline !== undefined) legend.push({ label: 'dense', color: BASELINE_RGB, dash: REFERENCE_DASH });
  const canvas = new Canvas(options.width ?? 800, options.height ?? 500);
  const frame = new PlotFrame(canvas, {
    title: options.title ?? (compression ? 'Accuracy vs compression' : 'Accuracy vs sparsity'),
    x: compression
      ? { label: 'compression ratio 1/(1-sparsity), log2', min: 1, max: xMax, log2: true, ticks: log2Ticks(1, xMax) }
      : { label: 'sparsity (fraction pruned)', min: -0.02, max: 1.02, ticks: niceTicks(0, 1, 5) },
    y: { label: options.yLabel ?? 'accuracy', min: yMin, max: yMax },
    legend,
  });
  if (options.baseline !== undefined) {
    const y = frame.y(options.baseline);
    canvas.line(frame.plot.x, y, frame.plot.x + frame.plot.width, y, BASELINE_RGB, { thickness: 2, dash: REFERENCE_DASH });
  }
  drawSeries(canvas, frame, series, true);
  frame.finish();
  return canvas.toPNG();
}
