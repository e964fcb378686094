import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decodeImage,
  detectLayout,
  groupsOnSeveralSides,
  loadDataset,
  loadSplits,
  measureNormalization,
  prepareDataset,
  readSplitCsv,
  resizeBox,
  writeSplitCsv,
  type LoadOptions,
  type SplitAssignment,
} from '../src/data/index.js';
import { tempDir } from './data-fixtures.js';

const root = tempDir('layouts');

/** A flat-coloured image file of the given size and kind, encoded by sharp (PNG with alpha, grey JPEG, ...). */
async function writeImage(file: string, colour: readonly number[], width = 23, height = 17, kind: 'jpeg' | 'png-rgba' | 'grey-jpeg' | 'webp' = 'jpeg'): Promise<void> {
  mkdirSync(join(file, '..'), { recursive: true });
  const channels = kind === 'png-rgba' ? 4 : kind === 'grey-jpeg' ? 1 : 3;
  const pixel = kind === 'png-rgba' ? [...colour, 60] : kind === 'grey-jpeg' ? [colour[0]] : colour;
  const raw = Buffer.alloc(width * height * channels);
  for (let p = 0; p < width * height; p++) raw.set(pixel, p * channels);
  let image = sharp(raw, { raw: { width, height, channels: channels as 1 | 3 | 4 } });
  image = kind === 'png-rgba' ? image.png() : kind === 'webp' ? image.webp({ lossless: true }) : image.jpeg({ quality: 100, chromaSubsampling: '4:4:4' });
  writeFileSync(file, await image.toBuffer());
}

const KINDS = ['jpeg', 'png-rgba', 'webp', 'grey-jpeg'] as const;

/** A folder per class: `counts[c]` images of class c, coloured by class (grey JPEGs: its red as grey), sizes and kinds varying. */
async function writeClassFolders(dir: string, names: readonly string[], counts: readonly number[]): Promise<void> {
  for (const [c, name] of names.entries()) {
    for (let i = 0; i < counts[c]; i++) {
      const kind = KINDS[i % KINDS.length];
      await writeImage(join(dir, name, `${name}-${i}.${kind === 'png-rgba' ? 'png' : kind === 'webp' ? 'webp' : 'jpg'}`), colourOfClass(c), 20 + i, 15 + 2 * i, kind);
    }
  }
}

const colourOfClass = (c: number): [number, number, number] => [30 + 70 * c, 200 - 50 * c, 90 + 30 * c];

async function load(dir: string, options: LoadOptions & { split?: SplitAssignment | string } = {}) {
  const warnings: string[] = [];
  const loaded = await loadSplits({ dir, cacheDir: false, size: 8, onWarning: (m) => warnings.push(m), ...options, split: typeof options.split === 'string' ? options.split : undefined });
  return { ...loaded, warnings };
}

/** Mean of channel c over image i. */
function meanColour(images: Uint8Array, size: number, i: number, c: number): number {
  let sum = 0;
  for (let p = 0; p < size * size; p++) sum += images[(i * size * size + p) * 3 + c];
  return sum / (size * size);
}

/** Images per class of each part. */
const partCounts = (loaded: Awaited<ReturnType<typeof load>>) => [loaded.train.classCounts(), loaded.val.classCounts(), loaded.test.classCounts()];

