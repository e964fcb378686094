/**
 * The look every figure shares: one bundled open font (DejaVu Sans, from the npm package dejavu-fonts-ttf, so
 * that SVG layout and PNG rasterisation use the same glyphs on every machine), sizes for print, light grids.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const FONT_FAMILY = 'DejaVu Sans';

const require = createRequire(import.meta.url);

/** The TTF files the PNG renderer loads (system fonts stay off). */
export function fontFiles(): string[] {
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'].map((file) => join(dir, file));
}

/** Vega-Lite config merged under every figure's own. */
export const FIGURE_CONFIG = {
  // The family first, generic fallback after it for SVG viewers without DejaVu.
  font: `${FONT_FAMILY}, sans-serif`,
  background: 'white',
  padding: 8,
  title: { fontSize: 15, fontWeight: 'normal', anchor: 'start', offset: 10, subtitleFontSize: 12, subtitleColor: '#444' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6', domainColor: '#444', tickColor: '#444', labelColor: '#222', titleColor: '#222' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', symbolSize: 80, symbolOpacity: 1, labelLimit: 260, titleLimit: 260 },
  view: { stroke: null },
  line: { strokeWidth: 2 },
  point: { size: 36, filled: true, opacity: 1 },
} as const;

/** Width and height of a figure in SVG pixels (the PNG is PNG_SCALE times this). */
export interface FigureSize {
  width?: number;
  height?: number;
}

/**
 * The top of every spec: its title, and a fixed outer size (Vega's 'fit' autosize: the plot shrinks to leave
 * room for axes and legends, so the file's size is the one asked for).
 */
export function figureFrame(title: string, size: FigureSize, defaults: Required<FigureSize>, subtitle?: string): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle ? { text: title, subtitle } : title,
    width: size.width ?? defaults.width,
    height: size.height ?? defaults.height,
    autosize: { type: 'fit', contains: 'padding' },
  };
}
