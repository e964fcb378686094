/** Sparsity heatmap of one layer's 0/1 mask: which weights pruning removed. */
import { frameLayout, niceTicks, placePlot, drawColorbar, PlotFrame, type FrameOptions, type LegendEntry } from './axes.js';
import { Canvas, type RGB } from './canvas.js';
import { KEPT_RGB, PRUNED_RGB, viridis } from './colormap.js';
import { fitTiling, tileCellRect, tilingSize, type Tiling } from './tiling.js';
import { formatPercent, shapeText } from './format.js';

/** Colour of a kept weight at full resolution: viridis at 1 (every weight of the cell kept). */

export interface MaskHeatmapOptions {
  /** Layer name, used in the title. */
  name?: string;
  /** Replaces the generated title. */
  title?: string;
  /** Image size; default 800 x 600. */
  width?: number;
  height?: number;
}

/**
 * How a mask is drawn. 'full': one cell per weight (conv kernels as kh x kw tiles separated by a gap).
 * 'kernel-fraction' (conv too large): one cell per `factor` x `factor` block of kernels, coloured by the
 * fraction of their weights kept. 'block-fraction' (linear too large): one cell per `factor` x `factor` block
 * of weights. A cell whose weights are all pruned is PRUNED_RGB; any other is viridis(fraction kept).
 */
export interface MaskHeatmapPlan {
  mode: 'full' | 'kernel-fraction' | 'block-fraction';
  factor: number;
  tiling: Tiling;
  /** Top-left pixel of the drawn tiling. */
  x: number;
  y: number;
  title: string;
  kept: number;
  total: number;
  frame: FrameOptions;
}

interface MaskShape {
  out: number;
  inputs: number;
  kh: number;
  kw: number;
  conv: boolean;
}

