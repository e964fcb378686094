/**
 * Prepared images as host arrays, and float32 NCHW batches from them: normalisation, seeded random flips, seeded
 * shuffling or class-balanced sampling, with a state that a resumed run restores to draw the same batches.
 */
import { Random } from '@sparsenet/tensor';
import { CHANNELS, DEFAULT_NORMALIZATION, normalizationTable, type Normalization } from './normalization.js';
import { groupsOnSeveralSides, SPLIT_NAMES, type SplitAssignment, type SplitName } from './split.js';

/** N square RGB images as bytes [N, size, size, 3] (HWC, as decoded) with labels: label i is classes[i]. */
export class ImageDataset {
  readonly count: number;

  constructor(
    readonly images: Uint8Array,
    readonly labels: Int32Array,
    readonly imageIds: readonly string[],
    /** Per image, its group (HAM10000's lesion_id): a split keeps a group on one side. */
    readonly groups: readonly string[],
    readonly size: number,
    readonly classes: readonly string[],
  ) {
    this.count = labels.length;
    const pixels = size * size * CHANNELS;
    if (images.length !== this.count * pixels || imageIds.length !== this.count || groups.length !== this.count) {
      throw new Error(
        `ImageDataset: ${images.length} image bytes, ${labels.length} labels, ${imageIds.length} image ids and ` +
          `${groups.length} groups do not describe the same ${this.count} images of ${size}x${size}x${CHANNELS}`,
      );
    }
    for (let i = 0; i < this.count; i++) {
      if (!(labels[i] >= 0 && labels[i] < classes.length)) throw new Error(`ImageDataset: label ${labels[i]} of ${imageIds[i]} is not a class index (${classes.length} classes)`);
    }
  }

  /** Images per class, in class order. */
  classCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (const label of this.labels) counts[label]++;
    return counts;
  }

  /** A copy holding the given images, in the given order. */
  subset(indices: ArrayLike<number>): ImageDataset {
    const pixels = this.size * this.size * CHANNELS;
    const images = new Uint8Array(indices.length * pixels);
    const labels = new Int32Array(indices.length);
    const imageIds: string[] = [];
    const groups: string[] = [];
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.count)) throw new Error(`ImageDataset.subset: index ${i} out of range [0, ${this.count})`);
      images.set(this.images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
      labels[k] = this.labels[i];
      imageIds.push(this.imageIds[i]);
      groups.push(this.groups[i]);
    }
    return new ImageDataset(images, labels, imageIds, groups, this.size, this.classes);
  }

  /** The train, val and test parts named by `assignment`; throws if an image has no part or a group has two. */
  split(assignment: SplitAssignment): Record<SplitName, ImageDataset> {
    const members: Record<SplitName, number[]> = { train: [], val: [], test: [] };
    for (let i = 0; i < this.count; i++) {
      const name = assignment.get(this.imageIds[i]);
      if (name === undefined) throw new Error(`ImageDataset.split: the split names no part for ${this.imageIds[i]}`);
      members[name].push(i);
    }
    const rows = this.imageIds.map((id, i) => ({ id, group: this.groups[i] }));
    const leaks = groupsOnSeveralSides(rows, assignment);
    if (leaks.length > 0) {
      throw new Error(`ImageDataset.split: ${leaks.length} groups have images on two sides (${leaks.slice(0, 5).join(', ')}${leaks.length > 5 ? ', ...' : ''})`);
    }
    const parts = {} as Record<SplitName, ImageDataset>;
    for (const name of SPLIT_NAMES) parts[name] = this.subset(members[name]);
    return parts;
  }
}

export interface GatherOptions {
  /** Per image of the batch: 1 to mirror left-right. */
  flipHorizontal?: Uint8Array;
  /** Per image of the batch: 1 to mirror top-bottom. */
  flipVertical?: Uint8Array;
  normalization?: Normalization;
  /** Reused output, at least indices.length * 3 * size * size long. */
  out?: Float32Array;
}

