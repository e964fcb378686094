#!/usr/bin/env node
/** CLI: node packages/sparsenet/dist/cli/prepare.js --from DIR --out DIR [--size 64] [--quality 95] [--seed 0] */
import { parseArgs } from 'node:util';
import { CLASSES } from '../data/metadata.js';
import { DEFAULT_JPEG_QUALITY, prepareHam10000 } from '../data/prepare.js';
import { DEFAULT_IMAGE_SIZE } from '../data/load.js';
import { DEFAULT_SPLIT, SPLIT_NAMES } from '../data/split.js';

const USAGE = `usage: prepare --from DIR --out DIR [--size ${DEFAULT_IMAGE_SIZE}] [--quality ${DEFAULT_JPEG_QUALITY}] [--seed ${DEFAULT_SPLIT.seed}]
  --from     a HAM10000 folder: HAM10000_metadata.csv with the JPEGs beside it, in images/,
             or in HAM10000_images_part_1/ and HAM10000_images_part_2/
  --out      where to write images/, HAM10000_metadata.csv, split.csv and NOTICE.md
  --size     side of the square images (default ${DEFAULT_IMAGE_SIZE})
  --quality  JPEG quality (default ${DEFAULT_JPEG_QUALITY})
  --seed     seed of the train/val/test split written to split.csv (default ${DEFAULT_SPLIT.seed})`;

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${value}"`);
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      out: { type: 'string' },
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
  const started = performance.now();
  const result = prepareHam10000({
    from: values.from,
    out: values.out,
    size: integer(values.size, 'size', DEFAULT_IMAGE_SIZE),
    quality: integer(values.quality, 'quality', DEFAULT_JPEG_QUALITY),
    splitSeed: integer(values.seed, 'seed', DEFAULT_SPLIT.seed),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`wrote ${result.images} images (${(result.imageBytes / 1e6).toFixed(1)} MB of JPEG) to ${values.out} in ${seconds} s; skipped ${result.skipped.length}`);
  for (const name of SPLIT_NAMES) {
    const counts = result.splitCounts[name];
    console.log(`  ${name.padEnd(5)} ${String(counts.reduce((a, b) => a + b, 0)).padStart(5)}  ${CLASSES.map((dx, c) => `${dx} ${counts[c]}`).join(', ')}`);
  }
}

try {
  main();
} catch (err) {
  console.error(`prepare: ${(err as Error).message}`);
  process.exitCode = 1;
}
