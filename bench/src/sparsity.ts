/**
 * Sparsity that pays: inference time of pruned LeNets against the dense one, on masks from pruning trained
 * weights (a checkpoint, or a LeNet trained here briefly on the embedded set; never made-up block masks).
 *   - unstructured (magnitudePrune per layer): the masked model on the dense kernels, and the same weights
 *     packed into the sparse kernels (conv2d-csr, matmul-csr), beside the theoretical speedup
 *     (dense FLOPs / nonzero FLOPs); the break-even sparsity where the sparse kernels start to win;
 *   - structured (filters of the convs, neurons of fc1 and fc2): compacted into a smaller dense LeNet, beside
 *     its theoretical speedup (dense FLOPs / compacted FLOPs).
 */
import {
  compactModel, flops, INPUT_SIZE, LeNet, loadDataset, gatherBatch, magnitudePrune, readCheckpoint, sparseNet, SparseLeNet, structuredPrune, withMasks,
  type PrunableLayer,
} from '@sparsenet/sparsenet';
import { noGrad, optim, Random, runtime, tensor, type nn, type Tensor } from '@sparsenet/tensor';
import { syntheticBatch, timeInference, TrainingStep, type HostBatch } from './lenet.js';
import type { Table } from './table.js';
import type { TimingOptions } from './timing.js';

export interface SparsityResults {
  denseImagesPerSecond: number;
  /** Speedups over dense: with the tuner's pick per layer (sparse or dense kernels), and all layers sparse. */
  unstructured: { sparsity: number; theoretical: number; speedup: number; sparseSpeedup: number }[];
  structured: { fraction: number; theoretical: number; speedup: number }[];
  /** Sparsity from which the sparse kernels beat dense (interpolated); null when they never do. */
  breakEven: number | null;
}

export interface SparsityOptions {
  quick: boolean;
  checkpoint: string | null;
  limit: number;
  timing: TimingOptions;
}

const UNSTRUCTURED = [0.5, 0.7, 0.9, 0.95, 0.98];
const STRUCTURED = [0.25, 0.5, 0.75];
const INFER_BATCH = 256;
const INPUT: [number, number] = [INPUT_SIZE, INPUT_SIZE];

