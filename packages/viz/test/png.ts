/** Test helpers: decode a PNG and read its pixels. */
import { PNG } from 'pngjs';
import type { RGB } from '@sparsenet/viz';

export interface Decoded {
  width: number;
  height: number;
  pixel(x: number, y: number): RGB;
}

export function decode(png: Buffer): Decoded {
  const img = PNG.sync.read(png);
  return {
    width: img.width,
    height: img.height,
    pixel(x, y) {
      const i = (y * img.width + x) * 4;
      return [img.data[i], img.data[i + 1], img.data[i + 2]];
    },
  };
}

export function sameRgb(a: RGB, b: RGB): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** Pixels in rows [y0, y1) that differ from white. */
export function inkInRows(img: Decoded, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < img.width; x++) if (!sameRgb(img.pixel(x, y), [255, 255, 255])) n++;
  return n;
}

/** Number of pixels of exactly `color`. */
export function countColor(img: Decoded, color: RGB): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (sameRgb(img.pixel(x, y), color)) n++;
  return n;
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
