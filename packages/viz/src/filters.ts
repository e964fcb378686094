/** Pictures of learned convolution filters: conv1 as RGB patches, deeper layers as out x in grids. */
import {
  drawColorbar, drawTitle, frameLayout, LABEL_SCALE, MARGIN, niceTicks, placePlot, PlotFrame, titleHeight,
  titleScaleFor, type FrameOptions, type Tick,
} from './axes.js';
import { Canvas, type RGB } from './canvas.js';
import { diverging, viridis } from './colormap.js';
import { capHeight } from './font.js';
import { shapeText, threeDigits } from './format.js';
import { fitTiling, tileCellRect, tilingSize } from './tiling.js';

export interface FilterOptions {
  /** Layer name, used in the title. */
  name?: string;
  /** Replaces the generated title. */
  title?: string;
  width?: number;
  height?: number;
}

export interface FilterGridOptions extends FilterOptions {
  /** 'signed': blue-white-red around 0 (default); 'magnitude': viridis of |w|. Both scale by max |w| shown. */
  mode?: 'signed' | 'magnitude';
}

/** Border around each RGB patch, so that dark or light filters stand apart from the background. */
const PATCH_BORDER: RGB = [120, 120, 120];
/** Background between tiles of the signed grid: mid grey, so that near-white (zero) weights stay visible. */
const SIGNED_GAP_RGB: RGB = [150, 150, 150];

