/**
 * Pictures of a layer's weights tiled by filter and channel (see tiling.ts): the mask heatmap (|w| in viridis,
 * pruned weights in a neutral grey) and the signed filter grid (w in a blue-orange diverging map).
 */
import { PRUNED_RGB, rgbHex } from './colormap.js';
import { formatPercent, shapeText } from './format.js';
import type { FigureSpec } from './render.js';
import { checkWeightShape, tileWeights, type TiledCell, type Tiling } from './tiling.js';

/** Cells drawn at most: above it a layer is reduced to kernels or blocks (a rect per cell in the SVG). */
export const MAX_HEATMAP_CELLS = 12_000;

export interface HeatmapOptions {
  /** Layer name, used in the title and the ARIA labels. */
  name?: string;
  /** Replaces the generated title. */
  title?: string;
  /** Largest plot area in SVG pixels; cells stay square (or at most 4:1) inside it. Default 560 x 420. */
  plotWidth?: number;
  plotHeight?: number;
  maxCells?: number;
  /** Axis titles; default input/output channel (conv) or feature/neuron (linear). */
  xTitle?: string;
  yTitle?: string;
}

const NICE_STEPS = [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 1000];

/** Axis ticks at the centres of every step-th tile, labelled with the index the tile starts at. */
function tileAxis(title: string, count: number, stride: number, factor: number, extent: number): Record<string, unknown> {
  const tiles = Math.ceil(count / factor);
  const step = NICE_STEPS.find((s) => tiles / s <= 12) ?? Math.ceil(tiles / 12);
  const centre = stride === 1 ? 0.5 : (stride - 1) / 2;
  const values = Array.from({ length: Math.ceil(tiles / step) }, (_, k) => k * step * stride + centre).filter((v) => v <= extent);
  return { title, values, labelExpr: `format(floor(datum.value / ${stride}) * ${factor}, 'd')`, grid: false, domain: false, ticks: true, labelAngle: 0 };
}

function cellText(name: string, t: Tiling, c: TiledCell, what: string): string {
  if (t.mode === 'full') {
    const index = t.kh * t.kw > 1 ? `${c.out},${c.in},${c.ky},${c.kx}` : `${c.out},${c.in}`;
    return c.kept ? `${name}[${index}]: ${what} ${c.value}` : `${name}[${index}]: pruned`;
  }
  const range = (start: number, n: number) => `${start}:${Math.min(n, start + t.factor)}`;
  return `${name}[${range(c.out, t.out)},${range(c.in, t.inputs)}]: mean ${what} ${c.value}, ${c.kept} kept`;
}

interface TiledSpecInput {
  name: string;
  title: string;
  subtitle: string;
  tiling: Tiling;
  conv: boolean;
  what: string;
  color: Record<string, unknown>;
  options: HeatmapOptions;
}

