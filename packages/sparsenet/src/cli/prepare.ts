#!/usr/bin/env node
/** CLI: node packages/sparsenet/dist/cli/prepare.js --from DIR --out DIR [--layout L] [--size 64] [--quality 95] [--seed 0] */
import { parseArgs } from 'node:util';
import { LAYOUTS, type Layout } from '../data/sources.js';
import { DEFAULT_JPEG_QUALITY, prepareDataset } from '../data/prepare.js';
import { DEFAULT_IMAGE_SIZE } from '../data/load.js';
import { DEFAULT_SPLIT, SPLIT_NAMES } from '../data/split.js';

const USAGE = `usage: prepare --from DIR --out DIR [--layout ${LAYOUTS.join('|')}] [--size ${DEFAULT_IMAGE_SIZE}] [--quality ${DEFAULT_JPEG_QUALITY}] [--seed ${DEFAULT_SPLIT.seed}]
  --from     a data set in any layout: a HAM10000 folder (HAM10000_metadata.csv with the JPEGs beside it, in
             images/, or in HAM10000_images_part_1/ and _2/), train/ and test/ (optional val/) of class
             folders, one folder per class, or a CSV of file,label[,group][,split]
  --out      where to write the small JPEGs (images/), split.csv, NOTICE.md, and HAM10000_metadata.csv for
             HAM10000 or labels.csv for any other layout
  --layout   the source's layout (default: detected from its contents)
  --size     side of the square images (default ${DEFAULT_IMAGE_SIZE})
  --quality  JPEG quality (default ${DEFAULT_JPEG_QUALITY})
  --seed     seed of the train/val/test split written to split.csv (default ${DEFAULT_SPLIT.seed})`;

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      out: { type: 'string' },
      layout: { type: 'string' },
      size: { type: 'string' },
      quality: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.from || !values.out) throw new Error(`--from and --out are required\n${USAGE}`);
  if (values.layout !== undefined && !(LAYOUTS as readonly string[]).includes(values.layout)) throw new Error(`--layout must be one of ${LAYOUTS.join(', ')}, got "${values.layout}"`);
  const started = performance.now();
  const result = await prepareDataset({
    from: values.from,
    out: values.out,
    layout: values.layout as Layout | undefined,
    size: integer(values.size, 'size', DEFAULT_IMAGE_SIZE),
    quality: integer(values.quality, 'quality', DEFAULT_JPEG_QUALITY),
    splitSeed: integer(values.seed, 'seed', DEFAULT_SPLIT.seed),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`wrote ${result.images} images of ${result.classes.length} classes (${result.layout}; ${(result.imageBytes / 1e6).toFixed(1)} MB of JPEG) to ${values.out} in ${seconds} s; skipped ${result.skipped.length}`);
  for (const name of SPLIT_NAMES) {
    const counts = result.splitCounts[name];
    console.log(`  ${name.padEnd(5)} ${String(counts.reduce((a, b) => a + b, 0)).padStart(5)}  ${result.classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}`);
  }
}

main().catch((err: Error) => {
  console.error(`prepare: ${err.message}`);
  process.exitCode = 1;
});