/** Gathers images `indices` of a dataset into a normalised float32 [B, 3, size, size] batch, flipping where asked. */
export function gatherBatch(dataset: ImageDataset, indices: ArrayLike<number>, options: GatherOptions = {}): Float32Array {
  const { size, images } = dataset;
  const plane = size * size;
  const pixels = plane * CHANNELS;
  const out = options.out ?? new Float32Array(indices.length * pixels);
  if (out.length < indices.length * pixels) throw new Error(`gatherBatch: output holds ${out.length} floats, need ${indices.length * pixels}`);
  const table = normalizationTable(options.normalization ?? DEFAULT_NORMALIZATION);
  const rowBytes = size * CHANNELS;
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!(i >= 0 && i < dataset.count)) throw new Error(`gatherBatch: index ${i} out of range [0, ${dataset.count})`);
    const hflip = options.flipHorizontal?.[b] === 1;
    const vflip = options.flipVertical?.[b] === 1;
    // A flip is a start and a step: the source walks backwards instead of forwards.
    const xStart = hflip ? (size - 1) * CHANNELS : 0;
    const xStep = hflip ? -CHANNELS : CHANNELS;
    for (let c = 0; c < CHANNELS; c++) {
      const lut = c * 256;
      let dst = b * pixels + c * plane;
      for (let y = 0; y < size; y++) {
        let src = i * pixels + (vflip ? size - 1 - y : y) * rowBytes + xStart + c;
        for (let x = 0; x < size; x++, src += xStep) out[dst++] = table[lut + images[src]];
      }
    }
  }
  return out;
}

export interface BatchOptions {
  batchSize: number;
  /** Seed of the generator behind shuffling, sampling and flips. Default 0. */
  seed?: number;
  /** Visit images in a new random order each epoch (default true); false keeps dataset order. */
  shuffle?: boolean;
  /** Draw each image of an epoch by picking a class uniformly, then an image of it (with replacement). Default false. */
  balanced?: boolean;
  /** Images per epoch with `balanced` (default: the dataset's size). */
  samplesPerEpoch?: number;
  /** Random left-right / top-bottom mirrors, each with probability 1/2. Default false. */
  flipHorizontal?: boolean;
  flipVertical?: boolean;
  /** Leave out the last, smaller batch. Default false. */
  dropLast?: boolean;
  normalization?: Normalization;
}

export interface Batch {
  /** Normalised images, float32 [B, 3, size, size]. */
  x: Float32Array;
  /** Labels, int32 [B]. */
  y: Int32Array;
  /** Positions of the images in the dataset. */
  indices: Int32Array;
  shape: [number, number, number, number];
}

/** Where a BatchLoader stands: the epoch, the next batch in it, and the generator's state when the epoch began. */
export interface LoaderState {
  epoch: number;
  batch: number;
  random: number;
}

interface EpochPlan {
  order: Int32Array;
  flipHorizontal: Uint8Array;
  flipVertical: Uint8Array;
  /** The generator's state for the next epoch. */
  nextRandom: number;
}

/**
 * Seeded batches over a dataset. Each epoch's order and flips are drawn at its start from the saved generator
 * state, so getState() mid-epoch and setState() in a new process continue with exactly the same batches.
 */
export class BatchLoader {
  private readonly options: Required<Omit<BatchOptions, 'samplesPerEpoch'>> & { samplesPerEpoch: number };
  private readonly byClass: Int32Array[];
  private state: LoaderState;
  private plan: EpochPlan | null = null;

