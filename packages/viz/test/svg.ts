/**
 * Test helpers: a small SVG reader for what Vega writes (well-formed XML without CDATA or comments: elements,
 * attributes, text), with each element's absolute offset (the sum of the translate() of it and its ancestors),
 * and a PNG decoder.
 */
import { PNG } from 'pngjs';
import type { RGB } from '@sparsenet/viz';

export interface SvgElement {
  tag: string;
  attrs: Record<string, string>;
  children: SvgElement[];
  text: string;
  parent: SvgElement | null;
  /** Absolute translation of the element's own coordinate system. */
  offset: [number, number];
}

const unescapeXml = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'").replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d))).replace(/&amp;/g, '&');

function translate(attrs: Record<string, string>): [number, number] {
  const m = /translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)\s*\)/.exec(attrs.transform ?? '');
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Parses the SVG into a tree; throws on a closing tag that does not match (not well-formed). */
export function parseSvg(svg: string): SvgElement {
  const root: SvgElement = { tag: '#root', attrs: {}, children: [], text: '', parent: null, offset: [0, 0] };
  let current = root;
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(svg))) {
    if (m[5] !== undefined) {
      current.text += unescapeXml(m[5]);
      continue;
    }
    const [, closing, tag, rawAttrs, selfClosing] = m;
    if (closing) {
      if (current.tag !== tag) throw new Error(`svg: </${tag}> closes <${current.tag}>`);
      current = current.parent!;
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of rawAttrs.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = unescapeXml(a[2]);
    const [tx, ty] = translate(attrs);
    const el: SvgElement = { tag, attrs, children: [], text: '', parent: current, offset: [current.offset[0] + tx, current.offset[1] + ty] };
    current.children.push(el);
    if (!selfClosing) current = el;
  }
  if (current !== root) throw new Error(`svg: <${current.tag}> is never closed`);
  return root;
}

export function all(el: SvgElement, test: (e: SvgElement) => boolean): SvgElement[] {
  const out: SvgElement[] = [];
  const walk = (e: SvgElement) => {
    if (test(e)) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

/** Every visible text of the figure (titles, axis labels, legend labels). */
export function texts(root: SvgElement): string[] {
  return all(root, (e) => e.tag === 'text').map((e) => e.text.trim()).filter(Boolean);
}

/** A data mark: a drawn item (path, line) with an ARIA label; axes and legends are groups. */
const isMark = (e: SvgElement) => (e.tag === 'path' || e.tag === 'line') && e.attrs['aria-label'] !== undefined;

/** The ARIA labels of the data marks, in document order. */
export function markLabels(root: SvgElement): string[] {
  return all(root, isMark).map((e) => e.attrs['aria-label']);
}

/** Data mark elements by their ARIA label. */
export function marksByLabel(root: SvgElement): Map<string, SvgElement> {
  return new Map(all(root, isMark).map((e) => [e.attrs['aria-label'], e]));
}

/** An SVG fill ('#rrggbb', '#rgb' or 'rgb(r, g, b)') as RGB. */
export function fillRgb(el: SvgElement): RGB {
  const fill = el.attrs.fill ?? '';
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(fill);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  const hex = fill.length === 4 ? `#${[...fill.slice(1)].map((c) => c + c).join('')}` : fill;
  if (!/^#[0-9a-f]{6}$/i.test(hex)) throw new Error(`fill '${fill}' is not a colour`);
  return [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)) as unknown as RGB;
}

/** A camelCase word (lower then upper case letter inside a word): a code name leaking into a label. */
export const CAMEL_CASE = /\b[a-z]+[A-Z][A-Za-z]*\b/;

export interface Decoded {
  width: number;
  height: number;
  pixel(x: number, y: number): RGB;
}

export function decode(png: Uint8Array): Decoded {
  const img = PNG.sync.read(Buffer.from(png));
  return {
    width: img.width,
    height: img.height,
    pixel(x, y) {
      const i = (y * img.width + x) * 4;
      return [img.data[i], img.data[i + 1], img.data[i + 2]];
    },
  };
}

/** Pixels within `tolerance` (sum of channel differences) of `color`, in rows [y0, y1). */
export function countNear(img: Decoded, color: RGB, tolerance = 24, y0 = 0, y1 = img.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = img.pixel(x, y);
      if (Math.abs(p[0] - color[0]) + Math.abs(p[1] - color[1]) + Math.abs(p[2] - color[2]) <= tolerance) n++;
    }
  }
  return n;
}

/** Pixels in rows [y0, y1) that are not white. */
export function inkInRows(img: Decoded, y0: number, y1: number): number {
  return (y1 - y0) * img.width - countNear(img, [255, 255, 255], 0, y0, y1);
}

/** mulberry32, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