describe('class folders (ImageFolder)', () => {
  const dir = join(root, 'classes');
  const names = ['zebra', 'apple', 'Mango'];

  it('reads sorted folder names as classes, every image kind and size at the asked size, with labels and pixels', async () => {
    await writeClassFolders(dir, names, [12, 20, 8]);
    // A file beside the class folders belongs to no class: not read, not warned about (as ImageFolder).
    writeFileSync(join(dir, 'README.md'), '# my images\n');
    const loaded = await load(dir);
    expect(detectLayout(dir)).toBe('class-folders');
    expect(loaded.layout).toBe('class-folders');
    // Code-point order, as Python's sorted(): upper case first.
    expect(loaded.classes).toEqual(['Mango', 'apple', 'zebra']);
    expect(loaded.dataset.count).toBe(40);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.dataset.imageIds[0]).toBe('Mango/Mango-0.jpg');
    for (let i = 0; i < loaded.dataset.count; i++) {
      const name = loaded.dataset.imageIds[i].split('/')[0];
      expect(loaded.dataset.labels[i]).toBe(loaded.classes.indexOf(name));
      // Alpha is dropped, not blended: the RGB of a 60-alpha PNG comes through unchanged; grey is replicated.
      const grey = KINDS[Number(/-(\d+)\./.exec(loaded.dataset.imageIds[i])![1]) % KINDS.length] === 'grey-jpeg';
      const colour = grey ? Array(3).fill(colourOfClass(names.indexOf(name))[0]) : colourOfClass(names.indexOf(name));
      for (let c = 0; c < 3; c++) expect(Math.abs(meanColour(loaded.dataset.images, 8, i, c) - colour[c]), loaded.dataset.imageIds[i]).toBeLessThan(2);
    }
  });

  it('splits stratified and seeded; split.csv reproduces the split; another seed moves images', async () => {
    const loaded = await load(dir);
    const [train, val, test] = partCounts(loaded);
    // 20% of each class to test, then 10% of the rest to val (rounded as the grouped hold-out does).
    expect(test).toEqual([2, 4, 2]);
    expect(val).toEqual([1, 2, 1]);
    expect(train).toEqual([5, 14, 9]);
    const file = join(root, 'split.csv');
    writeSplitCsv(file, loaded.assignment);
    const again = await load(dir, { split: file });
    expect(again.test.imageIds).toEqual(loaded.test.imageIds);
    expect(again.val.imageIds).toEqual(loaded.val.imageIds);
    expect(again.train.imageIds).toEqual(loaded.train.imageIds);
    const other = await loadSplits({ dir, cacheDir: false, size: 8, split: { seed: 3 } });
    expect(other.test.imageIds).not.toEqual(loaded.test.imageIds);
    expect(partCounts({ ...other, warnings: [] })).toEqual(partCounts(loaded));
  });

  it('caches any layout, keyed on the files: a changed image remakes it', async () => {
    const cacheDir = join(root, 'cache');
    const first = await loadDataset({ dir, cacheDir, size: 8 });
    const second = await loadDataset({ dir, cacheDir, size: 8 });
    expect([first.fromCache, second.fromCache]).toEqual([false, true]);
    expect(second.cacheFile).toMatch(/class-folders-8px-/);
    expect(second.dataset.images).toEqual(first.dataset.images);
    expect(second.classes).toEqual(first.classes);
    const file = join(dir, 'apple', 'apple-0.jpg');
    await writeImage(file, [250, 250, 250]);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const third = await loadDataset({ dir, cacheDir, size: 8 });
    expect(third.fromCache).toBe(false);
    expect(meanColour(third.dataset.images, 8, third.dataset.imageIds.indexOf('apple/apple-0.jpg'), 0)).toBeGreaterThan(245);
  });

  it('skips, counts and names a file that is not an image and a corrupt or truncated image', async () => {
    const bad = join(root, 'bad-files');
    await writeClassFolders(bad, ['a', 'b'], [5, 5]);
    writeFileSync(join(bad, 'a', 'notes.txt'), 'not an image');
    writeFileSync(join(bad, 'b', 'b-1.png'), 'not a png');
    const whole = readFileSync(join(bad, 'a', 'a-0.jpg'));
    writeFileSync(join(bad, 'a', 'a-0.jpg'), whole.subarray(0, whole.length >> 1));
    const loaded = await load(bad);
    expect(loaded.dataset.count).toBe(8);
    expect(loaded.skipped.map((s) => [s.file, s.reason])).toEqual([
      [join(bad, 'a', 'notes.txt'), 'not-image'],
      [join(bad, 'a', 'a-0.jpg'), 'corrupt'],
      [join(bad, 'b', 'b-1.png'), 'corrupt'],
    ]);
    expect(loaded.warnings[0]).toBe(`skipped ${join(bad, 'a', 'notes.txt')}: not an image file (expected .jpg, .jpeg, .png, .webp)`);
    expect(loaded.warnings[1]).toContain(`skipped a/a-0.jpg (${join(bad, 'a', 'a-0.jpg')}): corrupt or unreadable image ${join(bad, 'a', 'a-0.jpg')}`);
    expect(loaded.warnings[3]).toBe('skipped 3 of 11 images (0 missing, 2 corrupt, 1 not image files)');
  });

  it('refuses an empty class folder and a data set of one class, naming the folder', async () => {
    const empty = join(root, 'empty-class');
    await writeClassFolders(empty, ['a', 'b'], [3, 3]);
    mkdirSync(join(empty, 'c'));
    writeFileSync(join(empty, 'c', 'readme.md'), 'nothing here');
    await expect(load(empty)).rejects.toThrow(`data: class folder ${join(empty, 'c')} holds no image (.jpg, .jpeg, .png, .webp); remove it or add its images`);
    const one = join(root, 'one-class');
    await writeClassFolders(one, ['only'], [4]);
    await expect(load(one)).rejects.toThrow(`data: ${one} (class-folders) has one class only (only); a classifier needs at least 2`);
    await expect(load(join(root, 'nowhere'))).rejects.toThrow(`data folder not found: ${join(root, 'nowhere')}`);
    mkdirSync(join(root, 'nothing'));
    await expect(load(join(root, 'nothing'))).rejects.toThrow(`data: cannot tell the layout of ${join(root, 'nothing')}`);
  });
});

