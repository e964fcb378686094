/**
 * A layer's mask drawn on a canvas from its 0/1 values, in viz's colours (pngjs needs Node's zlib and streams,
 * so the page draws the figure itself rather than decoding viz's PNG): a pruned weight is PRUNED_RGB, a kept
 * one viridis(1) (viz's KEPT_RGB). Conv masks [out, in, kh, kw] are an out x in grid of kh x kw kernels with
 * a one-pixel gap; linear masks [out, in] a matrix. A mask too large for the canvas is shown in blocks of
 * weights coloured by viridis of the fraction kept (all pruned: PRUNED_RGB), as viz downsamples.
 */
import { KEPT_RGB, PRUNED_RGB, viridis, type RGB } from '../../packages/viz/src/colormap.js';

const MAX_WIDTH = 640;
const MAX_HEIGHT = 360;
const MAX_CELL = 8;

export interface HeatmapPlan {
  mode: 'full' | 'block-fraction';
  /** Weights per drawn cell: rows (outputs) x columns (inputs); 1 x 1 in full mode. */
  block: [number, number];
  /** Cell size in pixels. */
  cellWidth: number;
  cellHeight: number;
  /** Pixels between conv kernels. */
  gap: number;
  out: number;
  inputs: number;
  kh: number;
  kw: number;
  width: number;
  height: number;
}

export function planHeatmap(shape: readonly number[]): HeatmapPlan {
  const [out, inputs] = shape;
  const conv = shape.length === 4;
  const [kh, kw] = conv ? [shape[2], shape[3]] : [1, 1];
  const gap = conv ? 1 : 0;
  const cell = Math.min(MAX_CELL, Math.floor(Math.min((MAX_WIDTH - (inputs - 1) * gap) / (inputs * kw), (MAX_HEIGHT - (out - 1) * gap) / (out * kh))));
  if (cell >= 1) {
    return {
      mode: 'full', block: [1, 1], cellWidth: cell, cellHeight: cell, gap, out, inputs, kh, kw,
      width: inputs * (kw * cell + gap) - gap, height: out * (kh * cell + gap) - gap,
    };
  }
  // Blocks over the matrix [out, in * kh * kw], as few weights per block along each side as fit.
  const columns = inputs * kh * kw;
  const block: [number, number] = [Math.ceil(out / MAX_HEIGHT), Math.ceil(columns / MAX_WIDTH)];
  const rows = Math.ceil(out / block[0]);
  const cols = Math.ceil(columns / block[1]);
  const cellWidth = Math.max(1, Math.min(MAX_CELL, Math.floor(MAX_WIDTH / cols)));
  const cellHeight = Math.max(1, Math.min(MAX_CELL, Math.floor(MAX_HEIGHT / rows)));
  return { mode: 'block-fraction', block, cellWidth, cellHeight, gap: 0, out, inputs: columns, kh: 1, kw: 1, width: cols * cellWidth, height: rows * cellHeight };
}

/** Top-left pixel of weight (o, i, ky, kx)'s cell. In block mode (i, ky, kx) is one column of [out, in*kh*kw]: pass it as i. */
function cellOrigin(plan: HeatmapPlan, o: number, i: number, ky: number, kx: number): { x: number; y: number } {
  if (plan.mode === 'full') {
    return { x: i * (plan.kw * plan.cellWidth + plan.gap) + kx * plan.cellWidth, y: o * (plan.kh * plan.cellHeight + plan.gap) + ky * plan.cellHeight };
  }
  return { x: Math.floor(i / plan.block[1]) * plan.cellWidth, y: Math.floor(o / plan.block[0]) * plan.cellHeight };
}

/** Pixel at the centre of weight (o, i, ky, kx)'s cell. */
export function cellCenter(plan: HeatmapPlan, o: number, i: number, ky = 0, kx = 0): { x: number; y: number } {
  const { x, y } = cellOrigin(plan, o, i, ky, kx);
  return { x: x + Math.floor(plan.cellWidth / 2), y: y + Math.floor(plan.cellHeight / 2) };
}

export function drawHeatmap(canvas: HTMLCanvasElement, mask: ArrayLike<number>, shape: readonly number[]): HeatmapPlan {
  const plan = planHeatmap(shape);
  canvas.width = plan.width;
  canvas.height = plan.height;
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  const image = context.createImageData(plan.width, plan.height);
  image.data.fill(255);
  const paint = ({ x: x0, y: y0 }: { x: number; y: number }, color: RGB) => {
    for (let y = y0; y < y0 + plan.cellHeight; y++) {
      for (let x = x0; x < x0 + plan.cellWidth; x++) image.data.set([color[0], color[1], color[2], 255], 4 * (y * plan.width + x));
    }
  };
  if (plan.mode === 'full') {
    let index = 0;
    for (let o = 0; o < plan.out; o++)
      for (let i = 0; i < plan.inputs; i++)
        for (let ky = 0; ky < plan.kh; ky++)
          for (let kx = 0; kx < plan.kw; kx++) paint(cellOrigin(plan, o, i, ky, kx), mask[index++] !== 0 ? KEPT_RGB : PRUNED_RGB);
  } else {
    const [blockRows, blockCols] = plan.block;
    const cols = Math.ceil(plan.inputs / blockCols);
    const kept = new Float64Array(cols * Math.ceil(plan.out / blockRows));
    const total = new Float64Array(kept.length);
    for (let o = 0; o < plan.out; o++) {
      for (let i = 0; i < plan.inputs; i++) {
        const b = Math.floor(o / blockRows) * cols + Math.floor(i / blockCols);
        total[b]++;
        if (mask[o * plan.inputs + i] !== 0) kept[b]++;
      }
    }
    kept.forEach((k, b) => paint(cellOrigin(plan, Math.floor(b / cols) * blockRows, (b % cols) * blockCols, 0, 0), k === 0 ? PRUNED_RGB : viridis(k / total[b])));
  }
  context.putImageData(image, 0, 0);
  return plan;
}
