/** An RGBA raster with the few drawing primitives the figures need, encoded to PNG with pngjs. */
import { PNG } from 'pngjs';
import { capHeight, glyph, LETTER_SPACING, textWidth } from './font.js';

/** A colour as 0-255 red, green, blue. */
export type RGB = readonly [number, number, number];

/** An axis-aligned rectangle in pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond';

export interface TextOptions {
  /** Integer pixels per font unit; 2 gives 14 px capitals. Default 2. */
  scale?: number;
  color?: RGB;
  /** Where the anchor sits along the text direction. Default 'left'. */
  align?: 'left' | 'center' | 'right';
  /** Where the anchor sits across the text: at the cap top, the cap middle or the baseline. Default 'top'. */
  baseline?: 'top' | 'middle' | 'bottom';
  /** Rotate 90 degrees counter-clockwise (reads bottom to top), for vertical axis labels. */
  vertical?: boolean;
}

export interface LineOptions {
  /** Line width in pixels (anti-aliased). Default 1. */
  thickness?: number;
  /** Dash pattern [on, off] in pixels along the line; solid when absent. */
  dash?: readonly [number, number];
}

export const WHITE: RGB = [255, 255, 255];
export const TEXT_RGB: RGB = [33, 33, 33];

export class Canvas {
  readonly data: Buffer;
  /** When set, drawing outside this rectangle is discarded (used to keep data inside a plot frame). */
  clip: Rect | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = WHITE,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new Error(`Canvas: size ${width}x${height} must be positive integers`);
    }
    this.data = Buffer.alloc(width * height * 4, 255);
    this.fillRect(0, 0, width, height, background);
  }

  private inside(x: number, y: number): boolean {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return false;
    const c = this.clip;
    return c === null || (x >= c.x && y >= c.y && x < c.x + c.width && y < c.y + c.height);
  }

  getPixel(x: number, y: number): RGB {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  setPixel(x: number, y: number, color: RGB): void {
    if (!this.inside(x, y)) return;
    const i = (y * this.width + x) * 4;
    this.data[i] = color[0];
    this.data[i + 1] = color[1];
    this.data[i + 2] = color[2];
    this.data[i + 3] = 255;
  }

  /** Mixes `color` over the pixel with weight alpha in [0, 1]. */
  blendPixel(x: number, y: number, color: RGB, alpha: number): void {
    if (alpha <= 0 || !this.inside(x, y)) return;
    if (alpha >= 1) return this.setPixel(x, y, color);
    const i = (y * this.width + x) * 4;
    for (let k = 0; k < 3; k++) this.data[i + k] = Math.round(this.data[i + k] * (1 - alpha) + color[k] * alpha);
  }

  /** Fills whole pixels: coordinates are rounded so adjacent rectangles tile without gaps or overlaps. */
  fillRect(x: number, y: number, width: number, height: number, color: RGB): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + width));
    const y1 = Math.min(this.height, Math.round(y + height));
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.setPixel(px, py, color);
  }

  strokeRect(x: number, y: number, width: number, height: number, color: RGB, thickness = 1): void {
    this.fillRect(x, y, width, thickness, color);
    this.fillRect(x, y + height - thickness, width, thickness, color);
    this.fillRect(x, y, thickness, height, color);
    this.fillRect(x + width - thickness, y, thickness, height, color);
  }

  line(x0: number, y0: number, x1: number, y1: number, color: RGB, options: LineOptions = {}): void {
    this.polyline([[x0, y0], [x1, y1]], color, options);
  }

  /**
   * An anti-aliased polyline through points given in pixel coordinates (pixel centres at +0.5). Coverage is the
   * maximum over segments, so joints are not darkened twice; the dash pattern runs on across segments.
   */
  polyline(points: ReadonlyArray<readonly [number, number]>, color: RGB, options: LineOptions = {}): void {
    const half = (options.thickness ?? 1) / 2;
    const coverage = new Map<number, number>();
    let travelled = 0;
    for (let s = 0; s + 1 < points.length; s++) {
      const [ax, ay] = points[s];
      const [bx, by] = points[s + 1];
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      const len = Math.sqrt(len2);
      const xMin = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1));
      const xMax = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + half + 1));
      const yMin = Math.max(0, Math.floor(Math.min(ay, by) - half - 1));
      const yMax = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + half + 1));
      for (let py = yMin; py <= yMax; py++) {
        for (let px = xMin; px <= xMax; px++) {
          const cx = px + 0.5 - ax;
          const cy = py + 0.5 - ay;
          const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, (cx * dx + cy * dy) / len2));
          if (options.dash) {
            const [on, off] = options.dash;
            if ((travelled + t * len) % (on + off) >= on) continue;
          }
          const d = Math.hypot(cx - t * dx, cy - t * dy);
          const a = Math.min(1, half + 0.5 - d);
          if (a <= 0) continue;
          const key = py * this.width + px;
          if (a > (coverage.get(key) ?? 0)) coverage.set(key, a);
        }
      }
      travelled += len;
    }
    for (const [key, a] of coverage) this.blendPixel(key % this.width, Math.floor(key / this.width), color, a);
  }

  /** A filled marker of diameter `size` centred on (x, y), anti-aliased by 4x4 supersampling. */
  marker(x: number, y: number, shape: MarkerShape, size: number, color: RGB): void {
    const r = size / 2;
    const insideShape = (u: number, v: number): boolean => {
      switch (shape) {
        case 'circle':
          return u * u + v * v <= r * r;
        case 'square':
          return Math.abs(u) <= r * 0.85 && Math.abs(v) <= r * 0.85;
        case 'diamond':
          return Math.abs(u) + Math.abs(v) <= r * 1.1;
        case 'triangle':
          // Apex up; the base sits at v = r/2 so the centroid is near the data point.
          return v <= r * 0.6 && v >= -r && Math.abs(u) <= ((v + r) / (1.6 * r)) * r;
      }
    };
    const n = 4;
    for (let py = Math.floor(y - r - 1); py <= Math.ceil(y + r + 1); py++) {
      for (let px = Math.floor(x - r - 1); px <= Math.ceil(x + r + 1); px++) {
        let hits = 0;
        for (let sy = 0; sy < n; sy++) {
          for (let sx = 0; sx < n; sx++) {
            if (insideShape(px + (sx + 0.5) / n - x, py + (sy + 0.5) / n - y)) hits++;
          }
        }
        this.blendPixel(px, py, color, hits / (n * n));
      }
    }
  }

  /** Draws text with the built-in bitmap font; returns its width in pixels. */
  text(text: string, x: number, y: number, options: TextOptions = {}): number {
    const scale = options.scale ?? 2;
    const color = options.color ?? TEXT_RGB;
    const width = textWidth(text, scale);
    const along = options.align === 'center' ? -width / 2 : options.align === 'right' ? -width : 0;
    const cap = capHeight(scale);
    const across = options.baseline === 'middle' ? -cap / 2 : options.baseline === 'bottom' ? -cap : 0;
    // (u, v) are text-space coordinates: u along the text, v downwards across it.
    const put = options.vertical
      ? (u: number, v: number) => this.fillRect(Math.round(x + across) + v, Math.round(y - along) - u - scale, scale, scale, color)
      : (u: number, v: number) => this.fillRect(Math.round(x + along) + u, Math.round(y + across) + v, scale, scale, color);
    let pen = 0;
    for (const c of text) {
      const g = glyph(c);
      for (const [gx, gy] of g.pixels) put(pen + gx * scale, gy * scale);
      pen += (g.width + LETTER_SPACING) * scale;
    }
    return width;
  }

  /** PNG bytes (8-bit RGB). */
  toPNG(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    this.data.copy(png.data);
    return PNG.sync.write(png, { colorType: 2 });
  }
}