function tiledSpec({ name, title, subtitle, tiling: t, conv, what, color, options }: TiledSpecInput): FigureSpec {
  const maxW = options.plotWidth ?? 560;
  const maxH = options.plotHeight ?? 420;
  let ux = Math.min(maxW / t.width, maxH / t.height);
  let uy = ux;
  // A long strip of plain cells (fc1 by kernel: 120 x 16) gets cells up to 4:1 rather than a sliver of a
  // picture; kernels keep square cells.
  if (t.strideX === 1 && t.width * ux < maxW / 2) ux = Math.min(maxW / t.width, 4 * uy);
  if (t.strideY === 1 && t.height * uy < maxH / 2) uy = Math.min(maxH / t.height, 4 * ux);
  const values = t.cells.map((c) => ({ x: c.x, x2: c.x + 1, y: c.y, y2: c.y + 1, value: c.value, kept: c.kept, pruned: c.kept === 0 ? 'pruned' : 'kept', description: cellText(name, t, c, what) }));
  const unit = conv ? 'channel' : 'feature';
  const x = { field: 'x', type: 'quantitative', scale: { domain: [0, t.width], nice: false, zero: false }, axis: tileAxis(options.xTitle ?? `input ${unit}`, t.inputs, t.strideX, t.factor, t.width) };
  const y = { field: 'y', type: 'quantitative', scale: { domain: [0, t.height], nice: false, zero: false, reverse: true }, axis: tileAxis(options.yTitle ?? (conv ? 'output channel (filter)' : 'output neuron'), t.out, t.strideY, t.factor, t.height) };
  const rect = { x, x2: { field: 'x2' }, y, y2: { field: 'y2' }, description: { field: 'description' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    width: Math.round(t.width * ux),
    height: Math.round(t.height * uy),
    data: { values },
    layer: [
      { transform: [{ filter: 'datum.kept > 0' }], mark: { type: 'rect' }, encoding: { ...rect, color } },
      // Only with pruned cells, so that an unpruned layer's legend does not offer 'pruned'.
      ...(t.cells.some((c) => c.kept === 0)
        ? [{
            transform: [{ filter: 'datum.kept == 0' }],
            mark: { type: 'rect' },
            encoding: { ...rect, color: { field: 'pruned', type: 'nominal', title: null, scale: { domain: ['pruned'], range: [rgbHex(PRUNED_RGB)] } } },
          }]
        : []),
    ],
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  };
}

function reduction(t: Tiling): string {
  if (t.mode === 'full') return '';
  const unit = t.mode === 'kernel' ? (t.factor === 1 ? 'one kernel' : `${t.factor}x${t.factor} kernels`) : `${t.factor}x${t.factor} weights`;
  return `; reduced: a cell = ${unit} (mean)`;
}

/**
 * The mask heatmap of a layer: |w| of every kept weight in viridis, pruned weights (mask 0) in PRUNED_RGB.
 * `weights` are the layer's weights (already multiplied by the mask or not: pruned ones are not shown).
 */
export function maskHeatmapSpec(weights: ArrayLike<number>, mask: ArrayLike<number>, shape: readonly number[], options: HeatmapOptions = {}): FigureSpec {
  checkWeightShape('maskHeatmapSpec', weights, shape, mask);
  const tiling = tileWeights(weights, shape, { mask, absolute: true, maxCells: options.maxCells ?? MAX_HEATMAP_CELLS });
  let kept = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kept++;
  const name = options.name ?? 'layer';
  const max = Math.max(1e-12, ...tiling.cells.map((c) => c.value));
  return tiledSpec({
    name,
    title: options.title ?? `${name} ${shapeText(shape)}: ${formatPercent(1 - kept / mask.length)} pruned`,
    subtitle: `colour: |w| of kept weights; grey: pruned${reduction(tiling)}`,
    tiling,
    conv: shape.length === 4,
    what: '|w|',
    color: { field: 'value', type: 'quantitative', title: '|w|', scale: { scheme: 'viridis', domain: [0, max] } },
    options,
  });
}

/** Conv filters [out, in, kh, kw] as signed weights (blue < 0 < orange, symmetric about 0); masked ones grey. */
export function filterGridSpec(weights: ArrayLike<number>, shape: readonly number[], options: HeatmapOptions & { mask?: ArrayLike<number> } = {}): FigureSpec {
  checkWeightShape('filterGridSpec', weights, shape, options.mask);
  if (shape.length !== 4) throw new Error(`filterGridSpec: shape ${shapeText(shape)} must be [out,in,kh,kw]`);
  const tiling = tileWeights(weights, shape, { mask: options.mask, maxCells: options.maxCells ?? MAX_HEATMAP_CELLS });
  const limit = Math.max(1e-12, ...tiling.cells.map((c) => Math.abs(c.value)));
  const name = options.name ?? 'conv';
  return tiledSpec({
    name,
    title: options.title ?? `${name} filters ${shapeText(shape)}`,
    subtitle: `signed weights: blue < 0 < orange${options.mask ? '; grey: pruned' : ''}${reduction(tiling)}`,
    tiling,
    conv: true,
    what: 'w',
    color: { field: 'value', type: 'quantitative', title: 'w', scale: { scheme: 'blueorange', domain: [-limit, limit] } },
    options,
  });
}
