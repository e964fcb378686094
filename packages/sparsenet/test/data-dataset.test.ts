import { Random } from '@sparsenet/tensor';
import { describe, expect, it } from 'vitest';
import { BatchLoader, CLASSES, gatherBatch, ImageDataset, type Batch, type SplitAssignment } from '../src/data/index.js';

const SIZE = 5;
const PIXELS = SIZE * SIZE * 3;

/** n random images with labels i % 7 (or as given), two images per lesion. */
function dataset(n: number, labelOf = (i: number) => i % CLASSES.length): ImageDataset {
  const random = new Random(3);
  const images = new Uint8Array(n * PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = random.int(256);
  const ids = Array.from({ length: n }, (_, i) => `img${i}`);
  const lesions = Array.from({ length: n }, (_, i) => `les${i >> 1}`);
  return new ImageDataset(images, Int32Array.from(ids, (_, i) => labelOf(i)), ids, lesions, SIZE, CLASSES);
}

/** Plain reference: image i as float CHW, (v/255 - mean)/std, mirrored as asked. */
function reference(data: ImageDataset, i: number, hflip: boolean, vflip: boolean, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5]): number[] {
  const out: number[] = [];
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        const sy = vflip ? SIZE - 1 - y : y;
        const sx = hflip ? SIZE - 1 - x : x;
        out.push((data.images[i * PIXELS + (sy * SIZE + sx) * 3 + c] / 255 - mean[c]) / std[c]);
      }
  return out;
}

