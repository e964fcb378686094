/**
 * What the sweep measures on a trained checkpoint of any zoo model: sparsity and parameter counts from its masks,
 * FLOPs (dense and effective, from its layer graph), ShrinkBench's compression_ratio and theoretical_speedup, and
 * inference time per image: the model as trained (masks on the dense kernels, as ShrinkBench times it) and, for
 * a pruned model, its weights packed for the sparse kernels (SparseLeNet for LeNet, SparseModel for the others;
 * the tuner keeps a layer dense where that is faster). For structured pruning the compacted model (the narrower
 * model of the same architecture, written beside the checkpoint and rebuilt from that file) is timed too.
 */
import { beginScope, nn, noGrad, Random, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import { traceLayerGraph } from '../graph/trace.js';
import { INPUT_SIZE } from '../model.js';
import { outputLayers, prunableLayers, sparsityReport, flops, type LayerGraph, type ParamCount, type PrunableLayer } from '../prune/index.js';
import { loadCheckpointModel } from '../report/checkpoint-model.js';
import { compactCheckpoint } from '../report/compact-checkpoint.js';
import type { ArchitectureSpec } from '../run-metadata.js';
import { packSparse } from '../sparse-model.js';
import type { InferenceModel } from '../train/evaluate.js';

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
  /** Every parameter, as ShrinkBench's model size counts them: the layers' weights and biases, BatchNorm's weight and bias. */
  params: number;
  nonzeroParams: number;
  /** Effective FLOPs per image: nonzero weights only. */
  flops: number;
  denseFlops: number;
  /** ShrinkBench: params / nonzeroParams. */
  compressionRatio: number;
  /** ShrinkBench: denseFlops / flops. */
  theoreticalSpeedup: number;
}

export interface CompactMeasurement {
  /** The compacted model's architecture, as its checkpoint records it. */
  architecture: ArchitectureSpec;
  /** Kept units of every layer but the output, in the layer graph's order ('3-8-60-42': LeNet's conv1-conv2-fc1-fc2). */
  widths: string;
  params: number;
  flops: number;
  msPerImage: number;
}

export interface Measurement extends ModelCounts {
  /** The model as trained (masked forward, or the dense model). */
  msPerImage: number;
  /** A pruned model's weights on the sparse kernels; null when not asked for. */
  sparseMsPerImage: number | null;
  compact: CompactMeasurement | null;
}

/**
 * Counts of a model's prunable layers over its layer graph; `others` are its remaining parameters (BatchNorm's),
 * never pruned, which ShrinkBench's model size counts too.
 */
export function modelCounts(layers: readonly PrunableLayer[], graph: LayerGraph, others: ParamCount = { total: 0, nonzero: 0 }): ModelCounts {
  const report = sparsityReport(layers);
  const count = flops(layers, graph);
  const params = report.params.total + others.total;
  const nonzeroParams = report.params.nonzero + others.nonzero;
  return {
    sparsity: report.total.sparsity,
    params,
    nonzeroParams,
    flops: count.effective,
    denseFlops: count.dense,
    compressionRatio: params / nonzeroParams,
    theoreticalSpeedup: count.theoreticalSpeedup,
  };
}

/** The parameters of `model` outside its prunable layers (BatchNorm's weight and bias), counted in its saved `state`. */
export function otherParameters(model: nn.Module, state: nn.StateDict, layers: readonly PrunableLayer[]): ParamCount {
  const own = new Set(layers.flatMap((layer) => [`${layer.name}.weight`, `${layer.name}.bias`]));
  let total = 0;
  let nonzero = 0;
  for (const [name] of model.namedParameters()) {
    if (own.has(name)) continue;
    const { data } = state[name];
    total += data.length;
    for (const v of data) if (v !== 0) nonzero++;
  }
  return { total, nonzero };
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

/**
 * Everything the sweep reports about a checkpoint; with `compact`, the file to write the compacted model to,
 * also that model's size and time (rebuilt from that file, as eval and the web page would).
 */
export async function measureCheckpoint(path: string, options: { sparse: boolean; compact: string | null; timing?: TimingOptions }): Promise<Measurement> {
  const timing = options.timing ?? DEFAULT_TIMING;
  const { model, run, state } = await loadCheckpointModel(path);
  try {
    const graph = traceLayerGraph(model, [run.channels, run.imageSize, run.imageSize]);
    const layers = await prunableLayers(model, graph);
    const counts = modelCounts(layers, graph, otherParameters(model, state, layers));
    const msPerImage = await timeInference(model, timing, run.imageSize);
    let sparseMsPerImage: number | null = null;
    if (options.sparse) {
      const packed = packSparse(model, layers, run.imageSize);
      try {
        sparseMsPerImage = await timeInference(packed, timing, run.imageSize);
      } finally {
        packed.dispose();
      }
    }
    const compact = options.compact ? await measureCompacted(path, options.compact, graph, timing) : null;
    return { ...counts, msPerImage, sparseMsPerImage, compact };
  } finally {
    model.dispose();
  }
}

/** Compacts the checkpoint at `path` into `out`, then times the model rebuilt from `out`. */
async function measureCompacted(path: string, out: string, graph: LayerGraph, timing: TimingOptions): Promise<CompactMeasurement> {
  const { architecture, compaction } = await compactCheckpoint(path, out);
  const { model, run, state } = await loadCheckpointModel(out);
  try {
    const output = new Set(outputLayers(graph));
    const widths = graph.layers.filter((layer) => !output.has(layer.name)).map((layer) => compaction.layers.find((l) => l.name === layer.name)!.shape[0]).join('-');
    const others = otherParameters(model, state, compaction.layers);
    return { architecture, widths, params: compaction.params.compact.total + others.total, flops: compaction.flops.compact.dense, msPerImage: await timeInference(model, timing, run.imageSize) };
  } finally {
    model.dispose();
  }
}
