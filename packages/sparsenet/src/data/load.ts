/** Loading a HAM10000 folder (as users have it, or the embedded set) into an ImageDataset, through the cache. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheFile, defaultCacheDir, fingerprint, readCache, writeCache, type CachedImages } from './cache.js';
import { ImageDataset } from './dataset.js';
import { IMAGE_FOLDERS, indexImages, loadImageInto, type SkippedImage } from './images.js';
import { METADATA_FILE, parseMetadata, type MetadataRow } from './metadata.js';
import { readSplitCsv, splitByLesion, type SplitAssignment, type SplitName, type SplitOptions } from './split.js';

/** The embedded default set, data/ham10000-64 at the repository's root. */
export function defaultDataDir(): string {
  return fileURLToPath(new URL('../../../../data/ham10000-64', import.meta.url));
}

export const DEFAULT_IMAGE_SIZE = 64;
/** Skipped images warned about one by one; the rest go into one summary line. */
const WARNED_ONE_BY_ONE = 10;

export interface LoadOptions {
  /** Folder holding HAM10000_metadata.csv and the JPEGs (beside it, in images/ or in the two part folders). Default: the embedded set. */
  dir?: string;
  /** Side of the square images. Default 64. */
  size?: number;
  /** Only `limit` rows, evenly spaced through the CSV (which HAM10000 sorts by dx, so every class is sampled). */
  limit?: number;
  /** Where prepared arrays are cached (default .cache/sparsenet-data), or false for no cache. */
  cacheDir?: string | false;
  /** Receives warnings about skipped images. Default console.warn. */
  onWarning?: (message: string) => void;
}

export interface LoadedHam10000 {
  dir: string;
  /** The images that loaded, in CSV order. */
  dataset: ImageDataset;
  /** Every metadata row read (including those whose image was skipped); splits are made from these. */
  rows: MetadataRow[];
  skipped: SkippedImage[];
  fromCache: boolean;
  cacheFile: string | null;
}

/**
 * Reads the metadata, then each image (decoded, area-resized to size x size), or all of them at once from the cache
 * when nothing they are made from has changed. A missing or corrupt image is skipped, warned about and counted in
 * `skipped`; a missing folder, an unreadable CSV or a bad CSV row throws.
 */
export function loadHam10000(options: LoadOptions = {}): LoadedHam10000 {
  const dir = resolve(options.dir ?? defaultDataDir());
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const limit = options.limit ?? Infinity;
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`loadHam10000: size must be a positive integer, got ${size}`);
  if (!(limit > 0)) throw new Error(`loadHam10000: limit must be positive, got ${limit}`);
  const files = indexImages(dir);
  const csvPath = join(dir, METADATA_FILE);
  let csv: Buffer;
  try {
    csv = readFileSync(csvPath);
  } catch (err) {
    throw new Error(`cannot read the HAM10000 metadata ${csvPath}: ${(err as Error).message}`);
  }
  const rows = evenlySpaced(parseMetadata(csv.toString('utf8'), csvPath), limit);
  const paths = rows.map((row) => files.get(row.imageId) ?? null);

  const cachePath = options.cacheDir === false ? null : cacheFile(options.cacheDir ?? defaultCacheDir(), dir, size, limit);
  const key = cachePath ? fingerprint({ csv, files: paths, size, limit }) : '';
  let prepared = cachePath ? readCache(cachePath, key) : null;
  const fromCache = prepared !== null;
  if (!prepared) {
    prepared = { fingerprint: key, size, ...decodeAll(rows, paths, size, csvPath, dir) };
    if (cachePath) writeCache(cachePath, prepared);
  }
  reportSkipped(prepared.skipped, rows.length, warn);
  return {
    dir,
    dataset: new ImageDataset(prepared.images, prepared.labels, prepared.imageIds, prepared.lesionIds, size),
    rows,
    skipped: prepared.skipped,
    fromCache,
    cacheFile: cachePath,
  };
}

function decodeAll(rows: readonly MetadataRow[], paths: readonly (string | null)[], size: number, csvPath: string, dir: string) {
  const pixels = size * size * 3;
  const images = new Uint8Array(rows.length * pixels);
  const labels: number[] = [];
  const imageIds: string[] = [];
  const lesionIds: string[] = [];
  const skipped: SkippedImage[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const file = paths[r];
    if (file === null) {
      const where = [dir, ...IMAGE_FOLDERS.map((f) => join(dir, f))].join(', ');
      skipped.push({ imageId: row.imageId, file: null, reason: 'missing', message: `missing image ${row.imageId} (${csvPath} line ${row.line}): no ${row.imageId}.jpg in ${where}` });
      continue;
    }
    try {
      loadImageInto(file, size, images, labels.length * pixels);
    } catch (err) {
      skipped.push({ imageId: row.imageId, file, reason: 'corrupt', message: `skipped ${row.imageId} (${csvPath} line ${row.line}): ${(err as Error).message}` });
      continue;
    }
    labels.push(row.label);
    imageIds.push(row.imageId);
    lesionIds.push(row.lesionId);
  }
  const loaded = labels.length === rows.length ? images : images.slice(0, labels.length * pixels);
  return { images: loaded, labels: Int32Array.from(labels), imageIds, lesionIds, skipped } satisfies Omit<CachedImages, 'fingerprint' | 'size'>;
}

function reportSkipped(skipped: readonly SkippedImage[], total: number, warn: (message: string) => void): void {
  if (skipped.length === 0) return;
  for (const s of skipped.slice(0, WARNED_ONE_BY_ONE)) warn(s.message);
  const missing = skipped.filter((s) => s.reason === 'missing').length;
  warn(`skipped ${skipped.length} of ${total} images (${missing} missing, ${skipped.length - missing} corrupt)` + (skipped.length > WARNED_ONE_BY_ONE ? `; ${skipped.length - WARNED_ONE_BY_ONE} not listed above` : ''));
}

export interface SplitLoadOptions extends LoadOptions {
  /** A split.csv to follow, or how to draw the split (default DEFAULT_SPLIT). */
  split?: string | SplitOptions;
}

/** loadHam10000, then its train/val/test parts by a split.csv or a seeded lesion split. */
export function loadHam10000Splits(options: SplitLoadOptions = {}): LoadedHam10000 & Record<SplitName, ImageDataset> & { assignment: SplitAssignment } {
  const loaded = loadHam10000(options);
  const assignment = typeof options.split === 'string' ? readSplitCsv(options.split) : splitByLesion(loaded.rows, options.split);
  return { ...loaded, ...loaded.dataset.split(assignment), assignment };
}

/** `limit` items at evenly spaced positions (the first included), or all of them. */
function evenlySpaced<T>(items: T[], limit: number): T[] {
  if (limit >= items.length) return items;
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]);
}
