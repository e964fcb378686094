/** Drawing named series of (x, y) points as lines with markers inside a plot frame. */
import type { LegendEntry, PlotFrame } from './axes.js';
import type { Canvas, MarkerShape, RGB } from './canvas.js';
import { paletteColor } from './colormap.js';

export interface Series {
  name: string;
  /** x of each point; default 1, 2, 3, ... (epochs). */
  x?: readonly number[];
  /** y of each point; null or NaN leaves a gap. */
  y: readonly (number | null)[];
  color?: RGB;
  dashed?: boolean;
  marker?: MarkerShape;
}

export const MARKERS: readonly MarkerShape[] = ['circle', 'square', 'triangle', 'diamond'];
const DASH: readonly [number, number] = [8, 5];

/** The points of a series with both coordinates finite, in order. */
export function seriesPoints(s: Series): Array<[number, number]> {
  const pts: Array<[number, number]> = [];
  s.y.forEach((y, i) => {
    const x = s.x ? s.x[i] : i + 1;
    if (y !== null && Number.isFinite(y) && Number.isFinite(x)) pts.push([x, y]);
  });
  return pts;
}

export function seriesColor(s: Series, i: number): RGB {
  return s.color ?? paletteColor(i);
}

export function legendFor(series: readonly Series[], markers: boolean): LegendEntry[] {
  return series.map((s, i) => ({
    label: s.name,
    color: seriesColor(s, i),
    dash: s.dashed ? DASH : undefined,
    marker: markers ? (s.marker ?? MARKERS[i % MARKERS.length]) : undefined,
  }));
}

/** Lines (broken at missing values) and, when `markers`, a marker at every point. */
export function drawSeries(canvas: Canvas, frame: PlotFrame, series: readonly Series[], markers: boolean): void {
  series.forEach((s, i) => {
    const color = seriesColor(s, i);
    let run: Array<[number, number]> = [];
    const flush = () => {
      if (run.length > 1) canvas.polyline(run, color, { thickness: 2.5, dash: s.dashed ? DASH : undefined });
      run = [];
    };
    s.y.forEach((y, k) => {
      const x = s.x ? s.x[k] : k + 1;
      if (y === null || !Number.isFinite(y) || !Number.isFinite(x)) return flush();
      run.push([frame.x(x), frame.y(y)]);
    });
    flush();
    if (markers) {
      const shape = s.marker ?? MARKERS[i % MARKERS.length];
      for (const [x, y] of seriesPoints(s)) canvas.marker(frame.x(x), frame.y(y), shape, 9, color);
    }
  });
}
