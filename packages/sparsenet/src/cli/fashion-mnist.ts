#!/usr/bin/env node
/** CLI: node packages/sparsenet/dist/cli/fashion-mnist.js --out DIR [--from DIR] [--train-per-class N] [--test-per-class N] */
import { parseArgs } from 'node:util';
import { convertFashionMnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../data/idx.js';

const USAGE = `usage: fashion-mnist --out DIR [--from ${FASHION_MNIST_DIR}] [--train-per-class N] [--test-per-class N]
  Writes Fashion-MNIST's IDX files (apt-get install dataset-fashion-mnist) as DIR/train/<class>/*.png and
  DIR/test/<class>/*.png, 28x28 grey, the first N images of each class (default all).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, from: { type: 'string' }, 'train-per-class': { type: 'string' }, 'test-per-class': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(USAGE);
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  const count = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  const counts = await convertFashionMnist({
    from: values.from,
    out: values.out,
    trainPerClass: count(values['train-per-class'], 'train-per-class'),
    testPerClass: count(values['test-per-class'], 'test-per-class'),
  });
  for (const part of ['train', 'test'] as const) {
    console.log(`${part.padEnd(5)} ${counts[part].reduce((a, b) => a + b, 0)}: ${FASHION_MNIST_CLASSES.map((c, i) => `${c} ${counts[part][i]}`).join(', ')}`);
  }
}

main().catch((err: Error) => {
  console.error(`fashion-mnist: ${err.message}`);
  process.exitCode = 1;
});