export async function measureSparsity(table: Table, options: SparsityOptions): Promise<SparsityResults> {
  const model = options.checkpoint ? loadCheckpoint(options.checkpoint) : await trainBriefly(table, options.limit);
  const timing: TimingOptions = options.quick ? { warmup: 1, perBlock: 1, blocks: 3 } : { warmup: 1, perBlock: 2, blocks: 3 };
  const batch = syntheticBatch(INFER_BATCH, 99);
  try {
    const layers = await model.prunableLayers();
    const denseFlops = flops(layers, INPUT).dense;
    const dense = await timeInference(model, batch, timing);
    table.add({ section: 'sparsity', name: `dense LeNet infer b${INFER_BATCH}`, value: dense.imagesPerSecond, unit: 'img/s', note: `${dense.msPerStep.toFixed(0)} ms/batch; the baseline below`, data: { denseFlops } });
    const state = await model.stateDict();

    const unstructured: SparsityResults['unstructured'] = [];
    for (const sparsity of UNSTRUCTURED) {
      const pruned = withMasks(layers, magnitudePrune(layers, { fraction: sparsity }));
      const theoretical = flops(pruned, INPUT).theoreticalSpeedup;
      const masked = maskedModel(state, pruned);
      const packed = SparseLeNet.fromLayers(pruned);
      try {
        // Dense again right before: the machine's load drifts, and each ratio should compare like with like.
        const base = await timeInference(model, batch, timing);
        const forward = (x: Tensor) => packed.forward(x);
        const sparse = await withForcedSparse(() => timeInference(masked, batch, timing, forward));
        const auto = await timeInference(masked, batch, timing, forward);
        const maskedTime = sparsity === 0.95 ? await timeInference(masked, batch, timing) : null;
        const error = await maxDifference(masked, packed, batch);
        const speedup = auto.imagesPerSecond / base.imagesPerSecond;
        const sparseSpeedup = sparse.imagesPerSecond / base.imagesPerSecond;
        const maskedSpeedup = maskedTime ? maskedTime.imagesPerSecond / base.imagesPerSecond : null;
        const picks = await tunedPicks(packed);
        unstructured.push({ sparsity, theoretical, speedup, sparseSpeedup });
        table.add({
          section: 'sparsity', name: `unstructured ${(100 * sparsity).toFixed(0)}%`, value: speedup, unit: 'x dense', fraction: speedup / theoretical, of: `${theoretical.toFixed(1)}x theory`,
          note: `${auto.imagesPerSecond.toFixed(0)} img/s (dense ${base.imagesPerSecond.toFixed(0)}); all-sparse kernels ${sparseSpeedup.toFixed(2)}x${maskedSpeedup === null ? '' : `; masks on dense kernels ${maskedSpeedup.toFixed(2)}x`}; picks ${picks}; |sparse - masked| <= ${error.toExponential(1)}`,
          data: { sparsity, theoretical, speedup, sparseSpeedup, maskedSpeedup, imagesPerSecond: auto.imagesPerSecond, denseImagesPerSecond: base.imagesPerSecond, picks, density: Object.fromEntries(Object.entries(packed.kept).map(([k, w]) => [k, w.density])) },
        });
      } finally {
        masked.dispose();
        packed.dispose();
      }
    }
    const breakEven = findBreakEven(unstructured.map((u) => ({ sparsity: u.sparsity, speedup: u.sparseSpeedup })));
    table.add({
      section: 'sparsity', name: 'unstructured break-even (all-sparse kernels)', value: breakEven === null ? null : 100 * breakEven, unit: '% sparse',
      note: breakEven === null ? `the sparse kernels never beat dense up to ${100 * UNSTRUCTURED.at(-1)!}%` : breakEven === UNSTRUCTURED[0] ? `at or below ${100 * breakEven}%` : 'interpolated; below it the tuner keeps layers on dense kernels',
    });

    const structured: SparsityResults['structured'] = [];
    for (const fraction of STRUCTURED) {
      const filters = structuredPrune(layers, { mode: 'filters', fraction });
      const neurons = structuredPrune(withMasks(layers, filters), { mode: 'neurons', fraction });
      const lenet = { name: 'lenet', options: {}, masked: false };
      const { model: small, compaction } = await compactModel(model, model.layerGraph(), lenet, { numClasses: model.numClasses, imageSize: INPUT_SIZE, seed: 0 }, withMasks(layers, neurons));
      const theoretical = denseFlops / compaction.flops.compact.dense;
      try {
        const base = await timeInference(model, batch, timing);
        const t = await timeInference(small, batch, timing);
        const speedup = t.imagesPerSecond / base.imagesPerSecond;
        structured.push({ fraction, theoretical, speedup });
        const w = (small as LeNet).widths;
        table.add({
          section: 'sparsity', name: `structured ${(100 * fraction).toFixed(0)}% compacted`, value: speedup, unit: 'x dense', fraction: speedup / theoretical, of: `${theoretical.toFixed(2)}x theory`,
          note: `${t.imagesPerSecond.toFixed(0)} img/s (dense ${base.imagesPerSecond.toFixed(0)}); widths ${w.conv1}/${w.conv2}/${w.fc1}/${w.fc2}`,
          data: { fraction, theoretical, speedup, widths: w, imagesPerSecond: t.imagesPerSecond },
        });
      } finally {
        small.dispose();
      }
    }
    return { denseImagesPerSecond: dense.imagesPerSecond, unstructured, structured, breakEven };
  } finally {
    model.dispose();
  }
}

function loadCheckpoint(path: string): LeNet {
  const model = new LeNet({ seed: 1 });
  const { state } = readCheckpoint(path);
  // Effective weights: a SparseNet checkpoint's masks are folded in; a compacted one does not fit and throws.
  const effective: nn.StateDict = { ...state };
  for (const [name, entry] of Object.entries(state)) {
    const mask = state[name.replace(/\.(weight|bias)$/, '.$1_mask')];
    if (mask && mask !== entry) effective[name] = { ...entry, data: (entry.data as Float32Array).map((v, i) => (mask.data[i] ? v : 0)) };
  }
  model.loadStateDict(effective, { strict: false });
  return model;
}