function expectNear(got: ArrayLike<number>, ref: ArrayLike<number>): void {
  expect(got.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  expect(worst).toBeLessThan(1e-6);
}

function drain(loader: BatchLoader): Batch[] {
  return [...loader.epoch()];
}

describe('normalisation and flips', () => {
  const data = dataset(4);

  it('maps bytes to (v/255 - 0.5)/0.5 in CHW order: 0 -> -1, 255 -> 1', () => {
    const x = gatherBatch(data, [2, 0]);
    expect(x).toHaveLength(2 * PIXELS);
    expectNear(x.subarray(0, PIXELS), reference(data, 2, false, false));
    expectNear(x.subarray(PIXELS), reference(data, 0, false, false));
    const extremes = new ImageDataset(new Uint8Array(PIXELS).fill(255).fill(0, 0, 3), new Int32Array([0]), ['a'], ['a'], SIZE, CLASSES);
    const e = gatherBatch(extremes, [0]);
    expect([e[0], e[SIZE * SIZE], e[1]]).toEqual([-1, -1, 1]);
  });

  it('uses per-channel mean and std', () => {
    const normalization = { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
    expectNear(gatherBatch(data, [1], { normalization }), reference(data, 1, false, false, normalization.mean, normalization.std));
    expect(() => gatherBatch(data, [1], { normalization: { mean: [0.5], std: [0.5, 0.5, 0.5] } })).toThrow('normalization: need 3 means and 3 positive stds');
  });

  it('mirrors left-right, top-bottom and both', () => {
    const flipHorizontal = new Uint8Array([1, 0, 1, 0]);
    const flipVertical = new Uint8Array([0, 1, 1, 0]);
    const x = gatherBatch(data, [0, 1, 2, 3], { flipHorizontal, flipVertical });
    for (let b = 0; b < 4; b++) expectNear(x.subarray(b * PIXELS, (b + 1) * PIXELS), reference(data, b, flipHorizontal[b] === 1, flipVertical[b] === 1));
    expect(() => gatherBatch(data, [4])).toThrow('gatherBatch: index 4 out of range [0, 4)');
  });
});

describe('ImageDataset', () => {
  it('takes subsets and splits by an assignment, refusing leaks and gaps', () => {
    const data = dataset(6);
    const sub = data.subset([4, 1]);
    expect(sub.imageIds).toEqual(['img4', 'img1']);
    expect(sub.images.subarray(0, PIXELS)).toEqual(data.images.subarray(4 * PIXELS, 5 * PIXELS));
    const assignment: SplitAssignment = new Map([['img0', 'train'], ['img1', 'train'], ['img2', 'val'], ['img3', 'val'], ['img4', 'test'], ['img5', 'test']]);
    const parts = data.split(assignment);
    expect([parts.train.count, parts.val.count, parts.test.count]).toEqual([2, 2, 2]);
    expect(parts.test.labels).toEqual(Int32Array.from([4, 5]));
    assignment.set('img5', 'train');
    expect(() => data.split(assignment)).toThrow('ImageDataset.split: 1 groups have images on two sides (les2)');
    assignment.delete('img5');
    expect(() => data.split(assignment)).toThrow('ImageDataset.split: the split names no part for img5');
    expect(() => new ImageDataset(new Uint8Array(3), new Int32Array(1), ['a'], ['a'], SIZE, CLASSES)).toThrow('do not describe the same 1 images of 5x5x3');
  });
});

describe('BatchLoader', () => {
  const data = dataset(23);

  it('visits every image once per epoch, in a new order each epoch, with the right labels', () => {
    const loader = new BatchLoader(data, { batchSize: 5, seed: 1 });
    expect(loader.batchesPerEpoch).toBe(5);
    const first = drain(loader);
    expect(first.map((b) => b.y.length)).toEqual([5, 5, 5, 5, 3]);
    expect(first[4].shape).toEqual([3, 3, SIZE, SIZE]);
    const order = first.flatMap((b) => [...b.indices]);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    for (const b of first) {
      expect([...b.y]).toEqual([...b.indices].map((i) => data.labels[i]));
      expectNear(b.x.subarray(0, PIXELS), reference(data, b.indices[0], false, false));
    }
    const second = drain(loader).flatMap((b) => [...b.indices]);
    expect(second).not.toEqual(order);
    expect(loader.getState().epoch).toBe(2);
  });

  it('is fixed by its seed and differs across seeds; no shuffle keeps dataset order', () => {
    const run = (seed: number) => drain(new BatchLoader(data, { batchSize: 4, seed, flipHorizontal: true, flipVertical: true })).flatMap((b) => [...b.x]);
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
    const plain = drain(new BatchLoader(data, { batchSize: 10, shuffle: false, dropLast: true }));
    expect(plain.map((b) => b.indices[0])).toEqual([0, 10]);
  });

  it('flips about half of the images each way, never anything else', () => {
    const big = dataset(400);
    const counts = { h: 0, v: 0 };
    for (const batch of drain(new BatchLoader(big, { batchSize: 64, seed: 2, flipHorizontal: true, flipVertical: true }))) {
      batch.indices.forEach((i, b) => {
        const x = batch.x.subarray(b * PIXELS, (b + 1) * PIXELS);
        const match = [false, true].flatMap((h) => [false, true].map((v) => ({ h, v }))).filter(({ h, v }) => reference(big, i, h, v).every((r, k) => Math.abs(r - x[k]) < 1e-6));
        expect(match.length).toBeGreaterThan(0);
        counts.h += match[0].h ? 1 : 0;
        counts.v += match[0].v ? 1 : 0;
      });
    }
    expect(counts.h).toBeGreaterThan(160);
    expect(counts.h).toBeLessThan(240);
    expect(counts.v).toBeGreaterThan(160);
    expect(counts.v).toBeLessThan(240);
  });

  it('resumes from a saved state with exactly the same batches, mid-epoch and across epochs', () => {
    const options = { batchSize: 4, seed: 9, flipHorizontal: true, flipVertical: true };
    const reference = new BatchLoader(data, options);
    const all = [...drain(reference), ...drain(reference), ...drain(reference)];
    for (const stopAt of [0, 3, 6, 8, 13]) {
      const first = new BatchLoader(data, options);
      let seen = 0;
      while (seen < stopAt) {
        for (const _ of first.epoch()) if (++seen === stopAt) break;
      }
      const saved = JSON.parse(JSON.stringify(first.getState()));
      const resumed = new BatchLoader(data, options);
      resumed.setState(saved);
      const rest: Batch[] = [];
      while (rest.length < all.length - stopAt) rest.push(...drain(resumed));
      expect(rest.map((b) => [...b.indices]), `stop at ${stopAt}`).toEqual(all.slice(stopAt).map((b) => [...b.indices]));
      expect(rest.map((b) => [...b.x]), `stop at ${stopAt}`).toEqual(all.slice(stopAt).map((b) => [...b.x]));
    }
    expect(() => reference.setState({ epoch: 0, batch: 6, random: 1 })).toThrow('BatchLoader.setState: bad state');
  });

  it('draws classes evenly with the balanced sampler', () => {
    // 90% of images in class 5 (nv), a handful in the others.
    const skewed = dataset(700, (i) => (i < 630 ? 5 : i % 7));
    const loader = new BatchLoader(skewed, { batchSize: 100, balanced: true, samplesPerEpoch: 7000, seed: 4 });
    expect(loader.batchesPerEpoch).toBe(70);
    const counts = new Array(7).fill(0);
    for (const b of drain(loader)) for (const y of b.y) counts[y]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });

  it('refuses bad options', () => {
    expect(() => new BatchLoader(data, { batchSize: 0 })).toThrow('BatchLoader: batchSize must be a positive integer, got 0');
    expect(() => new BatchLoader(data, { batchSize: 30, dropLast: true })).toThrow('BatchLoader: 23 images make no full batch of 30 (dropLast)');
  });
});
