/**
 * The prepare command: turns a data set as users have it into an embedded-style folder of small JPEGs. HAM10000
 * keeps the embedded layout: images/<image_id>.jpg at size x size, HAM10000_metadata.csv, split.csv, NOTICE.md
 * (and SOURCES.md when the source folder has one); other layouts become a labels.csv set.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@sparsenet/viz';
import { csvField, parseCsv } from './csv.js';
import { CHANNELS } from './normalization.js';
import { encodeJpeg, type SkippedImage } from './images.js';
import { DEFAULT_IMAGE_SIZE, loadDataset } from './load.js';
import { METADATA_FILE } from './metadata.js';
import type { Layout } from './sources.js';
import { assignParts, DEFAULT_SPLIT, SPLIT_FILE, SPLIT_NAMES, writeSplitCsv, type SplitName } from './split.js';

export const DEFAULT_JPEG_QUALITY = 95;

export interface PrepareOptions {
  from: string;
  out: string;
  /** The source's layout; detected when omitted. */
  layout?: Layout;
  size?: number;
  /** JPEG quality of the written images. Default 95. */
  quality?: number;
  /** Seed of the split written to split.csv. Default DEFAULT_SPLIT.seed. */
  splitSeed?: number;
  onWarning?: (message: string) => void;
}

export interface PrepareResult {
  layout: Layout;
  classes: string[];
  images: number;
  skipped: SkippedImage[];
  /** Bytes of all written JPEGs. */
  imageBytes: number;
  /** Images per class (class order) in each part of the written split. */
  splitCounts: Record<SplitName, number[]>;
}

/** The CSV listing of a prepared non-HAM10000 set. */
export const PREPARED_LIST = 'labels.csv';

/**
 * Writes an embedded-style copy of any data set: every image that loads, resized to size x size and encoded as
 * JPEG, with split.csv and NOTICE.md. A HAM10000 source keeps its layout (images/<image_id>.jpg and its metadata);
 * any other becomes a csv-layout set: images/<path>.jpg and labels.csv (file,label,group, and split when the
 * source fixed the parts), its rows in class order so that the classes read back in the same order.
 */
