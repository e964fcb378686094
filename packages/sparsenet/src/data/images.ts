/** Finding HAM10000 JPEGs on disk, decoding image files, resizing as PIL's BOX filter does, encoding JPEGs. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import sharp from 'sharp';

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
  /** No file; a file that would not decode; a file that is not an image by its name. */
  reason: 'missing' | 'corrupt' | 'not-image';
  message: string;
}

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major: [height, width, 3]. */
  data: Uint8Array;
}

/** The file types read, by extension (lower case): what ImageFolder users have, and what sharp decodes. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

/** Largest decoded picture accepted, in pixels: a guard against decompression bombs, far above any photo. */
const MAX_INPUT_PIXELS = 100e6;

/**
 * Decodes a JPEG, PNG or WebP file's bytes to 8-bit RGB with sharp (libvips, libjpeg-turbo's decoder: the
 * pixels PIL gets): grey is replicated, alpha dropped (PIL's convert('RGB')), embedded ICC profiles ignored (as
 * PIL ignores them). A corrupt or truncated file throws a message naming it.
 */
export async function decodeImage(bytes: Uint8Array, file: string): Promise<RgbImage> {
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(bytes, { failOn: 'truncated', ignoreIcc: true, limitInputPixels: MAX_INPUT_PIXELS })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`corrupt or unreadable image ${file}: ${(err as Error).message}`);
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3 || decoded.data.length !== width * height * 3) {
    throw new Error(`corrupt or unreadable image ${file}: decoded to ${width}x${height}x${channels}`);
  }
  return { width, height, data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length) };
}

/** Reads, decodes and resizes (PIL's BOX) one image to [size, size, 3] bytes at `offset` in `out`. Throws naming the file. */
export async function loadImageInto(file: string, size: number, out: Uint8Array, offset: number): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const image = await decodeImage(bytes, file);
  resizeBox(image.data, image.width, image.height, 3, size, size, out, offset);
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

/** For each output pixel along one axis: its first source index, its tap count and `taps` fixed-point weights. */
interface AxisFilter {
  taps: number;
  first: Int32Array;
  count: Int32Array;
  weight: Int32Array;
}

/** Pillow's fixed-point precision for 8-bit images: weights are integers in units of 2^-22. */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

const boxFilters = new Map<string, AxisFilter>();

/**
 * Pillow's BOX weights for resampling `from` pixels to `to` (Resample.c's precompute_coeffs and
 * normalize_coeffs_8bpc): output pixel o is centred at (o + 0.5) * s in source units, s = from/to; each source
 * pixel whose centre lies in its footprint (-s/2, s/2] weighs the same (for s < 1, the nearest one). Not the area
 * overlap: at 1.5:1 the outputs alternate between two sources and one, as PIL's do.
 */
function boxFilter(from: number, to: number): AxisFilter {
  const key = `${from}>${to}`;
  const cached = boxFilters.get(key);
  if (cached) return cached;
  const scale = from / to;
  const filterScale = Math.max(scale, 1);
  const support = 0.5 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(to);
  const count = new Int32Array(to);
  const weight = new Int32Array(to * taps);
  const box = (x: number): number => (x > -0.5 && x <= 0.5 ? 1 : 0);
  for (let o = 0; o < to; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(from, Math.trunc(center + support + 0.5));
    const w = Array.from({ length: hi - lo }, (_, k) => box((k + lo - center + 0.5) / filterScale));
    const total = w.reduce((a, b) => a + b, 0);
    first[o] = lo;
    count[o] = hi - lo;
    w.forEach((v, k) => (weight[o * taps + k] = Math.trunc(0.5 + (total ? v / total : v) * ONE)));
  }
  const filter = { taps, first, count, weight };
  boxFilters.set(key, filter);
  return filter;
}

/** One pass of a separable resample along an axis: `lines` lines of `from` samples (`stride` apart) to `to`, rounded to bytes as Pillow's. */
function resamplePass(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, filter: AxisFilter, lines: number, to: number, step: number, lineStep: number, outStep: number, outLineStep: number): void {
  const { taps, first, count, weight } = filter;
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < to; o++) {
      let acc = ONE / 2;
      const base = srcOffset + line * lineStep + first[o] * step;
      for (let k = 0; k < count[o]; k++) acc += src[base + k * step] * weight[o * taps + k];
      const v = Math.floor(acc / ONE);
      dst[dstOffset + line * outLineStep + o * outStep] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

let scratch = new Uint8Array(0);

/**
 * Resizes interleaved [height, width, channels] bytes to [outHeight, outWidth, channels] exactly as Pillow's
 * resize(..., Image.BOX) does (rows first, rounded to bytes, then columns; an axis of unchanged size is not
 * resampled). Aspect ratio is not kept (a 4:3 picture is squashed to 1:1, as the seed's Resize((64, 64)) does).
 * Writes into `out` at `outOffset` when given.
 */
export function resizeBox(
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
    throw new Error(`resizeBox: source has ${src.length} bytes, expected ${width}x${height}x${channels}`);
  }
  if (outOffset + outWidth * outHeight * channels > out.length) {
    throw new Error(`resizeBox: output of ${out.length} bytes cannot hold ${outWidth}x${outHeight}x${channels} at offset ${outOffset}`);
  }
  let rows = src;
  if (outWidth !== width) {
    // Horizontal pass into [height, outWidth, channels] bytes, in a scratch buffer kept between calls.
    if (scratch.length < height * outWidth * channels) scratch = new Uint8Array(height * outWidth * channels);
    const filter = boxFilter(width, outWidth);
    for (let c = 0; c < channels; c++) resamplePass(src, c, scratch, c, filter, height, outWidth, channels, width * channels, channels, outWidth * channels);
    rows = scratch;
  }
  if (outHeight === height) {
    out.set(rows.subarray(0, outWidth * height * channels), outOffset);
    return out;
  }
  // Vertical pass: each column of each channel is a line.
  const filter = boxFilter(height, outHeight);
  const rowStride = outWidth * channels;
  resamplePass(rows, 0, out, outOffset, filter, rowStride, outHeight, rowStride, 1, rowStride, 1);
  return out;
}