function parseShape(mask: ArrayLike<number>, shape: readonly number[]): MaskShape {
  const valid = (shape.length === 2 || shape.length === 4) && shape.every((d) => Number.isInteger(d) && d > 0);
  if (!valid) throw new Error(`renderMaskHeatmap: shape ${shapeText(shape)} must be [out,in] or [out,in,kh,kw]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (mask.length !== size) {
    throw new Error(`renderMaskHeatmap: mask has ${mask.length} values but shape ${shapeText(shape)} holds ${size}`);
  }
  const conv = shape.length === 4;
  return { out: shape[0], inputs: shape[1], kh: conv ? shape[2] : 1, kw: conv ? shape[3] : 1, conv };
}

const FULL_LEGEND: LegendEntry[] = [
  { label: 'pruned', color: PRUNED_RGB, swatch: true },
  { label: 'kept', color: KEPT_RGB, swatch: true },
];
const FRACTION_LEGEND: LegendEntry[] = [{ label: 'all pruned', color: PRUNED_RGB, swatch: true }];
const COLORBAR = { width: 20, height: 200, caption: 'kept' };
const COLORBAR_TICKS = [0, 0.25, 0.5, 0.75, 1].map((value) => ({ value, label: formatPercent(value, 0) }));

/** Frame options for a mask drawn with `factor` units (kernels or weights) per cell side. */
function maskFrame(s: MaskShape, title: string, full: boolean, tiling: { rows: number; cols: number }, factor: number, titleScale?: number): FrameOptions {
  const unit = s.conv ? 'channel' : 'feature';
  return {
    title,
    titleScale,
    // Axis units are kernel (conv) or weight (linear) indices; the drawn cells cover rows*factor of them.
    x: { label: `in ${unit}`, min: -0.5, max: tiling.cols * factor - 0.5, ticks: niceTicks(0, s.inputs - 1, 6, true), grid: false },
    y: { label: `out ${unit}`, min: tiling.rows * factor - 0.5, max: -0.5, ticks: niceTicks(0, s.out - 1, 6, true), grid: false },
    legend: full ? FULL_LEGEND : FRACTION_LEGEND,
    // The same side width in every mode, so that the plot area does not depend on the mode.
    sideWidth: 170,
  };
}

/** Decides the drawing of a mask and where it lands in the image (exported so tests can find cells). */
export function planMaskHeatmap(mask: ArrayLike<number>, shape: readonly number[], options: MaskHeatmapOptions = {}): MaskHeatmapPlan {
  const s = parseShape(mask, shape);
  const width = options.width ?? 800;
  const height = options.height ?? 600;
  let kept = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kept++;
  const total = mask.length;

  // Choose mode and factor in the smallest plot area any title leaves (title at scale 3); the final area
  // is at least as large, so the choice still fits there.
  const smallest = frameLayout(width, height, maskFrame(s, '', true, { rows: s.out, cols: s.inputs }, 1, 3)).available;
  let mode: MaskHeatmapPlan['mode'] = 'full';
  let factor = 1;
  if (!fitTiling(s.out, s.inputs, s.kh, s.kw, s.conv, smallest)) {
    mode = s.conv ? 'kernel-fraction' : 'block-fraction';
    factor = Math.max(1, Math.ceil(Math.max(s.out / smallest.height, s.inputs / smallest.width)));
    while (!fitTiling(Math.ceil(s.out / factor), Math.ceil(s.inputs / factor), 1, 1, false, smallest)) factor++;
  }
  const rows = Math.ceil(s.out / factor);
  const cols = Math.ceil(s.inputs / factor);
  const tileRows = mode === 'full' ? s.kh : 1;
  const tileCols = mode === 'full' ? s.kw : 1;
  const gapped = mode === 'full' && s.conv;

  const pruned = formatPercent(1 - kept / Math.max(1, total), 1);
  const what = s.conv ? (factor === 1 ? '1 kernel' : `${factor}x${factor} kernels`) : `${factor}x${factor} weights`;
  const generated = `${options.name ?? 'mask'} ${shapeText(shape)}: ${pruned} pruned${mode === 'full' ? '' : `; downsampled, cell = ${what}`}`;
  const title = options.title ?? generated;

  const frame = maskFrame(s, title, mode === 'full', { rows, cols }, factor);
  const available = frameLayout(width, height, frame).available;
  const tiling = fitTiling(rows, cols, tileRows, tileCols, gapped, available)!;
  const size = tilingSize(tiling);
  frame.fitPlot = () => size;
  const plot = placePlot(available, size);
  return { mode, factor, tiling, x: plot.x, y: plot.y, title, kept, total, frame };
}

/** Centre pixel of the drawn cell that shows weight (o, i, ky, kx) (linear: ky = kx = 0). */
export function maskCellCenter(plan: MaskHeatmapPlan, o: number, i: number, ky = 0, kx = 0): { x: number; y: number } {
  const full = plan.mode === 'full';
  const r = tileCellRect(plan.tiling, plan.x, plan.y, Math.floor(o / plan.factor), Math.floor(i / plan.factor), full ? ky : 0, full ? kx : 0);
  return { x: r.x + Math.floor(r.width / 2), y: r.y + Math.floor(r.height / 2) };
}

/**
 * PNG of a layer's mask (nonzero = kept), 800 x 600 by default. Conv weights [out,in,kh,kw] are tiled as an
 * out x in grid of kh x kw kernels, linear weights [out,in] as a matrix (rows = outputs). Pruned cells are
 * PRUNED_RGB, kept ones KEPT_RGB; a mask too large for the image is downsampled (see MaskHeatmapPlan) with a
 * colour bar of the kept fraction, and the title says so.
 */
export function renderMaskHeatmap(mask: ArrayLike<number>, shape: readonly number[], options: MaskHeatmapOptions = {}): Buffer {
  const plan = planMaskHeatmap(mask, shape, options);
  const s = parseShape(mask, shape);
  const canvas = new Canvas(options.width ?? 800, options.height ?? 600);
  const frame = new PlotFrame(canvas, plan.frame);
  const { tiling, factor } = plan;
  const paint = (row: number, col: number, cellRow: number, cellCol: number, color: RGB) => {
    const r = tileCellRect(tiling, plan.x, plan.y, row, col, cellRow, cellCol);
    canvas.fillRect(r.x, r.y, r.width, r.height, color);
  };
  if (plan.mode === 'full') {
    let k = 0;
    for (let o = 0; o < s.out; o++) {
      for (let i = 0; i < s.inputs; i++) {
        for (let ky = 0; ky < s.kh; ky++) {
          for (let kx = 0; kx < s.kw; kx++) paint(o, i, ky, kx, mask[k++] !== 0 ? KEPT_RGB : PRUNED_RGB);
        }
      }
    }
  } else {
    const keptIn = new Float64Array(tiling.rows * tiling.cols);
    const totalIn = new Float64Array(tiling.rows * tiling.cols);
    const perKernel = s.kh * s.kw;
    for (let k = 0; k < mask.length; k++) {
      const kernel = Math.floor(k / perKernel);
      const cell = Math.floor(Math.floor(kernel / s.inputs) / factor) * tiling.cols + Math.floor((kernel % s.inputs) / factor);
      totalIn[cell]++;
      if (mask[k] !== 0) keptIn[cell]++;
    }
    for (let row = 0; row < tiling.rows; row++) {
      for (let col = 0; col < tiling.cols; col++) {
        const c = row * tiling.cols + col;
        paint(row, col, 0, 0, keptIn[c] === 0 ? PRUNED_RGB : viridis(keptIn[c] / totalIn[c]));
      }
    }
  }
  frame.finish();
  if (plan.mode !== 'full') {
    const bar = { x: frame.side.x, y: frame.sideTop + 24, width: COLORBAR.width, height: COLORBAR.height };
    drawColorbar(canvas, bar, viridis, COLORBAR_TICKS, COLORBAR.caption);
  }
  return canvas.toPNG();
}