export async function prepareDataset(options: PrepareOptions): Promise<PrepareResult> {
  const from = resolve(options.from);
  const out = resolve(options.out);
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  const seed = options.splitSeed ?? DEFAULT_SPLIT.seed;
  if (from === out) throw new Error(`prepare: --out must differ from --from (${from})`);
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new Error(`prepare: quality must be an integer in [1, 100], got ${quality}`);

  const loaded = await loadDataset({ dir: from, layout: options.layout, size, cacheDir: false, onWarning: options.onWarning });
  const { dataset, skipped, layout, classes } = loaded;
  const ham = layout === 'ham10000';
  const fileOf = (id: string) => (ham ? `images/${id}.jpg` : `images/${id.replace(/\.[^./]+$/, '')}.jpg`);
  const written = new Map<string, string>();
  for (const id of dataset.imageIds) {
    const clash = written.get(fileOf(id));
    if (clash !== undefined) throw new Error(`prepare: ${clash} and ${id} in ${from} would both be written to ${fileOf(id)}`);
    written.set(fileOf(id), id);
  }
  const pixels = size * size * CHANNELS;
  let imageBytes = 0;
  dataset.imageIds.forEach((id, i) => {
    const jpeg = encodeJpeg({ width: size, height: size, data: dataset.images.subarray(i * pixels, (i + 1) * pixels) }, quality);
    mkdirSync(dirname(join(out, fileOf(id))), { recursive: true });
    writeFileSync(join(out, fileOf(id)), jpeg);
    imageBytes += jpeg.length;
  });

  const kept = new Set(dataset.imageIds);
  const items = loaded.items.filter((item) => kept.has(item.id)).map((item) => ({ ...item, id: ham ? item.id : fileOf(item.id) }));
  const fixedParts = items.some((item) => item.part !== null);
  if (ham) {
    const csvFrom = join(from, METADATA_FILE);
    const csvOut = join(out, METADATA_FILE);
    if (skipped.length === 0) copyFileSync(csvFrom, csvOut);
    else writeFileSync(csvOut, keepRows(readFileSync(csvFrom, 'utf8'), csvFrom, kept));
  } else {
    const header = ['file', 'label', 'group', ...(fixedParts ? ['split'] : [])];
    const rows = [...items].sort((a, b) => a.label - b.label).map((item) => [item.id, classes[item.label], item.group, ...(fixedParts ? [item.part!] : [])]);
    writeFileAtomic(join(out, PREPARED_LIST), [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n');
  }
  const assignment = assignParts(items, classes.length, { ...DEFAULT_SPLIT, seed });
  writeSplitCsv(join(out, SPLIT_FILE), assignment);
  const splitCounts = { train: classes.map(() => 0), val: classes.map(() => 0), test: classes.map(() => 0) };
  for (const item of items) splitCounts[assignment.get(item.id)!][item.label]++;

  const sources = join(from, 'SOURCES.md');
  const hasSources = ham && existsSync(sources);
  if (hasSources) copyFileSync(sources, join(out, 'SOURCES.md'));
  const facts = { from, layout, classes, count: dataset.count, size, quality, seed, classCounts: dataset.classCounts(), splitCounts, skipped, hasSources, imageBytes, fixedParts };
  writeFileSync(join(out, 'NOTICE.md'), ham ? ham10000Notice(facts) : preparedNotice(facts));
  return { layout, classes, images: dataset.count, skipped, imageBytes, splitCounts };
}

/** The CSV with only the header and the rows whose image_id is kept. */
function keepRows(text: string, file: string, kept: Set<string>): string {
  const records = parseCsv(text, file);
  const idColumn = records[0].fields.map((f) => f.trim()).indexOf('image_id');
  const lines = records.filter((r, i) => i === 0 || kept.has(r.fields[idColumn].trim())).map((r) => r.fields.map(csvField).join(','));
  return lines.join('\n') + '\n';
}

interface NoticeFacts {
  from: string;
  layout: Layout;
  classes: string[];
  fixedParts: boolean;
  count: number;
  size: number;
  quality: number;
  seed: number;
  classCounts: number[];
  splitCounts: Record<SplitName, number[]>;
  skipped: SkippedImage[];
  hasSources: boolean;
  imageBytes: number;
}

/** Images per class and part, as a markdown table. */
function countTable(f: NoticeFacts, classHeader: string): string[] {
  return [
    `| ${classHeader} | images | ${SPLIT_NAMES.join(' | ')} |`,
    `| --- | ---: | ${SPLIT_NAMES.map(() => '---:').join(' | ')} |`,
    ...f.classes.map((name, c) => `| ${name} | ${f.classCounts[c]} | ${SPLIT_NAMES.map((s) => f.splitCounts[s][c]).join(' | ')} |`),
    `| total | ${f.count} | ${SPLIT_NAMES.map((s) => f.splitCounts[s].reduce((a, b) => a + b, 0)).join(' | ')} |`,
  ];
}

const skippedText = (f: NoticeFacts): string =>
  `${f.skipped.length} source images were missing, corrupt or not images and left out: ` + f.skipped.map((s) => `${s.imageId} (${s.reason})`).join(', ') + '.';

/** NOTICE.md of a prepared csv-layout set. */
function preparedNotice(f: NoticeFacts): string {
  return `# ${f.count} images at ${f.size}x${f.size}, ${f.classes.length} classes

Made by sparsenet's prepare command (packages/sparsenet/src/cli/prepare.ts) from ${f.from} (layout ${f.layout}).
Each image was decoded (sharp), converted to RGB (alpha dropped), resized to ${f.size}x${f.size} as PIL's BOX
filter does (the aspect ratio is not kept) and encoded as baseline JPEG (jpeg-js, quality ${f.quality}, 4:4:4).

- \`${PREPARED_LIST}\`: \`file,label,group${f.fixedParts ? ',split' : ''}\`, in class order (classes read back as ${f.classes.join(', ')}).
- \`split.csv\`: \`image_id,split\`: ${f.fixedParts ? "the source's own parts" : `grouped, stratified by class, seed ${f.seed}: ${DEFAULT_SPLIT.testFraction * 100}% of each class to test`}, ${DEFAULT_SPLIT.valFraction * 100}% of train to val${f.fixedParts ? ' where the source had no val part' : ''}.

${f.skipped.length ? skippedText(f) : 'No source image was missing or corrupt.'}

${countTable(f, 'class').join('\n')}

The images keep the licence of their source.
`;
}

function ham10000Notice(f: NoticeFacts): string {
  const table = countTable(f, 'dx');
  const skippedLine =
    f.skipped.length === 0
      ? 'No source image was missing or corrupt; HAM10000_metadata.csv is a byte-identical copy of the source metadata.'
      : `${skippedText(f)} Their rows are left out of HAM10000_metadata.csv.`;
  return `# HAM10000 at ${f.size}x${f.size}: the embedded data set of sparsenet

${f.count} dermatoscopic images of pigmented skin lesions from HAM10000, 7 classes, made by sparsenet's prepare
command (packages/sparsenet/src/cli/prepare.ts) from a downscaled copy of HAM10000${f.hasSources ? ' described in SOURCES.md' : ''}.

## Contents

- \`images/<image_id>.jpg\`: ${f.size}x${f.size} RGB, ${(f.imageBytes / 1e6).toFixed(1)} MB in all. Each source JPEG was decoded
  (sharp), resized to ${f.size}x${f.size} as PIL's resize(..., Image.BOX) does (each source pixel counted once, in the
  output pixel its centre falls in; the aspect ratio is not kept, 4:3 is squashed to 1:1 as the seed project's
  Resize((64, 64)) does), and encoded as baseline
  JPEG with jpeg-js at quality ${f.quality}, 4:4:4 (no chroma subsampling).
- \`HAM10000_metadata.csv\`: the metadata (lesion_id, image_id, dx, dx_type, age, sex, localization).
- \`split.csv\`: \`image_id,split\` with train/val/test: grouped by lesion_id (no lesion on two sides), stratified by dx,
  seed ${f.seed}: ${DEFAULT_SPLIT.testFraction * 100}% of each class's images to test, then ${DEFAULT_SPLIT.valFraction * 100}% of the rest to val.${f.hasSources ? '\n- `SOURCES.md`: where the source images came from and how they were made (copied from the source folder).' : ''}

${skippedLine}

## Images per class and split

Labels are the dx in this order: ${f.classes.join(', ')} (label 0 to ${f.classes.length - 1}).

${table.join('\n')}

## Citation and licence

Tschandl P., Rosendahl C., Kittler H., "The HAM10000 dataset, a large collection of multi-source dermatoscopic
images of common pigmented skin lesions", Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161.

Licence: CC BY-NC 4.0 (Creative Commons Attribution-NonCommercial 4.0 International,
https://creativecommons.org/licenses/by-nc/4.0/). These images and the metadata are a derivative of HAM10000 and
carry its licence, not the MIT licence of sparsenet's code: non-commercial use only, with the citation above.
`;
}
