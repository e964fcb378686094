/**
 * Figures as files: a Vega-Lite spec rendered headless to SVG by Vega (vector, real text), and the same SVG
 * rasterised to PNG by resvg with the bundled font only, so that a PNG looks the same on every machine.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FIGURE_CONFIG, FONT_FAMILY, fontFiles } from './theme.js';
import { writeFileAtomic } from './write.js';

/** A Vega-Lite spec with its data inline (what the spec functions return). */
export type FigureSpec = Record<string, unknown> & { title?: unknown };

export const FIGURE_FORMATS = ['svg', 'png'] as const;
export type FigureFormat = (typeof FIGURE_FORMATS)[number];

/** PNG pixels per SVG pixel: 2x, fit for print at the figures' sizes. */
export const PNG_SCALE = 2;

/** Parses '--format svg,png': a comma list of FIGURE_FORMATS; names what is wrong otherwise. */
export function parseFigureFormats(text: string): FigureFormat[] {
  const formats = text.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
  if (!formats.length) throw new Error(`--format: expected a comma list of ${FIGURE_FORMATS.join(', ')}; got '${text}'`);
  for (const f of formats) {
    if (f === 'pdf') throw new Error('--format pdf: not supported: the renderers here (Vega SVG, resvg) make no PDF; convert the SVG (e.g. rsvg-convert -f pdf)');
    if (!(FIGURE_FORMATS as readonly string[]).includes(f)) throw new Error(`--format: unknown format '${f}' (expected ${FIGURE_FORMATS.join(', ')})`);
  }
  return [...new Set(formats)] as FigureFormat[];
}

/** The SVG of a spec, with the shared config under the spec's own. */
export async function renderSvg(spec: FigureSpec): Promise<string> {
  const config = { ...FIGURE_CONFIG, ...(spec.config as object | undefined) };
  const compiled = compile({ ...spec, config } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The SVG rasterised at `scale` with the bundled font and no system fonts. */
export function svgToPng(svg: string, scale = PNG_SCALE): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  return resvg.render().asPng();
}

export interface WrittenFigure {
  svg: string;
  /** The files written, one per format. */
  files: string[];
}

/** Renders a spec and writes `<base>.svg` and/or `<base>.png` (each atomically); returns the SVG and the paths. */
export async function writeFigure(base: string, spec: FigureSpec, formats: readonly FigureFormat[] = FIGURE_FORMATS): Promise<WrittenFigure> {
  const svg = await renderSvg(spec);
  const files: string[] = [];
  for (const format of formats) {
    const path = `${base}.${format}`;
    writeFileAtomic(path, format === 'svg' ? svg : svgToPng(svg));
    files.push(path);
  }
  return { svg, files };
}
