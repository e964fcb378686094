/**
 * IDX files (MNIST's and Fashion-MNIST's format, optionally gzipped) and the Fashion-MNIST converter: Debian's
 * dataset-fashion-mnist ships the four IDX files; this writes them as split folders of grey PNGs, so the data set
 * loads as any user's would. Nothing is downloaded.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { writeFileAtomic } from '@sparsenet/viz';

export interface IdxArray {
  /** Dimensions, outermost first. */
  shape: number[];
  data: Uint8Array;
}

/** Reads an unsigned-byte IDX file (gzipped when its name ends in .gz); throws naming the file when it is not one. */
export function readIdx(file: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
    if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
  } catch (err) {
    throw new Error(`cannot read the IDX file ${file}: ${(err as Error).message}`);
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new Error(`${file}: not an unsigned-byte IDX file (magic ${bytes.subarray(0, 4).toString('hex')}, expected 000008xx)`);
  }
  const dims = bytes[3];
  const shape = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * dims;
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== start + count) throw new Error(`${file}: ${bytes.length - start} data bytes, its header [${shape}] says ${count}`);
  return { shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, count) };
}

/** Fashion-MNIST's labels 0-9, as folder names. */
export const FASHION_MNIST_CLASSES = ['t-shirt-top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'] as const;

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface FashionMnistOptions {
  /** The folder with the four IDX files (default Debian's). */
  from?: string;
  out: string;
  /** The first N images of each class from the training file, and from the test file. Default: all. */
  trainPerClass?: number;
  testPerClass?: number;
}

/** Writes out/train/<class>/<index>.png and out/test/<class>/<index>.png (28x28 grey) and a NOTICE.md; returns images per part and class. */
export async function convertFashionMnist(options: FashionMnistOptions): Promise<Record<'train' | 'test', number[]>> {
  const from = options.from ?? FASHION_MNIST_DIR;
  const counts = { train: FASHION_MNIST_CLASSES.map(() => 0), test: FASHION_MNIST_CLASSES.map(() => 0) };
  for (const [part, prefix, perClass] of [['train', 'train', options.trainPerClass], ['test', 't10k', options.testPerClass]] as const) {
    const images = readIdx(join(from, `${prefix}-images-idx3-ubyte.gz`));
    const labels = readIdx(join(from, `${prefix}-labels-idx1-ubyte.gz`));
    const [n, height, width] = images.shape;
    if (labels.shape[0] !== n) throw new Error(`${from}: ${n} ${part} images but ${labels.shape[0]} labels`);
    for (const name of FASHION_MNIST_CLASSES) mkdirSync(join(options.out, part, name), { recursive: true });
    for (let i = 0; i < n; i++) {
      const label = labels.data[i];
      if (!(label < FASHION_MNIST_CLASSES.length)) throw new Error(`${from}: ${part} label ${i} is ${label}, not 0-9`);
      if (perClass !== undefined && counts[part][label] >= perClass) continue;
      const pixels = images.data.subarray(i * height * width, (i + 1) * height * width);
      const png = await sharp(pixels, { raw: { width, height, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer();
      writeFileSync(join(options.out, part, FASHION_MNIST_CLASSES[label], `${String(i).padStart(5, '0')}.png`), png);
      counts[part][label]++;
    }
  }
  const table = FASHION_MNIST_CLASSES.map((name, c) => `| ${name} | ${counts.train[c]} | ${counts.test[c]} |`);
  writeFileAtomic(
    join(options.out, 'NOTICE.md'),
    `# Fashion-MNIST as split folders\n\nWritten by sparsenet's fashion-mnist converter (packages/sparsenet/src/data/idx.ts) from ${from}\n` +
      `(Debian's dataset-fashion-mnist). 28x28 grey PNGs, named by their index in the IDX file; ` +
      `${options.trainPerClass === undefined ? 'every image' : `the first ${options.trainPerClass} training and ${options.testPerClass ?? 'all'} test images of each class`}.\n\n` +
      `| class | train | test |\n| --- | ---: | ---: |\n${table.join('\n')}\n\n` +
      'Fashion-MNIST: Han Xiao, Kashif Rasul, Roland Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning\n' +
      'Algorithms", arXiv:1708.07747 (2017). Copyright (c) 2017 Zalando SE, MIT licence.\n',
  );
  return counts;
}
