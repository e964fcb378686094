/** Finding HAM10000 JPEGs on disk, decoding them, and resizing with an area (box) filter. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import jpeg from 'jpeg-js';

/** Folders (relative to the CSV's folder) where users keep the HAM10000 JPEGs, searched in this order after the folder itself. */
export const IMAGE_FOLDERS = ['images', 'HAM10000_images_part_1', 'HAM10000_images_part_2'] as const;

const JPEG_NAME = /^(.+)\.jpe?g$/i;

/**
 * Maps image_id to its file for every JPEG beside the CSV or in one of IMAGE_FOLDERS. Throws when the folder is
 * missing or holds no JPEG at all (a wrong path, not a few missing images).
 */
export function indexImages(dir: string): Map<string, string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`HAM10000 folder not found: ${dir}`);
  const found = new Map<string, string>();
  for (const sub of ['', ...IMAGE_FOLDERS]) {
    const folder = join(dir, sub);
    if (sub && !existsSync(folder)) continue;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const match = JPEG_NAME.exec(entry.name);
      if (match && entry.isFile() && !found.has(match[1])) found.set(match[1], join(folder, entry.name));
    }
  }
  if (found.size === 0) {
    throw new Error(`no JPEG images in ${dir} (looked beside the CSV and in ${IMAGE_FOLDERS.map((f) => f + '/').join(', ')})`);
  }
  return found;
}

/** An image left out of a load, and why. */
export interface SkippedImage {
  imageId: string;
  /** The file, or null when none was found. */
  file: string | null;
  reason: 'missing' | 'corrupt';
  message: string;
}

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major: [height, width, 3]. */
  data: Uint8Array;
}

/** Decodes a JPEG to RGB; throws a message naming the file when it is corrupt or truncated. */
export function decodeJpeg(bytes: Uint8Array, file: string): RgbImage {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    // Strict decoding: a truncated file must fail here instead of yielding a half-grey picture.
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: 50 });
  } catch (err) {
    throw new Error(`corrupt JPEG ${file}: ${(err as Error).message}`);
  }
  if (!(image.width > 0 && image.height > 0) || image.data.length !== image.width * image.height * 3) {
    throw new Error(`corrupt JPEG ${file}: decoded to ${image.width}x${image.height}`);
  }
  return image;
}

/** Reads, decodes and area-resizes one JPEG to [size, size, 3] bytes at `offset` in `out`. Throws naming the file. */
export function loadImageInto(file: string, size: number, out: Uint8Array, offset: number): void {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const image = decodeJpeg(bytes, file);
  resizeArea(image.data, image.width, image.height, 3, size, size, out, offset);
}

type JpegEncoder = { encode(image: { width: number; height: number; data: Uint8Array }, quality: number): Uint8Array };

let reusedEncoder: JpegEncoder | null | undefined;

/**
 * jpeg-js builds its Huffman and colour tables anew in every encode() call (about 20-35 ms, against 0.3 ms for
 * encoding a 64x64 picture), and does not export the encoder class that would keep them. So the class is taken
 * from the library's own source once and reused; if that ever fails (another jpeg-js layout), each call falls
 * back to the slow public encode().
 */
function encoder(): JpegEncoder | null {
  if (reusedEncoder === undefined) {
    try {
      const source = readFileSync(createRequire(import.meta.url).resolve('jpeg-js/lib/encoder.js'), 'utf8');
      const JPEGEncoder = new Function('module', `${source}\nreturn JPEGEncoder;`)({}) as new () => JpegEncoder;
      reusedEncoder = new JPEGEncoder();
    } catch {
      reusedEncoder = null;
    }
  }
  return reusedEncoder;
}

/** Encodes RGB as a baseline JPEG (jpeg-js, 4:4:4) at the given quality. */
export function encodeJpeg(image: RgbImage, quality: number): Uint8Array {
  const { width, height, data } = image;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    rgba[j] = data[i];
    rgba[j + 1] = data[i + 1];
    rgba[j + 2] = data[i + 2];
    rgba[j + 3] = 255;
  }
  const raw = { width, height, data: rgba };
  const reused = encoder();
  return reused ? reused.encode(raw, quality) : jpeg.encode(raw, quality).data;
}

