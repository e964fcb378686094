/**
 * Dynamic sparse training's mask updates: for each layer (a small multiple, one panel per layer), how many kept
 * weights each update dropped and how many new ones it grew, against the training step.
 */
import { paletteColor, rgbHex } from './colormap.js';
import type { FigureSpec } from './render.js';

export interface DropGrowLayer {
  name: string;
  /** Kept weights the update took out (smallest |w|). */
  dropped: number;
  /** Weights that were pruned and now are kept; dropped - grown came straight back. */
  grown: number;
}

export interface DropGrowUpdate {
  step: number;
  layers: readonly DropGrowLayer[];
}

export interface DropGrowOptions {
  title?: string;
  subtitle?: string;
  /** One panel's plot size in SVG pixels; default 220 x 150. */
  panelWidth?: number;
  panelHeight?: number;
  /** Panels per row; default 3. */
  columns?: number;
}

const SERIES = ['dropped (smallest |w|)', 'grown (new weights)'] as const;

/** One panel per layer (in first-seen order), two lines each; ARIA '<layer>, step <t>: <n> <dropped|grown>'. */
export function dropGrowSpec(updates: readonly DropGrowUpdate[], options: DropGrowOptions = {}): FigureSpec {
  const layers: string[] = [];
  for (const u of updates) {
    for (const l of u.layers) {
      if (!layers.includes(l.name)) layers.push(l.name);
      if (!(Number.isInteger(l.dropped) && Number.isInteger(l.grown) && l.dropped >= 0 && l.grown >= 0 && l.grown <= l.dropped)) {
        throw new Error(`dropGrowSpec: layer ${l.name} at step ${u.step}: dropped ${l.dropped}, grown ${l.grown} (need whole counts with grown <= dropped)`);
      }
    }
  }
  const values = updates.flatMap((u) =>
    u.layers.flatMap((l) => [
      { layer: l.name, step: u.step, series: SERIES[0], count: l.dropped, description: `${l.name}, step ${u.step}: ${l.dropped} dropped` },
      { layer: l.name, step: u.step, series: SERIES[1], count: l.grown, description: `${l.name}, step ${u.step}: ${l.grown} grown` },
    ]),
  );
  const x = { field: 'step', type: 'quantitative', title: 'training step', axis: { format: 'd', tickMinStep: 1 } };
  const y = { field: 'count', type: 'quantitative', title: 'weights', scale: { zero: true, nice: true }, axis: { format: 'd', tickMinStep: 1 } };
  const color = { field: 'series', type: 'nominal', title: null, sort: [...SERIES], scale: { domain: [...SERIES], range: SERIES.map((_, i) => rgbHex(paletteColor(i))) } };
  const title = options.title ?? 'Weights dropped and grown per mask update';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.subtitle ? { text: title, subtitle: options.subtitle } : title,
    data: { values },
    columns: Math.max(1, Math.min(layers.length, options.columns ?? 3)),
    facet: { field: 'layer', type: 'nominal', sort: layers, title: null, header: { labelFontSize: 12, labelOrient: 'top' } },
    spec: {
      width: options.panelWidth ?? 220,
      height: options.panelHeight ?? 150,
      encoding: { x, y, color },
      layer: [
        { mark: { type: 'line', aria: false } },
        { mark: { type: 'point' }, encoding: { shape: { field: 'series', type: 'nominal', title: null, sort: [...SERIES] }, description: { field: 'description' } } },
      ],
    },
    // Layers differ by orders of magnitude in size: each panel its own count axis.
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
  };
}