/** A dense LeNet trained for one epoch on `limit` images of the embedded set, as the trainer's step does. */
async function trainBriefly(table: Table, limit: number): Promise<LeNet> {
  const { dataset } = await loadDataset({ limit, onWarning: () => {} });
  const model = new LeNet({ seed: 1 });
  const step = new TrainingStep(model, new optim.Adam(model.parametersWithMasks(), { lr: 1e-3 }), syntheticBatch(1, 0));
  const started = performance.now();
  const order = new Random(5).shuffle(Int32Array.from({ length: dataset.count }, (_, i) => i)) as Int32Array;
  const size = 64;
  try {
    for (let start = 0; start + size <= dataset.count; start += size) {
      const indices = order.subarray(start, start + size);
      const y = Int32Array.from(indices, (i) => dataset.labels[i]);
      step.run({ n: size, x: gatherBatch(dataset, indices), y });
    }
    const steps = Math.floor(dataset.count / size);
    const loss = (await step.sync()) / (steps * size);
    const accuracy = (await step.correct.item()) / (steps * size);
    table.note(`sparsity: trained LeNet 1 epoch on ${steps * size} images of the embedded set in ${((performance.now() - started) / 1000).toFixed(0)} s (loss ${loss.toFixed(3)}, train accuracy ${accuracy.toFixed(3)}); masks come from its weights`);
  } finally {
    step.dispose();
  }
  return model;
}

/** SparseNet with the trained weights and the pruned masks. */
function maskedModel(state: nn.StateDict, layers: PrunableLayer[]): LeNet {
  const model = sparseNet({ seed: 1 });
  const masks: nn.StateDict = {};
  for (const layer of layers) masks[`${layer.name}.weight_mask`] = { dtype: 'f32', shape: [...layer.shape], data: layer.mask };
  model.loadStateDict({ ...state, ...masks }, { strict: false });
  return model;
}

/** Runs `fn` with every sparse op forced onto its sparse kernel. */
async function withForcedSparse<T>(fn: () => Promise<T>): Promise<T> {
  const { tuner } = runtime().runner;
  tuner.force({ sparse_linear: 'sparse', sparse_conv2d: 'sparse' });
  try {
    return await fn();
  } finally {
    tuner.force({});
  }
}

/** What the tuner chose per layer, e.g. 'conv1 D conv2 S ...' (S sparse kernel, D dense, in layer order). */
async function tunedPicks(packed: SparseLeNet): Promise<string> {
  const choices = runtime().runner.tuner.export();
  return Object.entries(packed.kept)
    .map(([name, w]) => {
      const kernel = name.startsWith('conv') ? 'sparse_conv2d' : 'sparse_linear';
      const pick = Object.entries(choices).find(([key]) => key.startsWith(`${kernel}:`) && key.endsWith(`:nnz${w.nonzeros}`))?.[1].variant ?? '?';
      return `${name} ${pick === 'sparse' ? 'S' : pick === 'dense' ? 'D' : '?'}`;
    })
    .join(' ');
}

/** Largest |logit difference| between the sparse kernels and the masked dense ones on the timing batch. */
async function maxDifference(model: LeNet, packed: SparseLeNet, batch: HostBatch): Promise<number> {
  const x = tensor(batch.x, [batch.n, 3, INPUT_SIZE, INPUT_SIZE]);
  const outputs = noGrad(() => [model.forward(x), packed.forward(x)]);
  try {
    const [a, b] = (await Promise.all(outputs.map((t) => t.toArray()))) as Float32Array[];
    return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  } finally {
    [x, ...outputs].forEach((t) => t.dispose());
  }
}

function findBreakEven(points: { sparsity: number; speedup: number }[]): number | null {
  if (points[0] && points[0].speedup >= 1) return points[0].sparsity;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (b.speedup >= 1) return a.sparsity + ((1 - a.speedup) / (b.speedup - a.speedup)) * (b.sparsity - a.sparsity);
  }
  return null;
}
