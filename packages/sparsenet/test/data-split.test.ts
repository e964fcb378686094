import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLASSES,
  defaultDataDir,
  groupsOnSeveralSides,
  readMetadata,
  readSplitCsv,
  SPLIT_NAMES,
  splitByLesion,
  writeSplitCsv,
  type MetadataRow,
  type SplitAssignment,
} from '../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sparsenet-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real metadata (10,015 rows, 7,470 lesions), from the embedded set. */
const rows = readMetadata(join(defaultDataDir(), 'HAM10000_metadata.csv'));
const grouped = (part: readonly MetadataRow[]) => part.map((r) => ({ id: r.imageId, group: r.lesionId }));

/** Images per class, in CLASSES order. */
function countByClass(labels: readonly number[]): number[] {
  const counts = CLASSES.map(() => 0);
  for (const label of labels) counts[label]++;
  return counts;
}

function labelsOf(part: string, assignment: SplitAssignment): number[] {
  return rows.filter((r) => assignment.get(r.imageId) === part).map((r) => r.label);
}

describe('lesion split', () => {
  const split = splitByLesion(rows);

  it('puts every image on one side and no lesion on two', () => {
    expect(rows).toHaveLength(10015);
    expect(split.size).toBe(rows.length);
    expect(groupsOnSeveralSides(grouped(rows), split)).toEqual([]);
    const sizes = SPLIT_NAMES.map((name) => labelsOf(name, split).length);
    expect(Math.abs(sizes[2] / rows.length - 0.2)).toBeLessThan(0.005);
    expect(Math.abs(sizes[1] / (sizes[0] + sizes[1]) - 0.1)).toBeLessThan(0.005);
  });

  it('keeps class proportions within a point in each part', () => {
    const all = countByClass(rows.map((r) => r.label));
    for (const name of SPLIT_NAMES) {
      const labels = labelsOf(name, split);
      const counts = countByClass(labels);
      for (let c = 0; c < CLASSES.length; c++) {
        expect(Math.abs(counts[c] / labels.length - all[c] / rows.length), `${name} ${CLASSES[c]}`).toBeLessThan(0.01);
      }
    }
  });

  it('is fixed by the seed, not by row order, and differs across seeds', () => {
    const reversed = splitByLesion([...rows].reverse());
    expect(rows.every((r) => reversed.get(r.imageId) === split.get(r.imageId))).toBe(true);
    const other = splitByLesion(rows, { seed: 1 });
    const moved = rows.filter((r) => other.get(r.imageId) !== split.get(r.imageId)).length;
    expect(moved).toBeGreaterThan(1000);
    expect(groupsOnSeveralSides(grouped(rows), other)).toEqual([]);
  });

  it('honours the fractions, including no validation part', () => {
    const noVal = splitByLesion(rows, { testFraction: 0.3, valFraction: 0 });
    expect(labelsOf('val', noVal)).toHaveLength(0);
    expect(Math.abs(labelsOf('test', noVal).length / rows.length - 0.3)).toBeLessThan(0.005);
    expect(() => splitByLesion(rows, { testFraction: 1 })).toThrow('splitByGroup: testFraction must be in [0, 1), got 1');
  });

  it('finds a lesion on two sides', () => {
    const small: MetadataRow[] = rows.slice(0, 4);
    const broken: SplitAssignment = new Map(small.map((r, i) => [r.imageId, i === 0 ? 'test' : 'train']));
    // The first two rows of the real CSV are one lesion (HAM_0000118).
    expect(groupsOnSeveralSides(grouped(small), broken)).toEqual([small[0].lesionId]);
  });

  it('round-trips through split.csv', () => {
    const file = join(dir, 'split.csv');
    writeSplitCsv(file, split);
    const back = readSplitCsv(file);
    expect([...back]).toEqual([...split]);
  });

  it('is the split written to the embedded set', () => {
    expect([...readSplitCsv(join(defaultDataDir(), 'split.csv'))]).toEqual([...split]);
  });

  it('names the file and line of a bad split.csv', () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'image_id,part\nISIC_1,train\n');
    expect(() => readSplitCsv(file)).toThrow(`${file} line 1: missing column split`);
    writeFileSync(file, 'image_id,split\nISIC_1,train\nISIC_2,holdout\n');
    expect(() => readSplitCsv(file)).toThrow(`${file} line 3: unknown split "holdout" for ISIC_2 (expected train, val, test)`);
    writeFileSync(file, 'image_id,split\nISIC_1,train\nISIC_1,test\n');
    expect(() => readSplitCsv(file)).toThrow(`${file} line 3: image_id ISIC_1 appears twice`);
    expect(() => readSplitCsv(join(dir, 'none.csv'))).toThrow(`cannot read the split file ${join(dir, 'none.csv')}`);
  });
});
