/** A plot frame: title, axes with nice ticks and tick labels, axis labels, a legend and a colour bar. */
import { Canvas, TEXT_RGB, type MarkerShape, type Rect, type RGB } from './canvas.js';
import { capHeight, textWidth } from './font.js';

export interface Tick {
  value: number;
  label: string;
}

export interface AxisOptions {
  label?: string;
  /** Data value at the left (x) or bottom (y) end; may exceed `max` to reverse the axis. */
  min: number;
  max: number;
  /** Logarithmic (base 2) axis; min and max must be positive. */
  log2?: boolean;
  /** Explicit ticks (categories, percentages); nice ticks over [min, max] when absent. */
  ticks?: readonly Tick[];
  /** Grid lines across the plot at the ticks. Default true. */
  grid?: boolean;
}

export interface LegendEntry {
  label: string;
  color: RGB;
  /** A filled square swatch instead of a line sample (for areas: bars, cells). */
  swatch?: boolean;
  marker?: MarkerShape;
  dash?: readonly [number, number];
}

export interface FrameOptions {
  title: string;
  x: AxisOptions;
  y: AxisOptions;
  legend?: readonly LegendEntry[];
  /** Width kept free right of the plot (beside the legend) for a colour bar. */
  sideWidth?: number;
  /** Chooses the plot size within the available area (for pixel-exact images); the plot is centred in it. */
  fitPlot?: (available: Rect) => { width: number; height: number };
  /** Title font scale; default 3 (21 px capitals) when the title fits the width, else 2. */
  titleScale?: number;
}

export const AXIS_RGB: RGB = [70, 70, 70];
export const GRID_RGB: RGB = [228, 228, 228];
/** Dash pattern of reference lines (overall sparsity, dense accuracy). */
export const REFERENCE_DASH: readonly [number, number] = [6, 4];
/** Scale of tick labels, legend and axis labels: 14 px capitals. */
export const LABEL_SCALE = 2;
/** Space between the canvas edge and anything drawn. */
export const MARGIN = 12;
const TICK = 5;
const LEGEND_ROW = 24;
const LEGEND_SAMPLE = 28;

/**
 * A step of 1, 2, 2.5 or 5 times a power of ten giving about `target` intervals over `span`; with `integer`,
 * a whole number of 1, 2 or 5 times a power of ten (for index axes).
 */
export function niceStep(span: number, target: number, integer = false): number {
  const raw = span / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 && !integer ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/** Decimals needed to print multiples of `step` exactly. */
function stepDecimals(step: number): number {
  let d = 0;
  while (d < 10 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-9 * 10 ** d) d++;
  return d;
}

/**
 * Ticks at multiples of a nice step within [min, max] (either order), labelled with just enough decimals;
 * `integer` keeps steps whole (index axes).
 */
export function niceTicks(min: number, max: number, target = 6, integer = false): Tick[] {
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  const step = niceStep(hi - lo, target, integer);
  const decimals = stepDecimals(step);
  const ticks: Tick[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) {
    const value = Number((k * step).toFixed(decimals));
    ticks.push({ value, label: value.toFixed(decimals) });
  }
  return ticks;
}

/** [min, max] of the values widened to nice-step boundaries (an empty or flat range gets a unit span). */
export function niceRange(values: Iterable<number>, target = 5): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2];
  const step = niceStep(hi - lo, target);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

/** Powers of two within [min, max], thinned to at most ~10. */
export function log2Ticks(min: number, max: number): Tick[] {
  const lo = Math.ceil(Math.log2(Math.min(min, max)) - 1e-9);
  const hi = Math.floor(Math.log2(Math.max(min, max)) + 1e-9);
  const every = Math.max(1, Math.ceil((hi - lo + 1) / 10));
  const ticks: Tick[] = [];
  for (let e = lo; e <= hi; e += every) {
    const value = 2 ** e;
    ticks.push({ value, label: value >= 1 ? String(value) : `1/${2 ** -e}` });
  }
  return ticks;
}

/** `text` cut with '..' so that it fits in `maxWidth` pixels at `scale`. */
export function fitText(text: string, maxWidth: number, scale: number): string {
  if (textWidth(text, scale) <= maxWidth) return text;
  let cut = text;
  while (cut.length > 0 && textWidth(`${cut}..`, scale) > maxWidth) cut = cut.slice(0, -1);
  return `${cut}..`;
}

function axisTicks(axis: AxisOptions): Tick[] {
  if (axis.ticks) return [...axis.ticks];
  return axis.log2 ? log2Ticks(axis.min, axis.max) : niceTicks(axis.min, axis.max);
}

/** Where a frame puts things, computed without drawing. */
export interface FrameLayout {
  /** The area the plot may take; the plot itself is this unless fitPlot chose a smaller size. */
  available: Rect;
  titleText: string;
  titleScale: number;
  xTicks: Tick[];
  yTicks: Tick[];
  yTickWidth: number;
  rotateXLabels: boolean;
  sideWidth: number;
}

