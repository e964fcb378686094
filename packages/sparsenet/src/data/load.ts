/** Loading a data set in any layout (HAM10000 by default, the embedded set) into an ImageDataset, through the cache. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cacheFile, defaultCacheDir, fingerprint, readCache, writeCache, type CachedImages } from './cache.js';
import { ImageDataset } from './dataset.js';
import { IMAGE_EXTENSIONS, loadImageInto, type SkippedImage } from './images.js';
import { readSource, type Layout, type SourceItem } from './sources.js';
import { assignParts, readSplitCsv, type SplitAssignment, type SplitName, type SplitOptions } from './split.js';

/** The embedded default set, data/ham10000-64 at the repository's root. */
export function defaultDataDir(): string {
  return fileURLToPath(new URL('../../../../data/ham10000-64', import.meta.url));
}

export const DEFAULT_IMAGE_SIZE = 64;
/** Skipped images warned about one by one; the rest go into one summary line. */
const WARNED_ONE_BY_ONE = 10;

export interface LoadOptions {
  /**
   * A data folder (or a CSV of file,label[,group][,split]) in any layout of sources.ts. Default: the embedded
   * HAM10000 set.
   */
  dir?: string;
  /** The layout, detected from the folder's contents when omitted. */
  layout?: Layout;
  /** Side of the square images. Default 64. */
  size?: number;
  /** Only `limit` images, evenly spaced through the listing (HAM10000's CSV is sorted by dx, folders by class, so every class is sampled). */
  limit?: number;
  /** Where prepared arrays are cached (default .cache/sparsenet-data), or false for no cache. */
  cacheDir?: string | false;
  /** Receives warnings about skipped images and files. Default console.warn. */
  onWarning?: (message: string) => void;
}

export interface LoadedData {
  /** The data folder, or the CSV of a csv-layout set. */
  dir: string;
  layout: Layout;
  /** Class names in label order. */
  classes: string[];
  /** The images that loaded, in listing order. */
  dataset: ImageDataset;
  /** Every item listed (including those whose image was skipped); splits are made from these. */
  items: SourceItem[];
  skipped: SkippedImage[];
  fromCache: boolean;
  cacheFile: string | null;
}

/** Images decoded at once: sharp decodes on libuv's threads, so a few in flight keep both cores busy. */
const DECODES_IN_FLIGHT = 4;

/**
 * Lists the data set, then decodes each image (resized to size x size as PIL's BOX filter does), or reads all of them at once from
 * the cache when nothing they are made from has changed. A missing or corrupt image, or a file that is not an
 * image, is skipped, warned about and counted in `skipped`; a missing folder, a bad listing or a bad CSV row throws.
 */
export async function loadDataset(options: LoadOptions = {}): Promise<LoadedData> {
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const limit = options.limit ?? Infinity;
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`loadDataset: size must be a positive integer, got ${size}`);
  if (!(limit > 0)) throw new Error(`loadDataset: limit must be positive, got ${limit}`);
  const source = readSource(options.dir ?? defaultDataDir(), options.layout, warn);
  const items = evenlySpaced(source.items, limit);
  const paths = items.map((item) => item.file);

  const cachePath = options.cacheDir === false ? null : cacheFile(options.cacheDir ?? defaultCacheDir(), source.dir, source.layout, size, limit);
  const key = cachePath
    ? fingerprint({ layout: source.layout, classes: source.classes, listing: source.listingFiles.map((f) => readFileSync(f)), ids: items.map((i) => i.id), files: paths, size, limit })
    : '';
  let prepared = cachePath ? readCache(cachePath, key) : null;
  const fromCache = prepared !== null;
  if (!prepared) {
    prepared = { fingerprint: key, size, ...(await decodeAll(items, size)) };
    if (cachePath) writeCache(cachePath, prepared);
  }
  const notImages: SkippedImage[] = source.notImages.map((file) => ({ imageId: file, file, reason: 'not-image', message: `skipped ${file}: not an image file (expected ${IMAGE_EXTENSIONS.join(', ')})` }));
  const skipped = [...notImages, ...prepared.skipped];
  reportSkipped(skipped, items.length + notImages.length, warn);
  return {
    dir: source.dir,
    layout: source.layout,
    classes: source.classes,
    dataset: new ImageDataset(prepared.images, prepared.labels, prepared.imageIds, prepared.groups, size, source.classes),
    items,
    skipped,
    fromCache,
    cacheFile: cachePath,
  };
}

async function decodeAll(items: readonly SourceItem[], size: number): Promise<Omit<CachedImages, 'fingerprint' | 'size'>> {
  const pixels = size * size * 3;
  const decoded = new Uint8Array(items.length * pixels);
  const failures: (SkippedImage | null)[] = items.map(() => null);
  let next = 0;
  const worker = async () => {
    for (let r = next++; r < items.length; r = next++) {
      const item = items[r];
      if (item.file === null) {
        failures[r] = { imageId: item.id, file: null, reason: 'missing', message: `missing image ${item.id} (${item.where})` };
        continue;
      }
      try {
        await loadImageInto(item.file, size, decoded, r * pixels);
      } catch (err) {
        failures[r] = { imageId: item.id, file: item.file, reason: 'corrupt', message: `skipped ${item.id} (${item.where}): ${(err as Error).message}` };
      }
    }
  };
  await Promise.all(Array.from({ length: DECODES_IN_FLIGHT }, worker));
  const kept = items.flatMap((_, r) => (failures[r] ? [] : [r]));
  const images = kept.length === items.length ? decoded : new Uint8Array(kept.length * pixels);
  if (images !== decoded) kept.forEach((r, k) => images.set(decoded.subarray(r * pixels, (r + 1) * pixels), k * pixels));
  return {
    images,
    labels: Int32Array.from(kept, (r) => items[r].label),
    imageIds: kept.map((r) => items[r].id),
    groups: kept.map((r) => items[r].group),
    skipped: failures.filter((f): f is SkippedImage => f !== null),
  };
}

function reportSkipped(skipped: readonly SkippedImage[], total: number, warn: (message: string) => void): void {
  if (skipped.length === 0) return;
  for (const s of skipped.slice(0, WARNED_ONE_BY_ONE)) warn(s.message);
  const count = (reason: SkippedImage['reason']) => skipped.filter((s) => s.reason === reason).length;
  const notImages = count('not-image');
  warn(
    `skipped ${skipped.length} of ${total} images (${count('missing')} missing, ${count('corrupt')} corrupt${notImages ? `, ${notImages} not image files` : ''})` +
      (skipped.length > WARNED_ONE_BY_ONE ? `; ${skipped.length - WARNED_ONE_BY_ONE} not listed above` : ''),
  );
}

export interface SplitLoadOptions extends LoadOptions {
  /** A split.csv to follow, or how to draw the split (default DEFAULT_SPLIT). */
  split?: string | SplitOptions;
}

export type LoadedSplits = LoadedData & Record<SplitName, ImageDataset> & { assignment: SplitAssignment };

/** loadDataset, then its train/val/test parts by a split.csv, or the layout's parts and a seeded grouped split. */
export async function loadSplits(options: SplitLoadOptions = {}): Promise<LoadedSplits> {
  const loaded = await loadDataset(options);
  const assignment = typeof options.split === 'string' ? readSplitCsv(options.split) : assignParts(loaded.items, loaded.classes.length, options.split);
  return { ...loaded, ...loaded.dataset.split(assignment), assignment };
}

/** `limit` items at evenly spaced positions (the first included), or all of them. */
export function evenlySpaced<T>(items: T[], limit: number): T[] {
  if (limit >= items.length) return items;
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]);
}
