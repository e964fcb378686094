/**
 * Pruning at initialisation: SNIP's, GraSP's and SynFlow's scores on a small net (conv, BatchNorm, ReLU, max-pool,
 * two linears) equal PyTorch's on the same weights and batches (fixtures/init_scores.safetensors, written by
 * pytorch/fixtures/make_init_scores.py, so this runs without PyTorch); SynFlow's rounds end exactly at the target;
 * the masks never revive a weight; the model is left as found; bad input is refused naming the flag; and
 * `--prune-start 0` prunes the untrained model in a training run (random-at-init, SNIP, GraSP, SynFlow).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { memory, nn, runtime, safetensors } from '@sparsenet/tensor';
import {
  buildModel, computeMasks, computeScores, DEFAULT_TRAIN_CONFIG, graspScores, maskLayers, parseTrainArgs, prunableLayers, randomPrune, readCheckpoint, snipScores,
  synflowScores, synflowSparsities, traceLayerGraph, train, withMasks, type LayerMasks, type PrunableLayer, type TrainConfig,
} from '@sparsenet/sparsenet';
import { expectClose, useDevice } from '../../tensor/test/helpers.js';

useDevice();
// Fixed kernel variants: no tuning pass, whose many pipelines would dominate this file's time on a cold cache.
beforeAll(() => runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' }));

const { tensors: fixture, metadata } = safetensors.decode(new Uint8Array(readFileSync(new URL('./fixtures/init_scores.safetensors', import.meta.url))));
const size = Number(metadata.image_size);
const classes = Number(metadata.classes);
const PRUNABLE = ['0', '5', '7'];
const f32 = (name: string) => {
  if (!fixture[name]) throw new Error(`fixture has no tensor '${name}'`);
  return fixture[name].data as Float32Array;
};
const batches = [1, 2].map((i) => ({ x: f32(`input.${i}`), y: fixture[`labels.${i}`].data as Int32Array, shape: fixture[`input.${i}`].shape as [number, number, number, number] }));
const expected = (method: string) => PRUNABLE.map((layer) => f32(`${method}.${layer}`));

/** The fixture's net, its initial state loaded, masked (all ones), with its layer graph and layers. */
async function smallNet(): Promise<{ model: nn.Module; graph: ReturnType<typeof traceLayerGraph>; layers: PrunableLayer[] }> {
  const model = new nn.Sequential(new nn.Conv2d(3, 5, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(80, 11), new nn.ReLU(), new nn.Linear(11, classes));
  const init = Object.fromEntries(Object.entries(fixture).filter(([name]) => name.startsWith('init.')).map(([name, e]) => [name.slice(5), { dtype: e.dtype === 'I32' ? ('i32' as const) : ('f32' as const), shape: e.shape, data: e.data as Float32Array | Int32Array }]));
  model.loadStateDict(init);
  maskLayers(model);
  const graph = traceLayerGraph(model, [3, size, size]);
  return { model, graph, layers: await prunableLayers(model, graph) };
}

const flat = (arrays: readonly Float32Array[]) => Float32Array.from(arrays.flatMap((a) => [...a]));
const zeros = (masks: readonly LayerMasks[]) => masks.reduce((n, m) => n + m.mask.filter((v) => v === 0).length, 0);

describe('pruning at initialisation', () => {
  it("SNIP's and SynFlow's scores equal PyTorch's, and scoring leaves the model as it found it", async () => {
    const { model, graph, layers } = await smallNet();
    model.train();
    const before = await model.stateDict();
    const live = memory().liveBuffers;
    expectClose(flat(await snipScores(model, layers, batches)), flat(expected('snip')), 'SNIP |g * w|');
    expectClose(flat(await synflowScores(model, layers, graph.inputShape)), flat(expected('synflow')), 'SynFlow |dR/dw * w| (one round)');
    // Nothing left on the device: activations, gradients and seeds are freed.
    expect(memory().liveBuffers).toBe(live);
    // BatchNorm's running statistics (a training forward moves them), weights and masks restored; modes and gradients too.
    const after = await model.stateDict();
    for (const [name, entry] of Object.entries(before)) expect(Array.from(after[name].data), name).toEqual(Array.from(entry.data));
    expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    model.dispose();
  });

  it("GraSP's finite-difference scores equal PyTorch's double backward, and prune the largest", async () => {
    const { model, graph, layers } = await smallNet();
    const exact = flat(expected('grasp'));
    const ours = flat(await graspScores(model, layers, batches, Number(metadata.temperature)));
    // PyTorch's own float32 finite difference with the same step misses the exact scores by grasp_float32_fd_error
    // (2.7e-4) of the largest; our float32 kernels sum in other orders, so allow 10 times that.
    const bar = 10 * Number(metadata.grasp_float32_fd_error);
    expect(bar).toBeLessThan(5e-3);
    expectClose(ours, exact, 'GraSP -w * Hg', bar, 0);
    // The pruner removes the LARGEST -w * Hg: every weight it prunes scores at least as high, up to the bar, as every
    // weight it keeps (by PyTorch's exact scores).
    const scores = await computeScores('grasp', layers, { model, graph, batches, sparsity: 0.8, seed: 0 });
    const masks = flat(computeMasks('grasp', layers, { sparsity: 0.8, seed: 0, scores }).map((m) => m.mask));
    expect(masks.filter((v) => v === 0).length).toBe(Math.round(0.8 * exact.length));
    const maxScore = exact.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const lowestPruned = Math.min(...exact.filter((_, j) => masks[j] === 0));
    const highestKept = Math.max(...exact.filter((_, j) => masks[j] === 1));
    expect(highestKept - lowestPruned).toBeLessThanOrEqual(2 * bar * maxScore);
    model.dispose();
  });

  it("SynFlow's rounds reach exactly the target count, globally and per layer, never reviving a weight", async () => {
    const { model, graph, layers } = await smallNet();
    expect(synflowSparsities(0.9, 4)).toEqual([1, 2, 3].map((k) => 1 - (1 - 0.9) ** (k / 4)).concat(0.9));
    const total = layers.reduce((n, l) => n + l.weight.length, 0);
    // Already 30% sparse at random: SynFlow's 100 rounds keep those pruned and end at 90% over all layers.
    const start = withMasks(layers, randomPrune(layers, { fraction: 0.3, scope: 'layer', seed: 5 }));
    const prune = async (options: Record<string, string>) => {
      const scores = await computeScores('synflow', start, { model, graph, batches: [], sparsity: 0.9, seed: 0, options });
      return computeMasks('synflow', start, { sparsity: 0.9, seed: 0, options, scores });
    };
    const global = await prune({});
    expect(zeros(global)).toBe(Math.round(0.9 * total));
    global.forEach((m, i) => expect(m.mask.every((v, j) => start[i].mask[j] !== 0 || v === 0), m.name).toBe(true));
    // Iterating is not one-shot: the per-layer sparsities differ from those of one round at 90%.
    const oneShot = await prune({ rounds: '1' });
    expect(zeros(oneShot)).toBe(zeros(global));
    expect(oneShot.map((m) => m.mask.join(''))).not.toEqual(global.map((m) => m.mask.join('')));
    const perLayer = await prune({ scope: 'layer', rounds: '10' });
    perLayer.forEach((m, i) => expect(m.mask.filter((v) => v === 0).length, m.name).toBe(Math.round(0.9 * layers[i].weight.length)));
    // The rounds set the model's masks; they are restored afterwards.
    const masks = await prunableLayers(model, graph);
    masks.forEach((l) => expect(l.mask.every((v) => v === 1), l.name).toBe(true));
    model.dispose();
  });

  it('refuses bad input naming the flag: a sparsity of 1, unknown or bad options, no scores, no batches', async () => {
    const { model, graph, layers } = await smallNet();
    const context = { model, graph, batches, seed: 0 };
    await expect(computeScores('snip', layers, { ...context, sparsity: 1 })).rejects.toThrow(/pruner 'snip': --sparsity must be in \[0, 1\) \(1 would prune every weight\), got 1/);
    expect(() => computeMasks('synflow', layers, { sparsity: 1, seed: 0, scores: layers.map((l) => l.weight) })).toThrow(/pruner 'synflow': --sparsity must be in \[0, 1\)/);
    await expect(computeScores('grasp', layers, { ...context, sparsity: 0.5, options: { temprature: '100' } })).rejects.toThrow(/pruner 'grasp': unknown option 'temprature' \(options: scope, temperature\)/);
    await expect(computeScores('grasp', layers, { ...context, sparsity: 0.5, options: { temperature: '-1' } })).rejects.toThrow(/pruner 'grasp': --temperature must be a positive number, got '-1'/);
    await expect(computeScores('synflow', layers, { ...context, sparsity: 0.5, options: { rounds: '2.5' } })).rejects.toThrow(/pruner 'synflow': --rounds must be a positive integer, got '2.5'/);
    await expect(computeScores('synflow', layers, { ...context, sparsity: 0.5, options: { scope: 'model' } })).rejects.toThrow(/pruner 'synflow': --scope takes layer, global, got 'model'/);
    await expect(computeScores('snip', layers, { ...context, batches: [], sparsity: 0.5 })).rejects.toThrow(/pruner 'snip': needs at least one training batch to score on \(--score-batches\)/);
    expect(() => computeMasks('snip', layers, { sparsity: 0.5, seed: 0 })).toThrow(/pruner 'snip': ranks by scores computed on the model; run its scoring step first/);
    expect(() => parseTrainArgs(['--pruner', 'grasp', '--sparsity', '1'])).toThrow(/train: --sparsity must be in \[0, 1\), got 1/);
    expect(() => parseTrainArgs(['--pruner', 'snip', '--score-batches', '0'])).toThrow(/train: --score-batches must be an integer >= 1, got 0/);
    expect(parseTrainArgs(['--pruner', 'synflow', '--prune-start', '0']).config).toMatchObject({ pruner: 'synflow', model: 'sparsenet', pruneStart: 0 });
    model.dispose();
  });

  it('--prune-start 0 prunes the untrained model: random-at-init gets random\'s masks, snip, grasp and synflow their global target', async () => {
    // A one-stage VGG (conv 3x3, BatchNorm, ReLU, max-pool, linear) at 16x16: the kernels of the small net above.
    const arch = { name: 'vgg', options: { stages: [[5]] } };
    const base: TrainConfig = {
      ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', arch: arch.name, archOptions: JSON.stringify(arch.options), imageSize: 16,
      scope: 'global', sparsity: 0.9, schedule: 'oneshot', pruneStart: 0, limit: 40, epochs: 1, batchSize: 16, report: false,
    };
    const out = (name: string) => join(mkdtempSync(join(tmpdir(), 'sparsenet-init-')), name);
    const random = await train({ ...base, pruner: 'random', out: out('random') }, { log: () => {} });
    // The event at step 0 prunes with seed 0 * 1000 + 0; random masks do not depend on the weights, so the
    // untrained model's layers give them.
    const init = buildModel({ ...arch, masked: true }, { numClasses: 7, imageSize: 16, seed: 0 });
    const initLayers = await prunableLayers(init, traceLayerGraph(init, [3, 16, 16]));
    init.dispose();
    const { state } = readCheckpoint(join(random.outDir, 'final.safetensors'));
    for (const m of randomPrune(initLayers, { fraction: 0.9, scope: 'global', seed: 0 })) expect(Array.from(state[`${m.name}.weight_mask`].data), m.name).toEqual(Array.from(m.mask));
    const total = initLayers.reduce((n, l) => n + l.weight.length, 0);
    for (const pruner of ['snip', 'grasp', 'synflow'] as const) {
      const run = await train({ ...base, pruner, out: out(pruner) }, { log: () => {} });
      const masks = readCheckpoint(join(run.outDir, 'final.safetensors')).state;
      expect(initLayers.reduce((n, l) => n + Array.from(masks[`${l.name}.weight_mask`].data).filter((v) => v === 0).length, 0), pruner).toBe(Math.round(0.9 * total));
      // Global: the 90% spread unevenly over the layers.
      expect(new Set(Object.values(run.final.layerSparsity).map((s) => s.toFixed(2))).size, pruner).toBeGreaterThan(1);
    }
  });
});