/** Margins for title, ticks, labels and legend around the plot of a `width` x `height` canvas. */
export function frameLayout(width: number, height: number, options: FrameOptions): FrameLayout {
  const legend = options.legend ?? [];
  const titleScale = options.titleScale ?? titleScaleFor(options.title, width);
  const titleText = options.title;
  const top = titleHeight(titleScale);
  const legendWidth = legend.length
    ? 2 * 8 + LEGEND_SAMPLE + 8 + Math.max(...legend.map((e) => textWidth(e.label, LABEL_SCALE)))
    : 0;
  const sideWidth = Math.max(legendWidth, options.sideWidth ?? 0);
  const right = MARGIN + (sideWidth > 0 ? sideWidth + 16 : 0);
  const yTicks = axisTicks(options.y);
  const yTickWidth = Math.max(0, ...yTicks.map((t) => textWidth(t.label, LABEL_SCALE)));
  const left = MARGIN + (options.y.label ? capHeight(LABEL_SCALE) + 12 : 0) + yTickWidth + TICK + 4;
  const xTicks = axisTicks(options.x);
  const slot = (width - left - right) / Math.max(1, xTicks.length);
  const rotateXLabels = xTicks.some((t) => textWidth(t.label, LABEL_SCALE) > slot - 8);
  const xTickHeight = rotateXLabels
    ? Math.max(...xTicks.map((t) => textWidth(t.label, LABEL_SCALE)))
    : capHeight(LABEL_SCALE);
  const bottom = MARGIN + (options.x.label ? capHeight(LABEL_SCALE) + 12 : 0) + xTickHeight + TICK + 6;
  const available: Rect = { x: left, y: top, width: width - left - right, height: height - top - bottom };
  if (available.width < 20 || available.height < 20) {
    throw new Error(`PlotFrame: canvas ${width}x${height} leaves no room for the plot of '${options.title}'`);
  }
  return { available, titleText, titleScale, xTicks, yTicks, yTickWidth, rotateXLabels, sideWidth };
}

/** Scale of a title: 3 (21 px capitals) when it fits the canvas width, else 2. */
export function titleScaleFor(title: string, canvasWidth: number): number {
  return textWidth(title, 3) <= canvasWidth - 2 * MARGIN ? 3 : 2;
}

/** Pixels from the top of the canvas to the first row below a title at `scale`. */
export function titleHeight(scale: number): number {
  return MARGIN + capHeight(scale) + 18;
}

/** The title centred at the top of the canvas, cut to fit its width. */
export function drawTitle(canvas: Canvas, title: string, scale: number): void {
  canvas.text(fitText(title, canvas.width - 2 * MARGIN, scale), canvas.width / 2, MARGIN, { align: 'center', scale, color: TEXT_RGB });
}

/** A plot of `size` centred in the available area, on whole pixels. */
export function placePlot(available: Rect, size: { width: number; height: number }): Rect {
  return {
    x: available.x + Math.floor((available.width - size.width) / 2),
    y: available.y + Math.floor((available.height - size.height) / 2),
    width: size.width,
    height: size.height,
  };
}

/**
 * Lays out a plot in a canvas and draws its furniture. Construct it (draws the grid), draw the data with
 * x()/y() mapping values to pixels (the canvas is clipped to the plot meanwhile), then call finish() to draw
 * axes, ticks, labels, title and legend on top.
 */
export class PlotFrame {
  readonly plot: Rect;
  /** Area right of the plot: the legend at its top, then free space (e.g. a colour bar from sideTop). */
  readonly side: Rect;
  /** First free y in `side` below the legend. */
  readonly sideTop: number;
  private readonly layout: FrameLayout;

  constructor(
    private readonly canvas: Canvas,
    private readonly options: FrameOptions,
  ) {
    this.layout = frameLayout(canvas.width, canvas.height, options);
    const { available, sideWidth } = this.layout;
    this.plot = placePlot(available, options.fitPlot ? options.fitPlot(available) : available);
    const legendRows = options.legend?.length ?? 0;
    this.side = { x: this.plot.x + this.plot.width + 16, y: this.plot.y, width: sideWidth, height: this.plot.height };
    this.sideTop = this.side.y + (legendRows ? legendRows * LEGEND_ROW + 12 + 16 : 0);
    this.drawGrid();
    canvas.clip = this.plot;
  }

  private axisPosition(axis: AxisOptions, v: number): number {
    const f = axis.log2 ? Math.log2 : (u: number) => u;
    return (f(v) - f(axis.min)) / (f(axis.max) - f(axis.min));
  }

  /** Pixel x of a data value (pixel centres are at +0.5). */
  x(v: number): number {
    return this.plot.x + this.axisPosition(this.options.x, v) * this.plot.width;
  }

  /** Pixel y of a data value; larger values are higher up unless the axis is reversed. */
  y(v: number): number {
    return this.plot.y + (1 - this.axisPosition(this.options.y, v)) * this.plot.height;
  }

