/** Layer-wise sparsity: how much of each layer pruning removed, as a percentage, with the model's overall line. */
import { PALETTE, REFERENCE_RGB, rgbHex } from './colormap.js';
import { formatPercent } from './format.js';
import type { FigureSpec } from './render.js';
import { figureFrame, type FigureSize } from './theme.js';

export interface LayerSparsity {
  name: string;
  /** Fraction of the layer's weights pruned, in [0, 1]. */
  sparsity: number;
  /** Number of weights in the layer (shown in report tables). */
  params?: number;
  shape?: readonly number[];
}

export interface SparsityBarOptions extends FigureSize {
  title?: string;
  /** Sparsity of the whole model, drawn as a dashed line. */
  overall?: number;
}

/** One bar per layer (in the order given) on a 0-100% axis, its percentage above it; ARIA '<layer>: <s> pruned'. */
export function sparsityBarsSpec(layers: readonly LayerSparsity[], options: SparsityBarOptions = {}): FigureSpec {
  for (const l of layers) {
    if (!(l.sparsity >= 0 && l.sparsity <= 1)) throw new Error(`sparsityBarsSpec: layer ${l.name} has sparsity ${l.sparsity}, outside [0, 1]`);
  }
  const names = layers.map((l) => l.name);
  const values = layers.map((l) => ({ layer: l.name, sparsity: l.sparsity, label: formatPercent(l.sparsity), description: `${l.name}: ${l.sparsity} pruned` }));
  const x = { field: 'layer', type: 'nominal', title: 'layer', sort: names, axis: { labelAngle: 0 } };
  const y = { field: 'sparsity', type: 'quantitative', title: 'weights pruned', scale: { domain: [0, 1.08], nice: false }, axis: { format: '.0%', values: [0, 0.2, 0.4, 0.6, 0.8, 1] } };
  const overall = options.overall === undefined
    ? []
    : [{
        data: { values: [{ what: `overall ${formatPercent(options.overall)}`, sparsity: options.overall, description: `overall: ${options.overall} pruned` }] },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y, color: { field: 'what', type: 'nominal', title: null, scale: { range: [rgbHex(REFERENCE_RGB)] } }, description: { field: 'description' } },
      }];
  return {
    ...figureFrame(options.title ?? 'Sparsity per layer', options, { width: 640, height: 400 }),
    layer: [
      {
        data: { values },
        encoding: { x, y },
        layer: [
          { mark: { type: 'bar', color: rgbHex(PALETTE[0]), width: { band: 0.6 } }, encoding: { description: { field: 'description' } } },
          { mark: { type: 'text', dy: -7, fontSize: 11, aria: false }, encoding: { text: { field: 'label' } } },
        ],
      },
      ...overall,
    ],
  };
}
