/**
 * An on-disk cache of prepared images, keyed by a fingerprint of what they were made from, so a second load
 * reads one file instead of decoding thousands of JPEGs.
 *
 * File layout: "SNDC", uint32 format, uint32 header bytes, a JSON header, padding to 4 bytes, int32 labels,
 * uint8 images.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SkippedImage } from './images.js';

/** Bump when decoding, resizing or the cache layout changes: every cache made before is then remade. */
export const DATA_CODE_VERSION = 2;

const MAGIC = 'SNDC';
const FORMAT = 1;

/** The default cache folder: .cache/sparsenet-data under the working directory. */
export function defaultCacheDir(): string {
  return resolve('.cache', 'sparsenet-data');
}

export interface CacheKey {
  layout: string;
  /** The class names in label order. */
  classes: readonly string[];
  /** Bytes of the files the listing comes from (a CSV), if any. */
  listing: readonly Uint8Array[];
  /** Every image id and file used, in listing order; the file null where an image was missing. */
  ids: readonly string[];
  files: readonly (string | null)[];
  size: number;
  limit: number;
}

/**
 * Hex SHA-256 over the layout, the classes, the listing files' hashes, each image's id, path, size and mtime, the
 * image size, the row limit and DATA_CODE_VERSION.
 */
export function fingerprint(key: CacheKey): string {
  const hash = createHash('sha256');
  hash.update(`sparsenet-data v${DATA_CODE_VERSION} ${key.layout} size ${key.size} limit ${key.limit}\n`);
  hash.update(`classes ${JSON.stringify(key.classes)}\n`);
  for (const bytes of key.listing) hash.update(`listing ${createHash('sha256').update(bytes).digest('hex')}\n`);
  hash.update(`ids ${createHash('sha256').update(JSON.stringify(key.ids)).digest('hex')}\n`);
  for (const file of key.files) {
    if (file === null) {
      hash.update('missing\n');
      continue;
    }
    const st = statSync(file);
    hash.update(`${file} ${st.size} ${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/** The cache file for a data set, its layout, image size and row limit (its contents say which fingerprint it holds). */
export function cacheFile(cacheDir: string, sourceDir: string, layout: string, size: number, limit: number): string {
  const id = createHash('sha256').update(`${resolve(sourceDir)}\n${limit}`).digest('hex').slice(0, 16);
  return join(cacheDir, `${layout}-${size}px-${id}.bin`);
}

export interface CachedImages {
  fingerprint: string;
  size: number;
  images: Uint8Array;
  labels: Int32Array;
  imageIds: string[];
  groups: string[];
  skipped: SkippedImage[];
}

interface Header {
  fingerprint: string;
  size: number;
  count: number;
  imageIds: string[];
  groups: string[];
  skipped: SkippedImage[];
}

/** The cached images when `file` exists, is whole and holds `expected`; otherwise null (the caller remakes it). */
export function readCache(file: string, expected: string): CachedImages | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== MAGIC || bytes.readUInt32LE(4) !== FORMAT) return null;
  const headerBytes = bytes.readUInt32LE(8);
  if (12 + headerBytes > bytes.length) return null;
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerBytes)) as Header;
  } catch {
    return null;
  }
  if (header.fingerprint !== expected) return null;
  const labelsAt = align4(12 + headerBytes);
  const imagesAt = labelsAt + header.count * 4;
  const imageBytes = header.count * header.size * header.size * 3;
  if (bytes.length !== imagesAt + imageBytes) return null;
  const labels = new Int32Array(header.count);
  labels.set(new Int32Array(bytes.buffer.slice(bytes.byteOffset + labelsAt, bytes.byteOffset + imagesAt)));
  return {
    fingerprint: header.fingerprint,
    size: header.size,
    images: new Uint8Array(bytes.buffer, bytes.byteOffset + imagesAt, imageBytes),
    labels,
    imageIds: header.imageIds,
    groups: header.groups,
    skipped: header.skipped,
  };
}

/** Writes the cache to a temporary file beside `file`, then renames it over, so readers see an old or a whole file. */
export function writeCache(file: string, data: CachedImages): void {
  mkdirSync(dirname(file), { recursive: true });
  const header: Header = {
    fingerprint: data.fingerprint,
    size: data.size,
    count: data.labels.length,
    imageIds: data.imageIds,
    groups: data.groups,
    skipped: data.skipped,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(align4(12 + json.length));
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(FORMAT, 4);
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [prefix, new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength), data.images]) {
      for (let done = 0; done < part.length; ) done += writeSync(fd, part, done);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

const align4 = (n: number) => (n + 3) & ~3;
