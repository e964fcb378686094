/**
 * Copies a HAM10000 folder (the embedded set by default) into the split-folders layout, DIR/<part>/<dx>/<image_id>.jpg,
 * byte for byte, following a split: a split.csv, or the seeded lesion split a HAM10000 run with the same --limit and
 * --seed draws (for seed 0 and no limit: the embedded split.csv). A run on the copy then sees the same images in
 * the same parts as a run on the CSV, through the other code path.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { evenlySpaced } from './load.js';
import { readSource } from './sources.js';
import { assignParts, readSplitCsv, SPLIT_NAMES, type SplitName, type SplitOptions } from './split.js';

export interface ExportOptions {
  /** A HAM10000 folder; default: the embedded set. */
  from: string;
  out: string;
  /** Only `limit` images, the ones a run with --limit picks. */
  limit?: number;
  /** A split.csv to follow, or the seeded split to draw (default seed 0). */
  split?: string | SplitOptions;
}

export interface ExportResult {
  /** Images per class (in the source's class order) in each part. */
  counts: Record<SplitName, number[]>;
  classes: string[];
  /** Listed images without a file, not copied. */
  missing: string[];
}

export function exportSplitFolders(options: ExportOptions): ExportResult {
  const out = resolve(options.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`export: ${out} is not empty; choose a new folder`);
  const source = readSource(options.from, 'ham10000');
  // The same images as loadDataset's --limit.
  const items = evenlySpaced(source.items, options.limit ?? Infinity);
  const assignment = typeof options.split === 'string' ? readSplitCsv(options.split) : assignParts(items, source.classes.length, options.split);
  const counts = { train: source.classes.map(() => 0), val: source.classes.map(() => 0), test: source.classes.map(() => 0) };
  const missing: string[] = [];
  for (const item of items) {
    const part = assignment.get(item.id);
    if (part === undefined) throw new Error(`export: the split names no part for ${item.id} (${item.where})`);
    if (item.file === null) {
      missing.push(item.id);
      continue;
    }
    const folder = join(out, part, source.classes[item.label]);
    mkdirSync(folder, { recursive: true });
    copyFileSync(item.file, join(folder, `${item.id}.jpg`));
    counts[part][item.label]++;
  }
  for (const part of SPLIT_NAMES) mkdirSync(join(out, part), { recursive: true });
  return { counts, classes: source.classes, missing };
}
