/** Training curves: named series over epochs, each with an optional band (mean ± std over seeds). */
import { paletteColor, rgbHex } from './colormap.js';
import type { FigureSpec } from './render.js';
import { figureFrame, type FigureSize } from './theme.js';

export interface CurveSeries {
  /** The legend's words: 'train', 'validation', 'test'. */
  label: string;
  /** x of each point; default 1, 2, 3, ... (epochs). */
  x?: readonly number[];
  /** y of each point (a mean, when `std` is given); null or NaN leaves a gap. */
  y: readonly (number | null)[];
  /** Spread of each point (standard deviation over seeds): a band from y - std to y + std. */
  std?: readonly (number | null)[];
}

export interface CurveOptions extends FigureSize {
  title: string;
  /** Default 'epoch'. */
  xTitle?: string;
  yTitle: string;
  /** Values are fractions: the axis reads as percentages and stays within [0, 1]. */
  percent?: boolean;
}

/** One plotted point; `description` is its ARIA label in the SVG (values in full precision). */
export interface CurvePoint {
  series: string;
  x: number;
  y: number;
  lo?: number;
  hi?: number;
  description: string;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** The points of every series with finite coordinates, with band ends where a finite std is given. */
export function curvePoints(series: readonly CurveSeries[], xTitle = 'epoch'): CurvePoint[] {
  return series.flatMap((s) =>
    s.y.flatMap((y, i): CurvePoint[] => {
      const x = s.x ? s.x[i] : i + 1;
      if (!finite(y) || !finite(x)) return [];
      const std = s.std?.[i];
      const band = finite(std) ? { lo: y - std, hi: y + std } : {};
      const spread = finite(std) ? `, band ${y - std} to ${y + std}` : '';
      return [{ series: s.label, x, y, ...band, description: `${s.label}, ${xTitle} ${x}: ${y}${spread}` }];
    }),
  );
}

/** Every (series, x, y) with a missing or non-finite y as null. */
function lineRows(series: readonly CurveSeries[]): Array<{ series: string; x: number; y: number | null }> {
  return series.flatMap((s) => s.y.map((y, i) => ({ series: s.label, x: s.x ? s.x[i] : i + 1, y: finite(y) ? y : null })).filter((r) => Number.isFinite(r.x)));
}

/** Lines with a point per value and, where given, a band of ± std; colour and shape per series. */
export function curvesSpec(series: readonly CurveSeries[], options: CurveOptions): FigureSpec {
  const xTitle = options.xTitle ?? 'epoch';
  const values = curvePoints(series, xTitle);
  const labels = series.map((s) => s.label);
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: labels, range: labels.map((_, i) => rgbHex(paletteColor(i))) }, sort: labels };
  const ys = values.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]);
  const y = {
    field: 'y', type: 'quantitative', title: options.yTitle,
    scale: options.percent ? { zero: false, domain: [Math.max(0, Math.min(...ys)), Math.min(1, Math.max(...ys))], nice: true, clamp: true } : { zero: false, nice: true },
    axis: options.percent ? { format: '.0%' } : {},
  };
  const xs = values.map((p) => p.x);
  const integerX = xs.every(Number.isInteger);
  const x = { field: 'x', type: 'quantitative', title: xTitle, scale: { nice: false, domain: xs.length ? [Math.min(...xs), Math.max(...xs)] : undefined }, axis: integerX ? { tickMinStep: 1, format: 'd' } : {} };
  const hasBand = values.some((p) => p.lo !== undefined);
  return {
    ...figureFrame(options.title, options, { width: 640, height: 400 }),
    data: { values },
    encoding: { x, color },
    layer: [
      ...(hasBand ? [{ transform: [{ filter: 'isValid(datum.lo)' }], mark: { type: 'area', opacity: 0.2, aria: false }, encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' } } }] : []),
      // Its own rows, missing values included as null: the line breaks there rather than bridging the gap.
      { data: { values: lineRows(series) }, mark: { type: 'line', aria: false, invalid: 'break-paths-show-domains' }, encoding: { y } },
      { mark: { type: 'point' }, encoding: { y, shape: { field: 'series', type: 'nominal', title: null, sort: labels }, description: { field: 'description' } } },
    ],
  };
}
