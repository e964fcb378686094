import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '@sparsenet/tensor';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, indexImages, resizeBox } from '../src/data/index.js';
import { flatJpeg, tempDir } from './data-fixtures.js';

/**
 * PIL's BOX resize in float64, from its definition: along each axis, output pixel o (centre c = (o + 0.5) * s,
 * s = from/to) is the mean of the source pixels whose centres lie in (c - max(s, 1)/2, c + max(s, 1)/2]. No
 * fixed point and no rounding between the passes, so resizeBox may differ from it by rounding only.
 */
function referenceResize(src: Uint8Array, w: number, h: number, ow: number, oh: number): Float64Array {
  const taps = (from: number, to: number, o: number) => {
    const s = from / to;
    const half = Math.max(s, 1) / 2;
    const c = (o + 0.5) * s;
    return Array.from({ length: from }, (_, i) => i).filter((i) => i + 0.5 > c - half && i + 0.5 <= c + half);
  };
  const out = new Float64Array(ow * oh * 3);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let c = 0; c < 3; c++) {
        const ys = taps(h, oh, oy);
        const xs = taps(w, ow, ox);
        let sum = 0;
        for (const y of ys) for (const x of xs) sum += src[(y * w + x) * 3 + c];
        out[(oy * ow + ox) * 3 + c] = sum / (ys.length * xs.length);
      }
  return out;
}

function image(w: number, h: number, f: (x: number, y: number, c: number) => number): Uint8Array {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return data;
}

describe("PIL's BOX resize", () => {
  it('keeps a constant image constant (4:3 squashed to 1:1)', () => {
    const out = resizeBox(image(128, 96, (_x, _y, c) => [17, 128, 250][c]), 128, 96, 3, 64, 64);
    expect(out).toHaveLength(64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) expect([out[p * 3], out[p * 3 + 1], out[p * 3 + 2]]).toEqual([17, 128, 250]);
  });

  it('averages a horizontal gradient pairwise at 2:1', () => {
    const out = resizeBox(image(128, 96, (x) => 2 * x), 128, 96, 3, 64, 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) expect(out[(y * 64 + x) * 3]).toBe(4 * x + 1);
  });

  it('counts each source row once at 3:2, as PIL does (a vertical gradient 96 -> 64)', () => {
    // Output row 2m (centre 3m + 0.75, footprint (3m, 3m + 1.5]) takes source rows 3m and 3m+1: (6m + 6m + 2) / 2.
    // Row 2m+1 (centre 3m + 2.25, footprint (3m + 1.5, 3m + 3]) takes row 3m+2 alone: 6m + 4.
    const out = resizeBox(image(64, 96, (_x, y) => 2 * y), 64, 96, 3, 64, 64);
    for (let m = 0; m < 32; m++) {
      expect(out[2 * m * 64 * 3]).toBe(6 * m + 1);
      expect(out[(2 * m + 1) * 64 * 3]).toBe(6 * m + 4);
    }
  });

  it('matches a float64 reference of the BOX filter on random images, down and up, odd sizes', () => {
    const random = new Random(7);
    for (const [w, h, ow, oh] of [
      [128, 96, 64, 64],
      [61, 45, 17, 13],
      [5, 7, 8, 11],
      [33, 1, 1, 1],
    ]) {
      const src = image(w, h, () => random.int(256));
      const got = resizeBox(src, w, h, 3, ow, oh);
      const ref = referenceResize(src, w, h, ow, oh);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
      expect(worst, `${w}x${h} -> ${ow}x${oh}`).toBeLessThanOrEqual(1);
    }
  });

  it('writes at an offset and copies when the size is unchanged', () => {
    const src = image(4, 4, (x, y, c) => x + 4 * y + 16 * c);
    const out = new Uint8Array(2 * 48);
    resizeBox(src, 4, 4, 3, 4, 4, out, 48);
    expect(out.subarray(48)).toEqual(src);
    expect(() => resizeBox(src, 4, 4, 3, 4, 4, new Uint8Array(47))).toThrow('resizeBox: output of 47 bytes cannot hold 4x4x3 at offset 0');
    expect(() => resizeBox(src, 5, 4, 3, 4, 4)).toThrow('resizeBox: source has 48 bytes, expected 5x4x3');
  });
});

describe('JPEG', () => {
  it('round-trips a picture through encode and decode', async () => {
    const src = image(24, 16, (x, y, c) => (c === 0 ? 10 * x : c === 1 ? 15 * y : 128));
    const back = await decodeImage(encodeJpeg({ width: 24, height: 16, data: src }, 95), 'x.jpg');
    expect([back.width, back.height]).toEqual([24, 16]);
    let worst = 0;
    for (let i = 0; i < src.length; i++) worst = Math.max(worst, Math.abs(back.data[i] - src[i]));
    expect(worst).toBeLessThan(12);
  });

  it('writes the same bytes as jpeg-js encode() (whose tables it keeps between calls)', () => {
    const random = new Random(11);
    const src = image(19, 13, () => random.int(256));
    const rgba = new Uint8Array(19 * 13 * 4).fill(255);
    for (let p = 0; p < 19 * 13; p++) rgba.set(src.subarray(p * 3, p * 3 + 3), p * 4);
    for (const quality of [95, 90, 95]) {
      expect(new Uint8Array(encodeJpeg({ width: 19, height: 13, data: src }, quality))).toEqual(new Uint8Array(jpeg.encode({ width: 19, height: 13, data: rgba }, quality).data));
    }
  });

  it('names the file of a corrupt or truncated JPEG', async () => {
    await expect(decodeImage(new Uint8Array([1, 2, 3, 4]), 'bad.jpg')).rejects.toThrow(/^corrupt or unreadable image bad\.jpg: /);
    const whole = flatJpeg([200, 100, 50]);
    await expect(decodeImage(whole.subarray(0, Math.floor(whole.length / 2)), 'half.jpg')).rejects.toThrow(/^corrupt or unreadable image half\.jpg: /);
  });
});

describe('image folders', () => {
  const root = tempDir('index');

  it('finds JPEGs beside the CSV, in images/ and in the two part folders', () => {
    for (const sub of ['', 'images', 'HAM10000_images_part_1', 'HAM10000_images_part_2']) mkdirSync(join(root, sub), { recursive: true });
    writeFileSync(join(root, 'ISIC_1.jpg'), '');
    writeFileSync(join(root, 'images', 'ISIC_2.JPG'), '');
    writeFileSync(join(root, 'HAM10000_images_part_1', 'ISIC_3.jpeg'), '');
    writeFileSync(join(root, 'HAM10000_images_part_2', 'ISIC_4.jpg'), '');
    writeFileSync(join(root, 'images', 'notes.txt'), '');
    const found = indexImages(root);
    expect([...found.keys()].sort()).toEqual(['ISIC_1', 'ISIC_2', 'ISIC_3', 'ISIC_4']);
    expect(found.get('ISIC_3')).toBe(join(root, 'HAM10000_images_part_1', 'ISIC_3.jpeg'));
  });

  it('says which folder is missing or empty', () => {
    expect(() => indexImages(join(root, 'nope'))).toThrow(`HAM10000 folder not found: ${join(root, 'nope')}`);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => indexImages(empty)).toThrow(`no JPEG images in ${empty}`);
  });
});