function checkWeights(fn: string, weights: ArrayLike<number>, shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${fn}: shape ${shapeText(shape)} must be [out,in,kh,kw]`);
  }
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (weights.length !== size) {
    throw new Error(`${fn}: ${weights.length} weights but shape ${shapeText(shape)} holds ${size}`);
  }
  return [shape[0], shape[1], shape[2], shape[3]];
}

/**
 * PNG of first-layer filters [out,3,kh,kw] as RGB patches (channel 0 red, 1 green, 2 blue), each filter
 * scaled on its own from its min to its max onto 0..255; 800 x 500 by default. Patches are laid out left to
 * right, top to bottom, with the filter index above each when there is room.
 */
export function renderRgbFilters(weights: ArrayLike<number>, shape: readonly number[], options: FilterOptions = {}): Buffer {
  const [out, inputs, kh, kw] = checkWeights('renderRgbFilters', weights, shape);
  if (inputs !== 3) throw new Error(`renderRgbFilters: shape ${shapeText(shape)} must have 3 input channels (RGB)`);
  const canvas = new Canvas(options.width ?? 800, options.height ?? 500);
  const title = options.title ?? `${options.name ?? 'conv1'} filters ${shapeText(shape)}: RGB, each scaled to its min..max`;
  const scale = titleScaleFor(title, canvas.width);
  drawTitle(canvas, title, scale);
  const labelRoom = capHeight(LABEL_SCALE) + 6;
  const area = {
    x: MARGIN,
    y: titleHeight(scale),
    width: canvas.width - 2 * MARGIN,
    height: canvas.height - titleHeight(scale) - MARGIN,
  };
  // Try every column count; keep the one giving the largest patches.
  let best = { cols: 1, cell: 0 };
  for (let cols = 1; cols <= out; cols++) {
    const rows = Math.ceil(out / cols);
    const gapX = 10;
    const cell = Math.floor(Math.min((area.width - (cols - 1) * gapX) / (cols * kw), (area.height - rows * labelRoom - (rows - 1) * 8) / (rows * kh)));
    if (cell > best.cell) best = { cols, cell };
  }
  // Too many filters for labels: drop them and pack tightly.
  const labelled = best.cell * kw >= 24;
  const gapX = labelled ? 10 : 2;
  const gapY = labelled ? 8 + labelRoom : 2;
  const cols = best.cols;
  const rows = Math.ceil(out / cols);
  let cell = labelled ? best.cell : Math.floor(Math.min((area.width - (cols - 1) * gapX) / (cols * kw), (area.height - (rows - 1) * gapY) / (rows * kh)));
  cell = Math.max(1, Math.min(cell, 48));
  const gridW = cols * kw * cell + (cols - 1) * gapX;
  const gridH = rows * kh * cell + (rows - 1) * gapY + (labelled ? labelRoom : 0);
  const x0 = area.x + Math.floor((area.width - gridW) / 2);
  const y0 = area.y + Math.floor((area.height - gridH) / 2) + (labelled ? labelRoom : 0);
  const per = 3 * kh * kw;
  for (let f = 0; f < out; f++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = f * per; k < (f + 1) * per; k++) {
      lo = Math.min(lo, weights[k]);
      hi = Math.max(hi, weights[k]);
    }
    const to255 = (v: number) => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 128);
    const px = x0 + (f % cols) * (kw * cell + gapX);
    const py = y0 + Math.floor(f / cols) * (kh * cell + gapY);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const at = (c: number) => weights[f * per + c * kh * kw + ky * kw + kx];
        canvas.fillRect(px + kx * cell, py + ky * cell, cell, cell, [to255(at(0)), to255(at(1)), to255(at(2))]);
      }
    }
    if (labelled) {
      canvas.strokeRect(px - 1, py - 1, kw * cell + 2, kh * cell + 2, PATCH_BORDER);
      canvas.text(String(f), px + (kw * cell) / 2, py - 5, { align: 'center', baseline: 'bottom', scale: LABEL_SCALE });
    }
  }
  return canvas.toPNG();
}

/**
 * PNG of conv filters [out,in,kh,kw] as an out x in grid of kh x kw kernels (rows = output channels), 800 x 600
 * by default. Signed mode colours w / max|w| with the diverging map, magnitude mode |w| / max|w| with viridis;
 * a colour bar gives the scale. When not every output channel fits, the first ones that do are shown and the
 * title says how many.
 */
export function renderFilterGrid(weights: ArrayLike<number>, shape: readonly number[], options: FilterGridOptions = {}): Buffer {
  const [out, inputs, kh, kw] = checkWeights('renderFilterGrid', weights, shape);
  const signed = (options.mode ?? 'signed') === 'signed';
  const width = options.width ?? 800;
  const height = options.height ?? 600;
  const frameFor = (title: string, rows: number, titleScale?: number): FrameOptions => ({
    title,
    titleScale,
    x: { label: 'in channel', min: -0.5, max: inputs - 0.5, ticks: niceTicks(0, inputs - 1, 6, true), grid: false },
    y: { label: 'out channel', min: rows - 0.5, max: -0.5, ticks: niceTicks(0, rows - 1, 6, true), grid: false },
    sideWidth: 110,
  });
  // How many output channels fit, decided in the smallest area a title leaves (scale 3).
  const smallest = frameLayout(width, height, frameFor('', out, 3)).available;
  // Cells of at least 2 px when not every channel fits (1-px kernels with 1-px gaps read as noise).
  const minCell = fitTiling(out, inputs, kh, kw, true, smallest) ? 1 : 2;
  let rows = out;
  while (rows > 1 && (fitTiling(rows, inputs, kh, kw, true, smallest)?.cellPx ?? 0) < minCell) rows--;
  const shown = rows < out ? `, first ${rows} of ${out}` : '';
  const what = signed ? 'signed weights' : '|weights|';
  const title = options.title ?? `${options.name ?? 'conv'} filters ${shapeText(shape)}: ${what}${shown}`;
  const frameOptions = frameFor(title, rows);
  const available = frameLayout(width, height, frameOptions).available;
  const tiling = fitTiling(rows, inputs, kh, kw, true, available);
  if (!tiling) throw new Error(`renderFilterGrid: ${inputs} input channels of ${kh}x${kw} do not fit in ${width}x${height}`);
  const size = tilingSize(tiling);
  frameOptions.fitPlot = () => size;
  const plot = placePlot(available, size);

  const count = rows * inputs * kh * kw;
  let maxAbs = 0;
  for (let k = 0; k < count; k++) maxAbs = Math.max(maxAbs, Math.abs(weights[k]));
  const limit = maxAbs > 0 ? maxAbs : 1;
  const color = signed ? (w: number) => diverging(w / limit) : (w: number) => viridis(Math.abs(w) / limit);

  const canvas = new Canvas(width, height);
  const frame = new PlotFrame(canvas, frameOptions);
  if (signed) canvas.fillRect(plot.x, plot.y, plot.width, plot.height, SIGNED_GAP_RGB);
  let k = 0;
  for (let o = 0; o < rows; o++) {
    for (let i = 0; i < inputs; i++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const r = tileCellRect(tiling, plot.x, plot.y, o, i, ky, kx);
          canvas.fillRect(r.x, r.y, r.width, r.height, color(weights[k++]));
        }
      }
    }
  }
  frame.finish();
  const ticks: Tick[] = signed
    ? [{ value: 0, label: threeDigits(-limit) }, { value: 0.5, label: '0' }, { value: 1, label: threeDigits(limit) }]
    : [{ value: 0, label: '0' }, { value: 1, label: threeDigits(limit) }];
  const bar = { x: frame.side.x, y: frame.sideTop + 24, width: 20, height: Math.max(60, Math.min(220, plot.height - 24)) };
  drawColorbar(canvas, bar, signed ? (t) => diverging(2 * t - 1) : viridis, ticks, signed ? 'w' : '|w|');
  return canvas.toPNG();
}
