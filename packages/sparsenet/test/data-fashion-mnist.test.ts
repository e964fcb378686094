import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convertFashionMnist, FASHION_MNIST_CLASSES, loadSplits, readIdx } from '../src/data/index.js';
import { tempDir } from './data-fixtures.js';

const root = tempDir('fashion');

/** An unsigned-byte IDX file: magic 0x0000080N (N dimensions), big-endian dimensions, then the bytes. */
function idx(shape: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.writeUInt32BE(0x800 + shape.length, 0);
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

describe('Fashion-MNIST', () => {
  it('reads IDX files and writes split folders of grey PNGs that load back as the pixels and labels written', async () => {
    const from = join(root, 'idx');
    mkdirSync(from);
    const [h, w] = [5, 7];
    const pixelOf = (i: number, p: number) => (i * 37 + p * 7) % 256;
    for (const [prefix, n] of [['train', 40], ['t10k', 20]] as const) {
      const images = Uint8Array.from({ length: n * h * w }, (_, k) => pixelOf(Math.floor(k / (h * w)), k % (h * w)));
      const labels = Uint8Array.from({ length: n }, (_, i) => (i * 3) % 10);
      writeFileSync(join(from, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idx([n, h, w], images)));
      writeFileSync(join(from, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idx([n], labels)));
    }
    const read = readIdx(join(from, 'train-images-idx3-ubyte.gz'));
    expect(read.shape).toEqual([40, 5, 7]);
    expect(read.data[36]).toBe(pixelOf(1, 1));
    const out = join(root, 'folders');
    const counts = await convertFashionMnist({ from, out, trainPerClass: 3 });
    expect(counts.train).toEqual(FASHION_MNIST_CLASSES.map(() => 3));
    expect(counts.test).toEqual(FASHION_MNIST_CLASSES.map(() => 2));
    const loaded = await loadSplits({ dir: out, size: 7, cacheDir: false });
    expect(loaded.layout).toBe('split-folders');
    expect(loaded.classes).toEqual([...FASHION_MNIST_CLASSES].sort());
    // Image 13 of the test file: label 9 (ankle-boot), grey replicated to RGB, 5 rows stretched to 7 (PIL's BOX: nearest rows).
    const at = loaded.test.imageIds.indexOf('test/ankle-boot/00013.png');
    expect(loaded.classes[loaded.test.labels[at]]).toBe('ankle-boot');
    const first = loaded.test.images.subarray(at * 7 * 7 * 3, at * 7 * 7 * 3 + 3);
    expect([...first]).toEqual([pixelOf(13, 0), pixelOf(13, 0), pixelOf(13, 0)]);
    expect(() => readIdx(join(from, 'missing.gz'))).toThrow(`cannot read the IDX file ${join(from, 'missing.gz')}`);
    writeFileSync(join(from, 'bad.idx'), Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    expect(() => readIdx(join(from, 'bad.idx'))).toThrow(`${join(from, 'bad.idx')}: not an unsigned-byte IDX file (magic 00000d01, expected 000008xx)`);
  });

  it('ships a small split-folders copy: 10 classes, 100 training and 20 test images each, 28x28', async () => {
    const dir = fileURLToPath(new URL('../../../data/fashion-mnist-small', import.meta.url));
    const loaded = await loadSplits({ dir, size: 28, cacheDir: false });
    expect(loaded.classes).toEqual([...FASHION_MNIST_CLASSES].sort());
    expect(loaded.skipped).toEqual([]);
    expect(loaded.test.classCounts()).toEqual(FASHION_MNIST_CLASSES.map(() => 20));
    expect(loaded.train.count + loaded.val.count).toBe(1000);
    expect(loaded.val.classCounts()).toEqual(FASHION_MNIST_CLASSES.map(() => 10));
  });
});