describe('split folders (train/, test/, optional val/)', () => {
  const names = ['cat', 'dog', 'owl'];

  it('keeps the given parts and takes val out of train, stratified, when there is no val/', async () => {
    const dir = join(root, 'split');
    await writeClassFolders(join(dir, 'train'), names, [20, 10, 10]);
    await writeClassFolders(join(dir, 'test'), names, [4, 3, 2]);
    const loaded = await load(dir);
    expect([loaded.layout, detectLayout(dir)]).toEqual(['split-folders', 'split-folders']);
    expect(loaded.classes).toEqual(names);
    const [train, val, test] = partCounts(loaded);
    expect(test).toEqual([4, 3, 2]);
    expect(val).toEqual([2, 1, 1]);
    expect(train).toEqual([18, 9, 9]);
    expect(loaded.test.imageIds.every((id) => id.startsWith('test/'))).toBe(true);
    expect([...loaded.val.imageIds, ...loaded.train.imageIds].every((id) => id.startsWith('train/'))).toBe(true);
  });

  it('uses val/ when present; a class of test that train lacks is refused, an empty test class warned about', async () => {
    const dir = join(root, 'split-val');
    await writeClassFolders(join(dir, 'train'), names, [6, 6, 6]);
    await writeClassFolders(join(dir, 'val'), names, [1, 2, 1]);
    await writeClassFolders(join(dir, 'test'), names.slice(0, 2), [2, 2]);
    const loaded = await load(dir);
    expect(partCounts(loaded)).toEqual([[6, 6, 6], [1, 2, 1], [2, 2, 0]]);
    expect(loaded.warnings).toEqual([`data: ${join(dir, 'test', 'owl')} is missing: the test part has no owl image`]);
    await writeClassFolders(join(dir, 'test'), ['bat'], [1]);
    await expect(load(dir)).rejects.toThrow(`data: ${join(dir, 'test')} has class folder bat that ${join(dir, 'train')} lacks`);
    rmSync(join(dir, 'test', 'bat'), { recursive: true });
    mkdirSync(join(dir, 'train', 'bat'));
    await expect(load(dir)).rejects.toThrow(`data: class folder ${join(dir, 'train', 'bat')} holds no image`);
  });
});

describe('a CSV of file,label[,group]', () => {
  const dir = join(root, 'csv');

  it('reads labels in order of first appearance and keeps each group on one side', async () => {
    const lines = ['file,label,group'];
    for (let i = 0; i < 60; i++) {
      const label = ['sun', 'moon', 'star'][i % 3];
      const file = `pics/${i}.jpg`;
      await writeImage(join(dir, file), colourOfClass(i % 3), 12, 9);
      // Three images per group, all of one label.
      lines.push(`${file},${label},g${Math.floor(i / 9)}-${i % 3}`);
    }
    writeFileSync(join(dir, 'list.csv'), lines.join('\n') + '\n');
    const loaded = await load(dir);
    expect([loaded.layout, loaded.dir]).toEqual(['csv', join(dir, 'list.csv')]);
    expect(loaded.classes).toEqual(['sun', 'moon', 'star']);
    expect(loaded.dataset.count).toBe(60);
    expect(loaded.dataset.groups[0]).toBe('g0-0');
    const rows = loaded.items.map((item) => ({ id: item.id, group: item.group }));
    expect(groupsOnSeveralSides(rows, loaded.assignment)).toEqual([]);
    for (const part of [loaded.train, loaded.val, loaded.test]) expect(new Set(part.classCounts()).size).toBeLessThanOrEqual(2);
    expect(loaded.test.count).toBeGreaterThan(6);
    // The CSV itself as --data reads the same.
    const direct = await load(join(dir, 'list.csv'));
    expect(direct.test.imageIds).toEqual(loaded.test.imageIds);
  });

  it('refuses an unknown file, a missing column and a file that is not an image, naming the CSV line', async () => {
    const csv = join(dir, 'list.csv');
    writeFileSync(csv, 'file,label\npics/0.jpg,sun\npics/404.jpg,moon\n');
    await expect(load(dir)).rejects.toThrow(`${csv}: 1 listed file does not exist: ${csv} line 3: no file ${join(dir, 'pics', '404.jpg')}`);
    writeFileSync(csv, 'path,label\npics/0.jpg,sun\n');
    // Without a file column the folder is not recognised as a CSV set; named as --data, the CSV's header is at fault.
    await expect(load(dir, { layout: 'csv' })).rejects.toThrow(`data: ${dir} (csv layout) must hold exactly one CSV with file and label columns, found none`);
    await expect(load(csv)).rejects.toThrow(`${csv} line 1: missing column file (header has path, label)`);
    writeFileSync(join(dir, 'pics', 'x.txt'), 'text');
    writeFileSync(csv, 'file,label\npics/0.jpg,sun\npics/x.txt,moon\n');
    await expect(load(dir)).rejects.toThrow(`${csv} line 3: ${join(dir, 'pics', 'x.txt')} is not an image file`);
    writeFileSync(csv, 'file,label\npics/0.jpg,sun\npics/1.jpg,sun\n');
    await expect(load(dir)).rejects.toThrow(`data: ${csv} (csv) has one class only (sun); a classifier needs at least 2`);
  });
});

