/** Small HAM10000-like folders in a temp dir for the data tests: a metadata CSV and flat-coloured JPEGs. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { CLASSES, encodeJpeg } from '../src/data/index.js';

export const HEADER = 'lesion_id,image_id,dx,dx_type,age,sex,localization';

export interface FixtureRow {
  lesionId: string;
  imageId: string;
  dx: string;
}

/** A temp folder removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sparsenet-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** n rows, two images per lesion, dx cycling through CLASSES. */
export function fixtureRows(n: number): FixtureRow[] {
  return Array.from({ length: n }, (_, i) => ({
    lesionId: `HAM_${String(Math.floor(i / 2)).padStart(7, '0')}`,
    imageId: `ISIC_${String(24306 + i).padStart(7, '0')}`,
    dx: CLASSES[Math.floor(i / 2) % CLASSES.length],
  }));
}

export function csvText(rows: readonly FixtureRow[]): string {
  return [HEADER, ...rows.map((r) => `${r.lesionId},${r.imageId},${r.dx},histo,50.0,male,back`)].join('\n') + '\n';
}

/** The flat colour of fixture image i (distinct per image, away from 0 and 255). */
export function colourOf(i: number): [number, number, number] {
  return [20 + ((i * 37) % 200), 20 + ((i * 71) % 200), 20 + ((i * 13) % 200)];
}

/** A 40x30 (4:3, like HAM10000) flat-coloured JPEG at quality 100. */
export function flatJpeg(colour: readonly number[], width = 40, height = 30): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(colour, p * 3);
  return encodeJpeg({ width, height, data }, 100);
}

export type Layout = 'images' | 'parts' | 'beside';

/** Writes HAM10000_metadata.csv and one JPEG per row in the given layout; returns the folder. */
export function writeFixture(dir: string, rows: readonly FixtureRow[], layout: Layout = 'images'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'HAM10000_metadata.csv'), csvText(rows));
  rows.forEach((row, i) => {
    const sub = layout === 'images' ? 'images' : layout === 'parts' ? (i % 2 === 0 ? 'HAM10000_images_part_1' : 'HAM10000_images_part_2') : '';
    mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, sub, `${row.imageId}.jpg`), flatJpeg(colourOf(i)));
  });
  return dir;
}
