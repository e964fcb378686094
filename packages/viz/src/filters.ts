/** First-layer filters [out, 3, kh, kw] as RGB patches: what colour and pattern each filter responds to. */
import { shapeText } from './format.js';
import type { FigureSpec } from './render.js';
import { checkWeightShape } from './tiling.js';

export interface RgbFilterOptions {
  /** Layer name, used in the title. */
  name?: string;
  title?: string;
  /** Side of a weight's cell in SVG pixels; default: patches fill about 560 px across. */
  cellPx?: number;
}

/** '#rrggbb' of each weight position of each filter, the filter scaled from its own min to max onto 0..255. */
export function rgbPatches(weights: ArrayLike<number>, shape: readonly number[]): string[][] {
  const [out, , kh, kw] = shape;
  const per = 3 * kh * kw;
  return Array.from({ length: out }, (_, f) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = f * per; k < (f + 1) * per; k++) {
      lo = Math.min(lo, weights[k]);
      hi = Math.max(hi, weights[k]);
    }
    const byte = (v: number) => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 128).toString(16).padStart(2, '0');
    return Array.from({ length: kh * kw }, (_, p) => `#${[0, 1, 2].map((c) => byte(weights[f * per + c * kh * kw + p])).join('')}`);
  });
}

/**
 * Patches left to right, top to bottom, the filter index above each; channel 0 red, 1 green, 2 blue, each
 * filter scaled on its own (so the picture shows patterns, not magnitudes). ARIA 'filter <f> (<ky>,<kx>): #rrggbb'.
 */
export function rgbFiltersSpec(weights: ArrayLike<number>, shape: readonly number[], options: RgbFilterOptions = {}): FigureSpec {
  checkWeightShape('rgbFiltersSpec', weights, shape);
  if (shape.length !== 4 || shape[1] !== 3) throw new Error(`rgbFiltersSpec: shape ${shapeText(shape)} must be [out,3,kh,kw] (RGB input)`);
  const [out, , kh, kw] = shape;
  const patches = rgbPatches(weights, shape);
  const cols = Math.min(out, 8);
  const rows = Math.ceil(out / cols);
  const gap = 1;
  // A row of labels above each row of patches.
  const label = 2;
  const cells = patches.flatMap((colors, f) => {
    const px = (f % cols) * (kw + gap);
    const py = Math.floor(f / cols) * (kh + gap + label) + label;
    return colors.map((color, p) => {
      const [ky, kx] = [Math.floor(p / kw), p % kw];
      return { x: px + kx, x2: px + kx + 1, y: py + ky, y2: py + ky + 1, color, description: `filter ${f} (${ky},${kx}): ${color}` };
    });
  });
  const labels = patches.map((_, f) => ({ x: (f % cols) * (kw + gap) + kw / 2, y: Math.floor(f / cols) * (kh + gap + label) + label - 0.4, text: String(f) }));
  const width = cols * (kw + gap) - gap;
  const height = rows * (kh + gap + label) - gap;
  const cell = options.cellPx ?? Math.min(24, Math.floor(560 / width));
  const hidden = { axis: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title ?? `${options.name ?? 'conv1'} filters ${shapeText(shape)}`, subtitle: 'RGB = input channels 0, 1, 2; each filter scaled to its own min..max' },
    width: width * cell,
    height: height * cell,
    layer: [
      {
        data: { values: cells },
        mark: { type: 'rect', stroke: '#777', strokeWidth: 0.25 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [0, width], nice: false, zero: false }, ...hidden },
          x2: { field: 'x2' },
          y: { field: 'y', type: 'quantitative', scale: { domain: [0, height], nice: false, zero: false, reverse: true }, ...hidden },
          y2: { field: 'y2' },
          color: { field: 'color', type: 'nominal', scale: null },
          description: { field: 'description' },
        },
      },
      {
        data: { values: labels },
        mark: { type: 'text', fontSize: 11, baseline: 'bottom', aria: false },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'text' } },
      },
    ],
  };
}