  constructor(
    readonly dataset: ImageDataset,
    options: BatchOptions,
  ) {
    this.options = {
      seed: 0,
      shuffle: true,
      balanced: false,
      flipHorizontal: false,
      flipVertical: false,
      dropLast: false,
      normalization: DEFAULT_NORMALIZATION,
      ...options,
      samplesPerEpoch: options.samplesPerEpoch ?? dataset.count,
    };
    const { batchSize, samplesPerEpoch } = this.options;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`BatchLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (!(Number.isInteger(samplesPerEpoch) && samplesPerEpoch >= 0)) throw new Error(`BatchLoader: samplesPerEpoch must be a whole number, got ${samplesPerEpoch}`);
    if (dataset.count === 0) throw new Error('BatchLoader: the dataset is empty');
    if (this.batchesPerEpoch === 0) throw new Error(`BatchLoader: ${this.epochSize} images make no full batch of ${batchSize} (dropLast)`);
    normalizationTable(this.options.normalization);
    const members = dataset.classes.map(() => [] as number[]);
    for (let i = 0; i < dataset.count; i++) members[dataset.labels[i]].push(i);
    this.byClass = members.filter((m) => m.length > 0).map((m) => Int32Array.from(m));
    this.state = { epoch: 0, batch: 0, random: new Random(this.options.seed).getState() };
  }

  /** Images per epoch. */
  get epochSize(): number {
    return this.options.balanced ? this.options.samplesPerEpoch : this.dataset.count;
  }

  get batchesPerEpoch(): number {
    const n = this.epochSize / this.options.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  getState(): LoaderState {
    return { ...this.state };
  }

  setState(state: LoaderState): void {
    if (!(Number.isInteger(state.epoch) && Number.isInteger(state.batch) && state.batch >= 0 && state.batch < this.batchesPerEpoch)) {
      throw new Error(`BatchLoader.setState: bad state ${JSON.stringify(state)} (${this.batchesPerEpoch} batches per epoch)`);
    }
    this.state = { ...state };
    this.plan = null;
  }

  private makePlan(): EpochPlan {
    const random = new Random(this.state.random);
    const n = this.epochSize;
    const order = new Int32Array(n);
    if (this.options.balanced) {
      for (let k = 0; k < n; k++) {
        const members = this.byClass[random.int(this.byClass.length)];
        order[k] = members[random.int(members.length)];
      }
    } else {
      for (let k = 0; k < n; k++) order[k] = k;
      if (this.options.shuffle) random.shuffle(order);
    }
    const flips = (enabled: boolean) => {
      const bits = new Uint8Array(n);
      if (enabled) for (let k = 0; k < n; k++) bits[k] = random.next() < 0.5 ? 1 : 0;
      return bits;
    };
    const flipHorizontal = flips(this.options.flipHorizontal);
    const flipVertical = flips(this.options.flipVertical);
    // The generator's state after planning is where the next epoch starts.
    return { order, flipHorizontal, flipVertical, nextRandom: random.getState() };
  }

  /** The remaining batches of the current epoch; when the last one is handed out the loader moves to the next epoch. */
  *epoch(): Generator<Batch> {
    this.plan ??= this.makePlan();
    const plan = this.plan;
    const { batchSize, normalization } = this.options;
    const total = this.batchesPerEpoch;
    const pixels = this.dataset.size * this.dataset.size * CHANNELS;
    for (let b = this.state.batch; b < total; b++) {
      const start = b * batchSize;
      const end = Math.min(start + batchSize, this.epochSize);
      const indices = plan.order.slice(start, end);
      const x = gatherBatch(this.dataset, indices, {
        flipHorizontal: plan.flipHorizontal.subarray(start, end),
        flipVertical: plan.flipVertical.subarray(start, end),
        normalization,
        out: new Float32Array(indices.length * pixels),
      });
      const y = new Int32Array(indices.length);
      for (let k = 0; k < indices.length; k++) y[k] = this.dataset.labels[indices[k]];
      // Advance before handing the batch out, so a state saved while it is in use resumes after it.
      if (b + 1 < total) this.state.batch = b + 1;
      else {
        this.state = { epoch: this.state.epoch + 1, batch: 0, random: plan.nextRandom };
        this.plan = null;
      }
      yield { x, y, indices, shape: [indices.length, CHANNELS, this.dataset.size, this.dataset.size] };
    }
  }
}