describe('decoding and resizing against PIL', () => {
  const fixtures = new URL('./fixtures/resize/', import.meta.url);
  const expected = JSON.parse(readFileSync(new URL('expected.json', fixtures), 'utf8')) as { sizes: number[]; images: Record<string, Record<string, string>> };

  it("matches PIL's convert('RGB').resize(BOX) on RGB, RGBA, grey, grey+alpha and palette PNG, 4:2:0/4:4:4/grey JPEG and WebP", async () => {
    expect(Object.keys(expected.images)).toHaveLength(9);
    for (const [name, bySize] of Object.entries(expected.images)) {
      const image = await decodeImage(readFileSync(new URL(name, fixtures)), name);
      for (const size of expected.sizes) {
        const ours = resizeBox(image.data, image.width, image.height, 3, size, size);
        const pil = Buffer.from(bySize[size], 'base64');
        // The same decoder (libjpeg-turbo, libpng, libwebp) and the same fixed-point filter: byte for byte.
        expect(Buffer.from(ours).equals(pil), `${name} at ${size}`).toBe(true);
      }
    }
  });
});

describe('normalisation and prepare', () => {
  it('measures per-channel mean and std (population) in [0, 1] units; a flat channel gets std 1', () => {
    const bytes = Uint8Array.from([0, 10, 255, 255, 10, 255]);
    const { mean, std } = measureNormalization(bytes);
    expect(mean).toEqual([127.5 / 255, 10 / 255, 1]);
    expect(std[0]).toBeCloseTo(127.5 / 255, 12);
    expect(std.slice(1)).toEqual([1, 1]);
    expect(() => measureNormalization(new Uint8Array(4))).toThrow('measureNormalization: 4 bytes are not whole RGB pixels');
  });

  it('prepare-data writes any layout as small JPEGs and labels.csv that load back to the same classes, parts and pixels', async () => {
    const from = join(root, 'split-prep');
    const names = ['b-class', 'a-class'];
    await writeClassFolders(join(from, 'train'), names, [6, 5]);
    await writeClassFolders(join(from, 'test'), names, [2, 3]);
    const out = join(root, 'prepared');
    const result = await prepareDataset({ from, out, size: 8 });
    expect([result.layout, result.images, result.classes]).toEqual(['split-folders', 16, ['a-class', 'b-class']]);
    const source = await load(from);
    const back = await load(out);
    expect(back.layout).toBe('csv');
    expect(back.classes).toEqual(source.classes);
    expect(partCounts(back)).toEqual(partCounts(source));
    expect(back.test.imageIds).toEqual(source.test.imageIds.map((id) => `images/${id.replace(/\.[^.]+$/, '.jpg')}`));
    expect(readSplitCsv(join(out, 'split.csv')).get(back.test.imageIds[0])).toBe('test');
    const pixels = 8 * 8 * 3;
    let worst = 0;
    source.dataset.imageIds.forEach((id, i) => {
      const j = back.dataset.imageIds.indexOf(`images/${id.replace(/\.[^.]+$/, '.jpg')}`);
      for (let p = 0; p < pixels; p++) worst = Math.max(worst, Math.abs(back.dataset.images[j * pixels + p] - source.dataset.images[i * pixels + p]));
    });
    // Only the quality-95 JPEG step lies between them.
    expect(worst).toBeLessThan(6);
    expect(readFileSync(join(out, 'NOTICE.md'), 'utf8')).toContain('| a-class | 8 |');
  });
});
