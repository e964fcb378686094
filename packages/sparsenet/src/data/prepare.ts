/**
 * The prepare command: turns a HAM10000 folder as users have it into the embedded layout: images/<image_id>.jpg at
 * size x size, HAM10000_metadata.csv, split.csv, NOTICE.md (and SOURCES.md when the source folder has one).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { csvField, parseCsv } from './csv.js';
import { CHANNELS } from './normalization.js';
import { encodeJpeg, type SkippedImage } from './images.js';
import { DEFAULT_IMAGE_SIZE, loadHam10000 } from './load.js';
import { CLASSES, METADATA_FILE } from './metadata.js';
import { DEFAULT_SPLIT, SPLIT_FILE, SPLIT_NAMES, splitByLesion, writeSplitCsv, type SplitName } from './split.js';

export const DEFAULT_JPEG_QUALITY = 95;

export interface PrepareOptions {
  from: string;
  out: string;
  size?: number;
  /** JPEG quality of the written images. Default 95. */
  quality?: number;
  /** Seed of the split written to split.csv. Default DEFAULT_SPLIT.seed. */
  splitSeed?: number;
  onWarning?: (message: string) => void;
}

export interface PrepareResult {
  images: number;
  skipped: SkippedImage[];
  /** Bytes of all written JPEGs. */
  imageBytes: number;
  /** Images per class (CLASSES order) in each part of the written split. */
  splitCounts: Record<SplitName, number[]>;
}

export function prepareHam10000(options: PrepareOptions): PrepareResult {
  const from = resolve(options.from);
  const out = resolve(options.out);
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  const seed = options.splitSeed ?? DEFAULT_SPLIT.seed;
  if (from === out) throw new Error(`prepare: --out must differ from --from (${from})`);
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new Error(`prepare: quality must be an integer in [1, 100], got ${quality}`);

  const { dataset, rows, skipped } = loadHam10000({ dir: from, size, cacheDir: false, onWarning: options.onWarning });
  mkdirSync(join(out, 'images'), { recursive: true });
  const pixels = size * size * CHANNELS;
  let imageBytes = 0;
  for (let i = 0; i < dataset.count; i++) {
    const jpeg = encodeJpeg({ width: size, height: size, data: dataset.images.subarray(i * pixels, (i + 1) * pixels) }, quality);
    writeFileSync(join(out, 'images', `${dataset.imageIds[i]}.jpg`), jpeg);
    imageBytes += jpeg.length;
  }

  const csvFrom = join(from, METADATA_FILE);
  const csvOut = join(out, METADATA_FILE);
  const kept = new Set(dataset.imageIds);
  if (skipped.length === 0) copyFileSync(csvFrom, csvOut);
  else writeFileSync(csvOut, keepRows(readFileSync(csvFrom, 'utf8'), csvFrom, kept));

  const keptRows = rows.filter((row) => kept.has(row.imageId));
  const assignment = splitByLesion(keptRows, { ...DEFAULT_SPLIT, seed });
  writeSplitCsv(join(out, SPLIT_FILE), assignment);
  const splitCounts = { train: CLASSES.map(() => 0), val: CLASSES.map(() => 0), test: CLASSES.map(() => 0) };
  for (const row of keptRows) splitCounts[assignment.get(row.imageId)!][row.label]++;

  const sources = join(from, 'SOURCES.md');
  const hasSources = existsSync(sources);
  if (hasSources) copyFileSync(sources, join(out, 'SOURCES.md'));
  const classCounts = dataset.classCounts();
  writeFileSync(join(out, 'NOTICE.md'), notice({ count: dataset.count, size, quality, seed, classCounts, splitCounts, skipped, hasSources, imageBytes }));
  return { images: dataset.count, skipped, imageBytes, splitCounts };
}

/** The CSV with only the header and the rows whose image_id is kept. */
function keepRows(text: string, file: string, kept: Set<string>): string {
  const records = parseCsv(text, file);
  const idColumn = records[0].fields.map((f) => f.trim()).indexOf('image_id');
  const lines = records.filter((r, i) => i === 0 || kept.has(r.fields[idColumn].trim())).map((r) => r.fields.map(csvField).join(','));
  return lines.join('\n') + '\n';
}

interface NoticeFacts {
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

function notice(f: NoticeFacts): string {
  const table = [
    `| dx | images | ${SPLIT_NAMES.join(' | ')} |`,
    `| --- | ---: | ${SPLIT_NAMES.map(() => '---:').join(' | ')} |`,
    ...CLASSES.map((dx, c) => `| ${dx} | ${f.classCounts[c]} | ${SPLIT_NAMES.map((s) => f.splitCounts[s][c]).join(' | ')} |`),
    `| total | ${f.count} | ${SPLIT_NAMES.map((s) => f.splitCounts[s].reduce((a, b) => a + b, 0)).join(' | ')} |`,
  ];
  const skippedText =
    f.skipped.length === 0
      ? 'No source image was missing or corrupt; HAM10000_metadata.csv is a byte-identical copy of the source metadata.'
      : `${f.skipped.length} source images were missing or corrupt and left out, with their rows in HAM10000_metadata.csv: ` +
        f.skipped.map((s) => `${s.imageId} (${s.reason})`).join(', ') + '.';
  return `# HAM10000 at ${f.size}x${f.size}: the embedded data set of sparsenet

${f.count} dermatoscopic images of pigmented skin lesions from HAM10000, 7 classes, made by sparsenet's prepare
command (packages/sparsenet/src/cli/prepare.ts) from a downscaled copy of HAM10000${f.hasSources ? ' described in SOURCES.md' : ''}.

## Contents

- \`images/<image_id>.jpg\`: ${f.size}x${f.size} RGB, ${(f.imageBytes / 1e6).toFixed(1)} MB in all. Each source JPEG was decoded
  (jpeg-js), resized to ${f.size}x${f.size} with an area filter (each pixel the mean of the source area it covers; the aspect
  ratio is not kept, 4:3 is squashed to 1:1 as the seed project's Resize((64, 64)) does), and encoded as baseline
  JPEG with jpeg-js at quality ${f.quality}, 4:4:4 (no chroma subsampling).
- \`HAM10000_metadata.csv\`: the metadata (lesion_id, image_id, dx, dx_type, age, sex, localization).
- \`split.csv\`: \`image_id,split\` with train/val/test: grouped by lesion_id (no lesion on two sides), stratified by dx,
  seed ${f.seed}: ${DEFAULT_SPLIT.testFraction * 100}% of each class's images to test, then ${DEFAULT_SPLIT.valFraction * 100}% of the rest to val.${f.hasSources ? '\n- `SOURCES.md`: where the source images came from and how they were made (copied from the source folder).' : ''}

${skippedText}

## Images per class and split

Labels are the dx in this order: ${CLASSES.join(', ')} (label 0 to 6).

${table.join('\n')}

## Citation and licence

Tschandl P., Rosendahl C., Kittler H., "The HAM10000 dataset, a large collection of multi-source dermatoscopic
images of common pigmented skin lesions", Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161.

Licence: CC BY-NC 4.0 (Creative Commons Attribution-NonCommercial 4.0 International,
https://creativecommons.org/licenses/by-nc/4.0/). These images and the metadata are a derivative of HAM10000 and
carry its licence, not the MIT licence of sparsenet's code: non-commercial use only, with the citation above.
`;
}
