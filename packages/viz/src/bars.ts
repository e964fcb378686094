/** Layer-wise sparsity bar chart: how much of each layer pruning removed. */
import { LABEL_SCALE, PlotFrame, REFERENCE_DASH, type LegendEntry } from './axes.js';
import { Canvas, WHITE, type RGB } from './canvas.js';
import { PALETTE } from './colormap.js';
import { capHeight, textWidth } from './font.js';
import { formatPercent } from './format.js';

export interface LayerSparsity {
  name: string;
  /** Fraction of the layer's weights pruned, in [0, 1]. */
  sparsity: number;
  /** Number of weights in the layer (shown in report tables). */
  params?: number;
  shape?: readonly number[];
}

export interface SparsityBarOptions {
  title?: string;
  /** Sparsity of the whole model, drawn as a dashed line. */
  overall?: number;
  width?: number;
  height?: number;
}

export const BAR_RGB: RGB = PALETTE[0];
export const OVERALL_RGB: RGB = [200, 30, 30];
/** Bars take this share of their slot. */
const BAR_SHARE = 0.6;

/**
 * PNG of one bar per layer, height = percentage pruned on a 0-100% axis (with headroom for labels), the
 * percentage written above each bar; 800 x 500 by default.
 */
export function renderSparsityBars(layers: readonly LayerSparsity[], options: SparsityBarOptions = {}): Buffer {
  const canvas = new Canvas(options.width ?? 800, options.height ?? 500);
  const legend: LegendEntry[] = [];
  if (options.overall !== undefined) {
    legend.push({ label: `overall ${formatPercent(options.overall)}`, color: OVERALL_RGB, dash: REFERENCE_DASH });
  }
  const frame = new PlotFrame(canvas, {
    title: options.title ?? 'Sparsity per layer',
    x: { min: -0.5, max: Math.max(1, layers.length) - 0.5, ticks: layers.map((l, i) => ({ value: i, label: l.name })), grid: false },
    y: {
      label: 'pruned (%)',
      min: 0,
      // Headroom above 100% for the label of a fully pruned layer.
      max: 110,
      ticks: [0, 20, 40, 60, 80, 100].map((v) => ({ value: v, label: `${v}%` })),
    },
    legend,
  });
  const { plot } = frame;
  const slot = plot.width / Math.max(1, layers.length);
  const barWidth = Math.max(1, Math.round(slot * BAR_SHARE));
  const base = Math.round(frame.y(0));
  // One decimal when every label fits its slot, else none, so that all labels read alike.
  const decimals = layers.every((l) => textWidth(formatPercent(l.sparsity, 1), LABEL_SCALE) <= slot - 4) ? 1 : 0;
  const barTop = (sparsity: number) => Math.round(frame.y(Math.max(0, Math.min(1, sparsity)) * 100));
  layers.forEach((layer, i) => {
    const top = barTop(layer.sparsity);
    canvas.fillRect(Math.round(frame.x(i) - barWidth / 2), top, barWidth, base - top, BAR_RGB);
  });
  if (options.overall !== undefined) {
    const y = frame.y(options.overall * 100);
    canvas.line(plot.x, y, plot.x + plot.width, y, OVERALL_RGB, { thickness: 2, dash: REFERENCE_DASH });
  }
  frame.finish();
  // Labels last, each on a white box so that the overall line does not run through it.
  layers.forEach((layer, i) => {
    const text = formatPercent(layer.sparsity, decimals);
    const top = barTop(layer.sparsity);
    const w = textWidth(text, LABEL_SCALE);
    const h = capHeight(LABEL_SCALE);
    canvas.fillRect(frame.x(i) - w / 2 - 2, top - 6 - h - 2, w + 4, h + 4, WHITE);
    canvas.text(text, frame.x(i), top - 6, { align: 'center', baseline: 'bottom', scale: LABEL_SCALE });
  });
  return canvas.toPNG();
}
