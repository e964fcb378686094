/**
 * Per-layer sensitivity: accuracy against the sparsity of one layer pruned alone (nothing else pruned, no
 * fine-tuning), one line per layer, the unpruned model's accuracy as a dashed reference line. Colours are the
 * colour-blind-safe palette; past its six colours they repeat, so every layer also has its own point shape.
 */
import { paletteColor, REFERENCE_RGB, rgbHex } from './colormap.js';
import type { FigureSpec } from './render.js';
import { figureFrame, type FigureSize } from './theme.js';

/** One measurement: `layer` pruned alone to `sparsity`. */
export interface SensitivityPoint {
  layer: string;
  /** In [0, 1]: the fraction of the layer's weights (or of its group's units) pruned. */
  sparsity: number;
  accuracy: number;
}

export interface SensitivityOptions extends FigureSize {
  title?: string;
  /** Default 'sparsity of the layer pruned alone'. */
  xTitle?: string;
  /** Default 'validation accuracy'. */
  yTitle?: string;
  /** The unpruned model's accuracy: the reference line. */
  dense: { label: string; accuracy: number };
}

/**
 * The figure. Each point's ARIA label reads '<layer>, sparsity <s>: accuracy <a>'; the reference line's
 * '<label>: accuracy <a>'. Layers keep their order of first appearance.
 */
export function sensitivitySpec(points: readonly SensitivityPoint[], options: SensitivityOptions): FigureSpec {
  for (const p of points) {
    if (!Number.isFinite(p.accuracy) || !(p.sparsity >= 0 && p.sparsity <= 1)) throw new Error(`sensitivitySpec: layer ${p.layer} at sparsity ${p.sparsity}: accuracy ${p.accuracy} must be finite and the sparsity in [0, 1]`);
  }
  if (!Number.isFinite(options.dense.accuracy)) throw new Error(`sensitivitySpec: ${options.dense.label} accuracy ${options.dense.accuracy} must be finite`);
  const layers = [...new Set(points.map((p) => p.layer))];
  const values = points.map((p) => ({ ...p, description: `${p.layer}, sparsity ${p.sparsity}: accuracy ${p.accuracy}` }));
  const domain = [...layers, options.dense.label];
  const range = [...layers.map((_, i) => rgbHex(paletteColor(i))), rgbHex(REFERENCE_RGB)];
  const color = { field: 'layer', type: 'nominal', title: null, scale: { domain, range }, sort: domain };
  const ys = [...points.map((p) => p.accuracy), options.dense.accuracy];
  const y = { field: 'accuracy', type: 'quantitative', title: options.yTitle ?? 'validation accuracy', scale: { zero: false, nice: true, domain: [Math.min(...ys), Math.max(...ys)] }, axis: { format: '.0%' } };
  const x = { field: 'sparsity', type: 'quantitative', title: options.xTitle ?? 'sparsity of the layer pruned alone', scale: { domain: [0, 1], nice: false }, axis: { format: '.0%' } };
  return {
    ...figureFrame(options.title ?? 'Sensitivity of each layer', options, { width: 640, height: 400 }, `each layer pruned alone, no fine-tuning; dashed grey: ${options.dense.label}`),
    layer: [
      {
        data: { values: [{ layer: options.dense.label, accuracy: options.dense.accuracy, description: `${options.dense.label}: accuracy ${options.dense.accuracy}` }] },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y, color, description: { field: 'description' } },
      },
      {
        data: { values },
        encoding: { x, y, color },
        layer: [
          { mark: { type: 'line', aria: false } },
          { mark: { type: 'point', size: 50 }, encoding: { shape: { field: 'layer', type: 'nominal', title: null, scale: { domain }, sort: domain }, description: { field: 'description' } } },
        ],
      },
    ],
  };
}
