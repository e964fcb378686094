/**
 * Train/val/test split grouped (no HAM10000 lesion, no CSV group on two sides) and stratified by class, from a
 * seed; parts a layout fixes (split folders) kept; and its split.csv form (`image_id,split`).
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

/** An image as the splitter sees it: its id, its group and its class. */
export interface SplitRow {
  id: string;
  group: string;
  label: number;
}

/** A group of images that goes to one side. */
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
 * Splits rows into train/val/test. All images of a group go to one side; within each class the groups are
 * shuffled by the seed and held out until test has testFraction of the class's images, then val takes valFraction
 * of what is left. The result depends only on the rows' (group, id, label) and the options, not on row order.
 */
export function splitByGroup(rows: readonly SplitRow[], numClasses: number, options: SplitOptions = {}): SplitAssignment {
  const { seed, testFraction, valFraction } = { ...DEFAULT_SPLIT, ...options };
  for (const [name, f] of [['testFraction', testFraction], ['valFraction', valFraction]] as const) {
    if (!(f >= 0 && f < 1)) throw new Error(`splitByGroup: ${name} must be in [0, 1), got ${f}`);
  }
  // A group is stratified by the class of its first image (in HAM10000 every lesion has a single dx).
  const lesions = new Map<string, Lesion & { label: number }>();
  for (const row of rows) {
    const lesion = lesions.get(row.group);
    if (lesion) lesion.imageIds.push(row.id);
    else lesions.set(row.group, { id: row.group, imageIds: [row.id], label: row.label });
  }
  const byClass: Lesion[][] = Array.from({ length: numClasses }, () => []);
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
  // Keep the rows' order in the map, so split.csv lists images as the listing does.
  return new Map(rows.map((row) => [row.id, assignment.get(row.id)!]));
}

/** HAM10000's split: metadata rows grouped by lesion_id, stratified by dx. */
export function splitByLesion(rows: readonly MetadataRow[], options: SplitOptions = {}): SplitAssignment {
  return splitByGroup(rows.map((r) => ({ id: r.imageId, group: r.lesionId, label: r.label })), CLASSES.length, options);
}

/**
 * The split of a listing whose items may carry a part fixed by their layout: none fixed, the seeded grouped split
 * of all; all fixed, those parts, with val held out of train (stratified, seeded, valFraction) when no item is in
 * val. A listing with some items fixed and others not is refused, naming one of each.
 */
export function assignParts(items: readonly (SplitRow & { part: SplitName | null; where: string })[], numClasses: number, options: SplitOptions = {}): SplitAssignment {
  const fixed = items.filter((item) => item.part !== null);
  if (fixed.length === 0) return splitByGroup(items, numClasses, options);
  const loose = items.find((item) => item.part === null);
  if (loose) throw new Error(`split: ${fixed[0].where} is in a fixed part (${fixed[0].part}) but ${loose.where} is in none; give every image a part or none`);
  if (items.some((item) => item.part === 'val')) return new Map(items.map((item) => [item.id, item.part!]));
  const fromTrain = splitByGroup(items.filter((item) => item.part === 'train'), numClasses, { ...options, testFraction: 0 });
  return new Map(items.map((item) => [item.id, item.part === 'train' ? fromTrain.get(item.id)! : item.part!]));
}

/** Groups whose images sit on more than one side of a split (empty when the split is sound). */
export function groupsOnSeveralSides(rows: readonly { id: string; group: string }[], assignment: SplitAssignment): string[] {
  const sides = new Map<string, SplitName>();
  const leaks = new Set<string>();
  for (const { id, group } of rows) {
    const side = assignment.get(id);
    if (side === undefined) continue;
    const seen = sides.get(group);
    if (seen === undefined) sides.set(group, side);
    else if (seen !== side) leaks.add(group);
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