  private drawGrid(): void {
    const { plot } = this;
    if (this.options.y.grid !== false) {
      for (const t of this.layout.yTicks) this.canvas.fillRect(plot.x, Math.round(this.y(t.value)), plot.width, 1, GRID_RGB);
    }
    if (this.options.x.grid !== false) {
      for (const t of this.layout.xTicks) this.canvas.fillRect(Math.round(this.x(t.value)), plot.y, 1, plot.height, GRID_RGB);
    }
  }

  /** Draws axes, ticks, tick labels, axis labels, the title and the legend; removes the clip. */
  finish(): void {
    const { canvas, plot, options } = this;
    canvas.clip = null;
    const bottom = plot.y + plot.height;
    canvas.fillRect(plot.x - 1, plot.y, 1, plot.height + 1, AXIS_RGB);
    canvas.fillRect(plot.x - 1, bottom, plot.width + 1, 1, AXIS_RGB);
    // Tick labels that would touch the previous one are left out (their tick marks stay).
    const labelGap = capHeight(LABEL_SCALE) + 6;
    let lastY = Infinity;
    for (const t of this.layout.yTicks) {
      const py = Math.round(this.y(t.value));
      canvas.fillRect(plot.x - 1 - TICK, py, TICK, 1, AXIS_RGB);
      if (Math.abs(py - lastY) < labelGap) continue;
      canvas.text(t.label, plot.x - TICK - 5, py, { align: 'right', baseline: 'middle', scale: LABEL_SCALE });
      lastY = py;
    }
    let xLabelsBottom = bottom + TICK + 4 + capHeight(LABEL_SCALE);
    let lastRight = -Infinity;
    for (const t of this.layout.xTicks) {
      const px = Math.round(this.x(t.value));
      canvas.fillRect(px, bottom + 1, 1, TICK, AXIS_RGB);
      if (this.layout.rotateXLabels) {
        if (px - lastRight < labelGap) continue;
        const w = canvas.text(t.label, px, bottom + TICK + 4, { vertical: true, align: 'right', baseline: 'middle' });
        xLabelsBottom = Math.max(xLabelsBottom, bottom + TICK + 4 + w);
        lastRight = px;
      } else {
        const half = textWidth(t.label, LABEL_SCALE) / 2;
        if (px - half < lastRight + 10) continue;
        canvas.text(t.label, px, bottom + TICK + 4, { align: 'center', scale: LABEL_SCALE });
        lastRight = px + half;
      }
    }
    if (options.x.label) {
      canvas.text(options.x.label, plot.x + plot.width / 2, xLabelsBottom + 10, { align: 'center', scale: LABEL_SCALE });
    }
    if (options.y.label) {
      const labelX = plot.x - TICK - 4 - this.layout.yTickWidth - 12 - capHeight(LABEL_SCALE);
      canvas.text(options.y.label, labelX, plot.y + plot.height / 2, { vertical: true, align: 'center', scale: LABEL_SCALE });
    }
    drawTitle(canvas, this.layout.titleText, this.layout.titleScale);
    this.drawLegend();
  }

  private drawLegend(): void {
    const legend = this.options.legend ?? [];
    if (legend.length === 0) return;
    const { canvas, side } = this;
    const height = legend.length * LEGEND_ROW + 12;
    canvas.strokeRect(side.x, side.y, side.width, height, GRID_RGB);
    legend.forEach((e, i) => {
      const cy = side.y + 6 + i * LEGEND_ROW + LEGEND_ROW / 2;
      const sx = side.x + 8;
      if (e.swatch) {
        canvas.fillRect(sx + 4, cy - 9, 18, 18, e.color);
        canvas.strokeRect(sx + 4, cy - 9, 18, 18, AXIS_RGB);
      } else {
        canvas.line(sx, cy, sx + LEGEND_SAMPLE, cy, e.color, { thickness: 2.5, dash: e.dash });
        if (e.marker) canvas.marker(sx + LEGEND_SAMPLE / 2, cy, e.marker, 9, e.color);
      }
      canvas.text(e.label, sx + LEGEND_SAMPLE + 8, cy, { baseline: 'middle', scale: LABEL_SCALE });
    });
  }
}

/**
 * A vertical colour bar: `map(t)` for t from 0 (bottom) to 1 (top), with tick labels (at positions t) to its
 * right and a caption above it.
 */
export function drawColorbar(
  canvas: Canvas,
  rect: Rect,
  map: (t: number) => RGB,
  ticks: readonly Tick[],
  caption: string,
): void {
  canvas.text(caption, rect.x, rect.y - 14, { baseline: 'bottom', scale: LABEL_SCALE });
  for (let row = 0; row < rect.height; row++) {
    const t = 1 - (row + 0.5) / rect.height;
    canvas.fillRect(rect.x, rect.y + row, rect.width, 1, map(t));
  }
  canvas.strokeRect(rect.x, rect.y, rect.width, rect.height, AXIS_RGB);
  for (const tick of ticks) {
    const py = Math.round(rect.y + (1 - tick.value) * (rect.height - 1));
    canvas.fillRect(rect.x + rect.width, py, TICK, 1, AXIS_RGB);
    canvas.text(tick.label, rect.x + rect.width + TICK + 4, py, { baseline: 'middle', scale: LABEL_SCALE });
  }
}
