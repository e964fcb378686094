/**
 * What the sweep measures on a trained checkpoint: sparsity and parameter counts from its masks, FLOPs (dense
 * and effective), ShrinkBench's compression_ratio and theoretical_speedup, and inference time per image: the
 * model as trained (masks on the dense kernels, as ShrinkBench times it) and, for a pruned model, its weights
 * packed for the sparse kernels (SparseLeNet; the tuner keeps a layer dense where that is faster). For
 * structured pruning the compacted model (a smaller dense LeNet with the same outputs) is timed too. Other zoo
 * architectures get their counts and the masked model's time; FLOPs, the sparse kernels and compaction are
 * LeNet's until the layer graph (graph branch) makes them general, and their columns stay empty.
 */
import { beginScope, nn, noGrad, Random, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import { INPUT_SIZE, LeNet, type LeNetWidths } from '../model.js';
import { rebuildModel } from '../model-state.js';
import { SparseLeNet } from '../sparse-model.js';
import type { InferenceModel } from '../train/evaluate.js';
import { traceLayerGraph } from '../graph/trace.js';
import { compactLeNet, flops, prunableLayers, sparsityReport, type PrunableLayer } from '../prune/index.js';
import { readCheckpoint } from '../train/checkpoint.js';

export interface TimingOptions {
  /** Images per forward. */
  batchSize: number;
  /** Untimed forwards first (pipelines, buffers, tuning). */
  warmup: number;
  /** Timed blocks; the median block counts. */
  blocks: number;
  /** Forwards per block, all recorded before the block's one synchronisation. */
  batchesPerBlock: number;
}

export const DEFAULT_TIMING: TimingOptions = { batchSize: 256, warmup: 2, blocks: 5, batchesPerBlock: 3 };

export interface ModelCounts {
  /** Fraction of zero effective weights (weight * mask), biases excluded. */
  sparsity: number;
  /** Weights and biases. */
  params: number;
  nonzeroParams: number;
  /** Effective FLOPs per image: nonzero weights only (null: not counted for this architecture yet). */
  flops: number | null;
  denseFlops: number | null;
  /** ShrinkBench: params / nonzeroParams. */
  compressionRatio: number;
  /** ShrinkBench: denseFlops / flops. */
  theoreticalSpeedup: number | null;
}

export interface CompactMeasurement {
  widths: LeNetWidths;
  params: number;
  flops: number;
  msPerImage: number;
}

export interface Measurement extends ModelCounts {
  /** The model as trained (SparseNet: masked forward; baseline: dense LeNet). */
  msPerImage: number;
  /** A SparseNet's weights on the sparse kernels; null for a dense model. */
  sparseMsPerImage: number | null;
  compact: CompactMeasurement | null;
}

const INPUT: [number, number] = [INPUT_SIZE, INPUT_SIZE];

/** Counts of a model's layers; FLOPs only for a LeNet-shaped stack (`lenet`). */
export function modelCounts(layers: readonly PrunableLayer[], lenet = true): ModelCounts {
  const report = sparsityReport(layers);
  const count = lenet ? flops(layers, INPUT) : null;
  return {
    sparsity: report.total.sparsity,
    params: report.params.total,
    nonzeroParams: report.params.nonzero,
    flops: count?.effective ?? null,
    denseFlops: count?.dense ?? null,
    compressionRatio: report.compressionRatio,
    theoreticalSpeedup: count?.theoreticalSpeedup ?? null,
  };
}

/** A LeNet (masked when `sparse`) holding a checkpoint's weights. */
export function loadLeNet(path: string, options: { sparse: boolean }): LeNet {
  const model = new LeNet({ sparse: options.sparse });
  try {
    model.loadStateDict(readCheckpoint(path).state, { strict: false });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** The dense LeNet of compactLeNet's layers: its widths are the kept units, its weights the effective ones. */
export function compactModel(layers: readonly PrunableLayer[]): LeNet {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const width = (name: keyof LeNetWidths): number => {
    const units = byName.get(name)?.shape[0];
    if (!units) throw new Error(`compactModel: layer '${name}' has no units left (shape [${byName.get(name)?.shape ?? '?'}]); nothing to build`);
    return units;
  };
  const model = new LeNet({ widths: { conv1: width('conv1'), conv2: width('conv2'), fc1: width('fc1'), fc2: width('fc2') } });
  const state: Record<string, { dtype: 'f32'; shape: number[]; data: Float32Array }> = {};
  for (const layer of layers) {
    state[`${layer.name}.weight`] = { dtype: 'f32', shape: layer.shape, data: layer.weight.map((w, i) => (layer.mask[i] ? w : 0)) };
    if (layer.bias) state[`${layer.name}.bias`] = { dtype: 'f32', shape: [layer.bias.length], data: layer.bias.map((b, i) => (!layer.biasMask || layer.biasMask[i] ? b : 0)) };
  }
  model.loadStateDict(state);
  return model;
}

/** Seeded images in [-1, 1), [n, 3, size, size]: what the timing and the equivalence checks feed. */
export function randomImages(n: number, seed: number, size = INPUT_SIZE): Tensor {
  const random = new Random(seed);
  const data = Float32Array.from({ length: n * 3 * size * size }, () => random.uniform(-1, 1));
  return tensor(data, [n, 3, size, size]);
}

/**
 * Milliseconds of inference per image: warm-up forwards (then any kernel variants they queued are measured, so
 * that every model runs its tuned kernels), then `blocks` blocks of `batchesPerBlock` forwards with one
 * synchronisation per block; the median block divided by its images. The same loop times every model.
 */
export async function timeInference(model: InferenceModel, options: TimingOptions = DEFAULT_TIMING, imageSize = INPUT_SIZE): Promise<number> {
  const { runner } = runtime();
  const input = randomImages(options.batchSize, 1, imageSize);
  const wasTraining = model instanceof nn.Module && model.training;
  if (model instanceof nn.Module) model.eval();
  const forward = () => {
    const scope = beginScope();
    try {
      noGrad(() => model.forward(input));
    } finally {
      scope.end();
    }
  };
  try {
    for (let i = 0; i < options.warmup; i++) forward();
    await runner.sync();
    if (runner.tuner.pendingCount) {
      await runner.tuner.tunePending();
      forward();
      await runner.sync();
    }
    const samples: number[] = [];
    for (let b = 0; b < options.blocks; b++) {
      const started = performance.now();
      for (let i = 0; i < options.batchesPerBlock; i++) forward();
      await runner.sync();
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    return samples[samples.length >> 1] / (options.batchesPerBlock * options.batchSize);
  } finally {
    input.dispose();
    if (model instanceof nn.Module) model.train(wasTraining);
  }
}

/** Everything the sweep reports about a checkpoint; with `compact`, also the compacted model's size and time. */
export async function measureCheckpoint(path: string, options: { sparse: boolean; compact: boolean; timing?: TimingOptions }): Promise<Measurement> {
  const timing = options.timing ?? DEFAULT_TIMING;
  const { state, metadata } = readCheckpoint(path);
  const { model, run } = rebuildModel(state, metadata, path);
  try {
    if (!(model instanceof LeNet)) {
      const counts = modelCounts(await prunableLayers(model, traceLayerGraph(model, [run.channels, run.imageSize, run.imageSize])), false);
      return { ...counts, msPerImage: await timeInference(model, timing, run.imageSize), sparseMsPerImage: null, compact: null };
    }
    const layers = await model.prunableLayers();
    const counts = modelCounts(layers);
    const msPerImage = await timeInference(model, timing, run.imageSize);
    let sparseMsPerImage: number | null = null;
    if (options.sparse) {
      const packed = SparseLeNet.fromLayers(layers);
      try {
        sparseMsPerImage = await timeInference(packed, timing);
      } finally {
        packed.dispose();
      }
    }
    let compact: CompactMeasurement | null = null;
    if (options.compact) {
      const compaction = compactLeNet(layers, { inputSize: INPUT });
      const small = compactModel(compaction.layers);
      try {
        compact = { widths: small.widths, params: compaction.params.compact.total, flops: compaction.flops.compact.dense, msPerImage: await timeInference(small, timing) };
      } finally {
        small.dispose();
      }
    }
    return { ...counts, msPerImage, sparseMsPerImage, compact };
  } finally {
    model.dispose();
  }
}
