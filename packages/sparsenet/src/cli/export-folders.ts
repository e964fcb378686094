#!/usr/bin/env node
/** CLI: node packages/sparsenet/dist/cli/export-folders.js --out DIR [--from DIR] [--limit N] [--seed S | --split FILE] */
import { parseArgs } from 'node:util';
import { defaultDataDir } from '../data/load.js';
import { exportSplitFolders } from '../data/export.js';
import { SPLIT_NAMES } from '../data/split.js';

const USAGE = `usage: export-folders --out DIR [--from DIR] [--limit N] [--seed 0 | --split FILE]
  Copies a HAM10000 folder's JPEGs, byte for byte, into DIR/train/<dx>/, DIR/val/<dx>/ and DIR/test/<dx>/ (the
  split-folders layout), so that a run on DIR and a run on the CSV see the same images in the same parts.
  --from   a HAM10000 folder (default: the embedded set, ${defaultDataDir()})
  --limit  only the N images a run with --limit N picks
  --seed   the seeded lesion split a HAM10000 run with this --seed (and --limit) draws (default 0: with no
           --limit, the embedded split.csv)
  --split  follow this split.csv instead`;

function main(): void {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, from: { type: 'string' }, limit: { type: 'string' }, seed: { type: 'string' }, split: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(USAGE);
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  if (values.split && values.seed !== undefined) throw new Error('give --seed or --split, not both');
  const number = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${text}"`);
    return n;
  };
  const result = exportSplitFolders({
    from: values.from ?? defaultDataDir(),
    out: values.out,
    limit: number(values.limit, 'limit'),
    split: values.split ?? { seed: number(values.seed, 'seed') ?? 0 },
  });
  for (const part of SPLIT_NAMES) {
    const counts = result.counts[part];
    console.log(`${part.padEnd(5)} ${String(counts.reduce((a, b) => a + b, 0)).padStart(5)}  ${result.classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}`);
  }
  if (result.missing.length) console.warn(`not copied (no file): ${result.missing.join(', ')}`);
}

try {
  main();
} catch (err) {
  console.error(`export-folders: ${(err as Error).message}`);
  process.exitCode = 1;
}
