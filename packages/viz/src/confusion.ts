/** Confusion matrix: counts per (true, predicted) class, coloured by the row-normalised value. */
import { drawColorbar, frameLayout, placePlot, PlotFrame, type FrameOptions } from './axes.js';
import { Canvas, type Rect } from './canvas.js';
import { textColorOn, viridis } from './colormap.js';
import { capHeight, textWidth } from './font.js';
import { formatPercent } from './format.js';

export interface ConfusionOptions {
  title?: string;
  /** Default 720 x 640. */
  width?: number;
  height?: number;
}

export interface ConfusionPlan {
  /** Top-left pixel of the matrix and the side of a cell. */
  x: number;
  y: number;
  cellPx: number;
  title: string;
  frame: FrameOptions;
}

function checkCounts(counts: readonly (readonly number[])[], classNames: readonly string[]): number {
  const n = classNames.length;
  if (n === 0 || counts.length !== n || counts.some((row) => row.length !== n)) {
    const rows = counts.map((r) => r.length).join(',');
    throw new Error(`renderConfusion: counts must be ${n}x${n} for ${n} class names; got rows of [${rows}]`);
  }
  return n;
}

/** Where the matrix lands (exported so tests can find cells). Rows are true classes, columns predictions. */
export function planConfusion(counts: readonly (readonly number[])[], classNames: readonly string[], options: ConfusionOptions = {}): ConfusionPlan {
  const n = checkCounts(counts, classNames);
  let total = 0;
  let correct = 0;
  let recallSum = 0;
  counts.forEach((row, r) => {
    const rowSum = row.reduce((a, b) => a + b, 0);
    total += rowSum;
    correct += row[r];
    recallSum += rowSum > 0 ? row[r] / rowSum : 0;
  });
  const title =
    options.title ?? `Confusion matrix: n=${total}, acc ${formatPercent(correct / Math.max(1, total))}, bal. acc ${formatPercent(recallSum / n)}`;
  const ticks = classNames.map((label, i) => ({ value: i, label }));
  const frame: FrameOptions = {
    title,
    x: { label: 'predicted', min: -0.5, max: n - 0.5, ticks, grid: false },
    y: { label: 'true', min: n - 0.5, max: -0.5, ticks, grid: false },
    sideWidth: 90,
  };
  const available = frameLayout(options.width ?? 720, options.height ?? 640, frame).available;
  const cellPx = Math.floor(Math.min(available.width, available.height) / n);
  frame.fitPlot = () => ({ width: n * cellPx, height: n * cellPx });
  const plot = placePlot(available, { width: n * cellPx, height: n * cellPx });
  return { x: plot.x, y: plot.y, cellPx, title, frame };
}

/** Rectangle of cell (true class r, predicted class c). */
export function confusionCellRect(plan: ConfusionPlan, r: number, c: number): Rect {
  return { x: plan.x + c * plan.cellPx, y: plan.y + r * plan.cellPx, width: plan.cellPx, height: plan.cellPx };
}

/**
 * PNG of a confusion matrix counts[true][predicted] with class names on both axes, the count written in each
 * cell and the cell coloured by viridis of count / row total; 720 x 640 by default.
 */
export function renderConfusion(counts: readonly (readonly number[])[], classNames: readonly string[], options: ConfusionOptions = {}): Buffer {
  const plan = planConfusion(counts, classNames, options);
  const canvas = new Canvas(options.width ?? 720, options.height ?? 640);
  const frame = new PlotFrame(canvas, plan.frame);
  counts.forEach((row, r) => {
    const rowSum = row.reduce((a, b) => a + b, 0);
    row.forEach((count, c) => {
      const cell = confusionCellRect(plan, r, c);
      const color = viridis(rowSum > 0 ? count / rowSum : 0);
      canvas.fillRect(cell.x, cell.y, cell.width, cell.height, color);
      const text = String(count);
      // Scale 2 when it fits the cell, else the 7 px font, else nothing.
      const scale = [2, 1].find((s) => textWidth(text, s) <= cell.width - 4 && capHeight(s) <= cell.height - 4);
      if (scale !== undefined) {
        canvas.text(text, cell.x + cell.width / 2, cell.y + cell.height / 2, { align: 'center', baseline: 'middle', scale, color: textColorOn(color) });
      }
    });
  });
  frame.finish();
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((value) => ({ value, label: formatPercent(value, 0) }));
  const bar = { x: frame.side.x, y: frame.side.y + 24, width: 20, height: Math.min(240, frame.plot.height - 24) };
  drawColorbar(canvas, bar, viridis, ticks, 'row %');
  return canvas.toPNG();
}
