/** Training curves: several named series over epochs. */
import { niceRange, niceTicks, PlotFrame } from './axes.js';
import { Canvas } from './canvas.js';
import { drawSeries, legendFor, seriesPoints, type Series } from './series.js';

export interface CurveOptions {
  title: string;
  /** Default 'epoch'. */
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range; by default the data's range widened to nice ticks. */
  yMin?: number;
  yMax?: number;
  /** Markers at points; default when no series has more than 40 points. */
  markers?: boolean;
  width?: number;
  height?: number;
}

/** PNG of series over epochs (train/test loss, accuracy, sparsity...) with a legend; 800 x 500 by default. */
export function renderCurves(series: readonly Series[], options: CurveOptions): Buffer {
  const canvas = new Canvas(options.width ?? 800, options.height ?? 500);
  const points = series.flatMap(seriesPoints);
  const xs = points.map(([x]) => x);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const [yLo, yHi] = niceRange(points.map(([, y]) => y));
  const markers = options.markers ?? series.every((s) => s.y.length <= 40);
  const xHi = xMax > xMin ? xMax : xMin + 1;
  // A little room at both ends so that markers on the first and last epoch are not cut by the frame.
  const xPad = (xHi - xMin) * 0.02;
  const frame = new PlotFrame(canvas, {
    title: options.title,
    x: {
      label: options.xLabel ?? 'epoch',
      min: xMin - xPad,
      max: xHi + xPad,
      ticks: niceTicks(xMin, xHi, 8, Number.isInteger(xMin) && Number.isInteger(xMax)),
    },
    y: { label: options.yLabel, min: options.yMin ?? yLo, max: options.yMax ?? yHi },
    legend: legendFor(series, markers),
  });
  drawSeries(canvas, frame, series, markers);
  frame.finish();
  return canvas.toPNG();
}
