/**
 * Train/val/test split grouped by lesion_id (no lesion on two sides) and stratified by dx, from a seed; and its
 * split.csv form (`image_id,split`).
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@sparsenet/viz';
import { Random } from '@sparsenet/tensor';
import { columnIndices, csvField, parseCsv } from './csv.js';
import { CLASSES, type MetadataRow } from './metadata.js';

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
/** image_id -> the part it belongs to. */
export type SplitAssignment = Map<string, SplitName>;

export interface SplitOptions {
  seed?: number;
  /** Share of each class's images held out for test. */
  testFraction?: number;
  /** Share of each class's remaining (train) images held out for validation. */
  valFraction?: number;
}

export const DEFAULT_SPLIT: Required<SplitOptions> = { seed: 0, testFraction: 0.2, valFraction: 0.1 };
export const SPLIT_FILE = 'split.csv';

interface Lesion {
  id: string;
  imageIds: string[];
}

/**
 * Walks the lesions in order and holds out each one that brings the held-out image count closer to `target`.
 * Returns the held-out lesions and the rest, both in walk order.
 */
function holdOut(lesions: Lesion[], target: number): { held: Lesion[]; rest: Lesion[] } {
  const held: Lesion[] = [];
  const rest: Lesion[] = [];
  let taken = 0;
  for (const lesion of lesions) {
    const n = lesion.imageIds.length;
    if (Math.abs(taken + n - target) < Math.abs(taken - target)) {
      held.push(lesion);
      taken += n;
    } else {
      rest.push(lesion);
    }
  }
  return { held, rest };
}

const countImages = (lesions: Lesion[]) => lesions.reduce((sum, l) => sum + l.imageIds.length, 0);

/**
 * Splits metadata rows into train/val/test. All images of a lesion go to one side; within each dx the lesions are
 * shuffled by the seed and held out until test has testFraction of the class's images, then val takes valFraction
 * of what is left. The result depends only on the rows' (lesion_id, image_id, dx) and the options, not on row order.
 */
export function splitByLesion(rows: readonly MetadataRow[], options: SplitOptions = {}): SplitAssignment {
  const { seed, testFraction, valFraction } = { ...DEFAULT_SPLIT, ...options };
  for (const [name, f] of [['testFraction', testFraction], ['valFraction', valFraction]] as const) {
    if (!(f >= 0 && f < 1)) throw new Error(`splitByLesion: ${name} must be in [0, 1), got ${f}`);
  }
  // A lesion is stratified by the dx of its first image (in HAM10000 every lesion has a single dx).
  const lesions = new Map<string, Lesion & { label: number }>();
  for (const row of rows) {
    const lesion = lesions.get(row.lesionId);
    if (lesion) lesion.imageIds.push(row.imageId);
    else lesions.set(row.lesionId, { id: row.lesionId, imageIds: [row.imageId], label: row.label });
  }
  const byClass: Lesion[][] = CLASSES.map(() => []);
  for (const lesion of lesions.values()) byClass[lesion.label].push(lesion);
  const random = new Random(seed);
  const assignment: SplitAssignment = new Map();
  const assign = (part: Lesion[], name: SplitName) => {
    for (const lesion of part) for (const id of lesion.imageIds) assignment.set(id, name);
  };
  for (const group of byClass) {
    group.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    random.shuffle(group);
    const test = holdOut(group, testFraction * countImages(group));
    const val = holdOut(test.rest, valFraction * countImages(test.rest));
    assign(test.held, 'test');
    assign(val.held, 'val');
    assign(val.rest, 'train');
  }
  // Keep the rows' order in the map, so split.csv lists images as the metadata does.
  return new Map(rows.map((row) => [row.imageId, assignment.get(row.imageId)!]));
}

/** Lesions whose images sit on more than one side of a split (empty when the split is sound). */
export function lesionsOnSeveralSides(rows: readonly { lesionId: string; imageId: string }[], assignment: SplitAssignment): string[] {
  const sides = new Map<string, SplitName>();
  const leaks = new Set<string>();
  for (const { lesionId, imageId } of rows) {
    const side = assignment.get(imageId);
    if (side === undefined) continue;
    const seen = sides.get(lesionId);
    if (seen === undefined) sides.set(lesionId, side);
    else if (seen !== side) leaks.add(lesionId);
  }
  return [...leaks];
}

/** Writes split.csv (`image_id,split`) through a temporary file and a rename, so a reader never sees half a file. */
export function writeSplitCsv(file: string, assignment: SplitAssignment): void {
  const lines = ['image_id,split'];
  for (const [id, name] of assignment) lines.push(`${csvField(id)},${name}`);
  writeFileAtomic(file, lines.join('\n') + '\n');
}

/** Reads split.csv; throws naming the file and line for a missing column, an unknown part or a repeated image_id. */
export function readSplitCsv(file: string): SplitAssignment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the split file ${file}: ${(err as Error).message}`);
  }
  const records = parseCsv(text, file);
  const col = columnIndices(records[0], ['image_id', 'split'] as const, file);
  const assignment: SplitAssignment = new Map();
  for (let r = 1; r < records.length; r++) {
    const { line, fields } = records[r];
    const id = (fields[col.image_id] ?? '').trim();
    const name = (fields[col.split] ?? '').trim();
    if (!id) throw new Error(`${file} line ${line}: empty image_id`);
    if (!(SPLIT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`${file} line ${line}: unknown split "${name}" for ${id} (expected ${SPLIT_NAMES.join(', ')})`);
    }
    if (assignment.has(id)) throw new Error(`${file} line ${line}: image_id ${id} appears twice`);
    assignment.set(id, name as SplitName);
  }
  return assignment;
}