/** For each output pixel along one axis: `taps` source indices and their weights (the overlap of the pixel's footprint). */
interface AxisFilter {
  taps: number;
  index: Int32Array;
  weight: Float64Array;
}

const axisFilters = new Map<string, AxisFilter>();
let scratch = new Float64Array(0);

/** Area weights for resampling `from` pixels to `to`: output pixel o covers [o*s, (o+1)*s) in source units, s = from/to. */
function areaFilter(from: number, to: number): AxisFilter {
  const key = `${from}>${to}`;
  const cached = axisFilters.get(key);
  if (cached) return cached;
  const scale = from / to;
  // Footprints [lo, hi) in source pixels; a sliver below 1e-9 (rounding) is not a tap.
  const span = (o: number) => {
    const lo = o * scale;
    const hi = Math.min(from, (o + 1) * scale);
    return { lo, hi, first: Math.floor(lo + 1e-9), end: Math.ceil(hi - 1e-9) };
  };
  let taps = 1;
  for (let o = 0; o < to; o++) {
    const { first, end } = span(o);
    taps = Math.max(taps, end - first);
  }
  const index = new Int32Array(to * taps);
  const weight = new Float64Array(to * taps);
  for (let o = 0; o < to; o++) {
    const { lo, hi, first, end } = span(o);
    let total = 0;
    for (let k = 0; k < taps; k++) {
      // Taps past the footprint keep weight 0 and point at its first pixel.
      const s = first + k < end ? first + k : first;
      index[o * taps + k] = s;
      if (first + k < end) total += weight[o * taps + k] = Math.min(hi, s + 1) - Math.max(lo, s);
    }
    // Weights sum to exactly 1, so a constant picture stays that constant.
    for (let k = 0; k < taps; k++) weight[o * taps + k] /= total;
  }
  const filter = { taps, index, weight };
  axisFilters.set(key, filter);
  return filter;
}

/**
 * Resizes interleaved [height, width, channels] bytes to [outHeight, outWidth, channels] with an area filter (each
 * output pixel is the mean of the source area it covers), separably: rows first, then columns. Aspect ratio is
 * not kept (a 4:3 picture is squashed to 1:1, as the seed's Resize((64, 64)) does). Writes into `out` at
 * `outOffset` when given.
 */
export function resizeArea(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  out: Uint8Array = new Uint8Array(outWidth * outHeight * channels),
  outOffset = 0,
): Uint8Array {
  if (src.length !== width * height * channels) {
    throw new Error(`resizeArea: source has ${src.length} bytes, expected ${width}x${height}x${channels}`);
  }
  if (outOffset + outWidth * outHeight * channels > out.length) {
    throw new Error(`resizeArea: output of ${out.length} bytes cannot hold ${outWidth}x${outHeight}x${channels} at offset ${outOffset}`);
  }
  if (outWidth === width && outHeight === height) {
    out.set(src, outOffset);
    return out;
  }
  const { taps: xTaps, index: xIndex, weight: xWeight } = areaFilter(width, outWidth);
  const { taps: yTaps, index: yIndex, weight: yWeight } = areaFilter(height, outHeight);
  // Horizontal pass: [height, outWidth, channels] in float64, in a scratch buffer kept between calls.
  const rowStride = outWidth * channels;
  if (scratch.length < height * rowStride) scratch = new Float64Array(height * rowStride);
  const tmp = scratch;
  for (let y = 0; y < height; y++) {
    const srcRow = y * width * channels;
    let t = y * rowStride;
    for (let ox = 0; ox < outWidth; ox++) {
      const base = ox * xTaps;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < xTaps; k++) acc += xWeight[base + k] * src[srcRow + xIndex[base + k] * channels + c];
        tmp[t++] = acc;
      }
    }
  }
  // Vertical pass, rounded to bytes.
  for (let oy = 0; oy < outHeight; oy++) {
    const base = oy * yTaps;
    let o = outOffset + oy * rowStride;
    for (let i = 0; i < rowStride; i++) {
      let acc = 0;
      for (let k = 0; k < yTaps; k++) acc += yWeight[base + k] * tmp[yIndex[base + k] * rowStride + i];
      const v = Math.round(acc);
      out[o++] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
