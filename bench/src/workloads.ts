/** The LeNet workloads every framework runs, their FLOPs and the timing they all get. */
import { flops, INPUT_SIZE, LENET_WIDTHS, NUM_CLASSES, featureSide, type FlopLayer } from '@sparsenet/sparsenet';
import type { WorkloadTiming } from './lenet.js';
import type { TimingOptions } from './timing.js';

export const TRAIN_BATCHES = [32, 64, 128];
export const INFER_BATCH = 256;

export interface OurWorkload {
  workload: 'train' | 'infer';
  batch: number;
  timing: WorkloadTiming;
}

/** FLOPs per image from flops() on LeNet's shapes, inference and training: the 7.2 and 18.2 MFLOP. */
export function lenetFlopsPerImage(): { infer: number; train: number } {
  const w = LENET_WIDTHS;
  const layers: FlopLayer[] = [
    { name: 'conv1', kind: 'conv', shape: [w.conv1, 3, 5, 5] },
    { name: 'conv2', kind: 'conv', shape: [w.conv2, w.conv1, 5, 5] },
    { name: 'fc1', kind: 'linear', shape: [w.fc1, w.conv2 * featureSide() ** 2] },
    { name: 'fc2', kind: 'linear', shape: [w.fc2, w.fc1] },
    { name: 'fc3', kind: 'linear', shape: [NUM_CLASSES, w.fc2] },
  ];
  const count = flops(layers, [INPUT_SIZE, INPUT_SIZE]);
  return { infer: count.dense, train: count.training };
}

/**
 * The timing every LeNet workload of every framework gets: same warm-up (one step: TF.js compiles its
 * pipelines in its first step, we tune before timing), two steps per block so that a block's readback does
 * not serialise every step, and at least three blocks (more while under budget).
 */
export function workloadTiming(quick: boolean): TimingOptions {
  return quick ? { warmup: 1, perBlock: 2, blocks: 2 } : { warmup: 1, perBlock: 2, blocks: 5, budgetMs: 8000 };
}
