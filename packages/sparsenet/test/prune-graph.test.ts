/**
 * The layer graph traced from a user's residual network (graph-fixtures.ts) and from LeNet: the groups found, the
 * structured masks over them, the compacted shapes and the compacted model's outputs, all checked exactly; and
 * the errors for an op the graph does not follow and for masks of the wrong shape.
 */
import { describe, expect, it } from 'vitest';
import { flatten, getDevice, mul, nn, type Tensor } from '@sparsenet/tensor';
import {
  compactLayers, compactLeNet, compactStateDict, DEFAULT_TRAIN_CONFIG, flops, LeNet, loadLayerMasks, maskLayers, outputLayers, prunableLayers, pruneModel, stackGraph,
  structuredPrune, traceLayerGraph, withMasks, type LayerGraph, type PrunableLayer,
} from '@sparsenet/sparsenet';
import { output, Pooled, randomBatch, randomizeNorms, Twig, TWIG_INPUT } from './graph-fixtures.js';

async function maskedTwig(): Promise<{ model: Twig; graph: LayerGraph; layers: PrunableLayer[] }> {
  await getDevice();
  const model = new Twig();
  maskLayers(model);
  randomizeNorms(model, 5);
  const graph = traceLayerGraph(model, TWIG_INPUT);
  return { model, graph, layers: await prunableLayers(model, graph) };
}

/** The `count` channels with the smallest summed L1 norm of the producers' filters, ties to the lower index. */
function smallestChannels(layers: PrunableLayer[], producers: string[], count: number): number[] {
  const rows = producers.map((name) => layers.find((l) => l.name === name)!);
  const channels = rows[0].shape[0];
  const norm = (c: number) => rows.reduce((sum, l) => {
    const size = l.weight.length / channels;
    return sum + l.weight.slice(c * size, (c + 1) * size).reduce((a, w) => a + Math.abs(w), 0);
  }, 0);
  return [...Array(channels).keys()].sort((a, b) => norm(a) - norm(b) || a - b).slice(0, count).sort((a, b) => a - b);
}

describe('traceLayerGraph', () => {
  it('finds the layers, the groups joined by residual adds, their BatchNorms and the flatten block of a user\'s network', async () => {
    const { model, graph, layers } = await maskedTwig();
    try {
      expect(graph.inputShape).toEqual([3, 12, 12]);
      expect(graph.layers).toEqual([
        { name: 'classifier', kind: 'linear', shape: [3, 10], input: { group: 2, block: 1 }, output: 1 },
        { name: 'hidden', kind: 'linear', shape: [10, 72], input: { group: 6, block: 9 }, output: 2 },
        { name: 'entry', kind: 'conv', shape: [6, 3, 3, 3], input: { group: 0, block: 1 }, output: 3, outputSize: [6, 6] },
        { name: 'buds.0.left', kind: 'conv', shape: [5, 6, 3, 3], input: { group: 3, block: 1 }, output: 4, outputSize: [6, 6] },
        { name: 'buds.0.right', kind: 'conv', shape: [6, 5, 3, 3], input: { group: 4, block: 1 }, output: 3, outputSize: [6, 6] },
        { name: 'buds.1.left', kind: 'conv', shape: [7, 6, 3, 3], input: { group: 3, block: 1 }, output: 5, outputSize: [3, 3] },
        { name: 'buds.1.right', kind: 'conv', shape: [8, 7, 3, 3], input: { group: 5, block: 1 }, output: 6, outputSize: [3, 3] },
        { name: 'buds.1.skip', kind: 'conv', shape: [8, 6, 1, 1], input: { group: 3, block: 1 }, output: 6, outputSize: [3, 3] },
      ]);
      expect(graph.groups).toEqual([
        { id: 0, channels: 3, producers: [], consumers: ['entry'], norms: [], fixed: 'input', zeroWhenPruned: true },
        { id: 1, channels: 3, producers: ['classifier'], consumers: [], norms: [], fixed: 'output', zeroWhenPruned: true },
        { id: 2, channels: 10, producers: ['hidden'], consumers: ['classifier'], norms: [], fixed: null, zeroWhenPruned: true },
        {
          id: 3, channels: 6, producers: ['entry', 'buds.0.right'], consumers: ['buds.0.left', 'buds.1.left', 'buds.1.skip'],
          norms: ['entryNorm', 'buds.0.rightNorm'], fixed: null, zeroWhenPruned: false,
        },
        { id: 4, channels: 5, producers: ['buds.0.left'], consumers: ['buds.0.right'], norms: ['buds.0.leftNorm'], fixed: null, zeroWhenPruned: false },
        { id: 5, channels: 7, producers: ['buds.1.left'], consumers: ['buds.1.right'], norms: ['buds.1.leftNorm'], fixed: null, zeroWhenPruned: false },
        {
          id: 6, channels: 8, producers: ['buds.1.right', 'buds.1.skip'], consumers: ['hidden'],
          norms: ['buds.1.rightNorm', 'buds.1.skipNorm'], fixed: null, zeroWhenPruned: false,
        },
      ]);
      // The classifier is registered first; the graph, not the order, makes it the output layer.
      expect(outputLayers(graph)).toEqual(['classifier']);
      expect(layers.map((l) => [l.name, l.isOutput])).toEqual(graph.layers.map((l) => [l.name, l.name === 'classifier']));
      // Tracing leaves the modules' modes and BatchNorm's running statistics alone.
      expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
      const before = await model.stateDict();
      traceLayerGraph(model, TWIG_INPUT);
      const after = await model.stateDict();
      for (const [name, entry] of Object.entries(before)) expect([name, after[name].data]).toEqual([name, entry.data]);
      expect(flops(layers, graph).dense).toBe(2 * (36 * (162 + 270 + 270) + 9 * (378 + 504 + 48)) + 2 * (720 + 30));
    } finally {
      model.dispose();
    }
  });

  it('follows Dropout and global average pooling to a linear layer reading one feature per channel', async () => {
    await getDevice();
    const model = new Pooled();
    try {
      const graph = traceLayerGraph(model.train(), [3, 5, 5]);
      expect(graph.layers).toEqual([
        { name: 'features.0', kind: 'conv', shape: [4, 3, 3, 3], input: { group: 0, block: 1 }, output: 1, outputSize: [3, 3] },
        { name: 'fc', kind: 'linear', shape: [2, 4], input: { group: 1, block: 1 }, output: 2 },
      ]);
      expect(graph.groups[1]).toEqual({ id: 1, channels: 4, producers: ['features.0'], consumers: ['fc'], norms: ['features.1'], fixed: null, zeroWhenPruned: false });
      expect(outputLayers(graph)).toEqual(['fc']);
      expect((model.features.at(3) as nn.Dropout).step).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it('traces LeNet into the graph of its layer stack, fc3 the output', async () => {
    await getDevice();
    const model = new LeNet({ sparse: true, seed: 2 });
    try {
      const graph = traceLayerGraph(model, [3, 64, 64]);
      const layers = await prunableLayers(model, graph);
      expect(graph).toEqual(stackGraph('compactLeNet', layers, [64, 64]));
      expect(layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
      expect(layers.map((l) => l.isOutput)).toEqual([false, false, false, false, true]);
      expect(graph.layers[2].input.block).toBe(13 * 13);
      // LeNet keeps zeros through ReLU and pooling: over its graph the pruners and compaction give today's results.
      for (const mode of ['filters', 'channels', 'neurons'] as const) {
        expect(structuredPrune(layers, { mode, fraction: 0.5, graph })).toEqual(structuredPrune(layers, { mode, fraction: 0.5 }));
      }
      const pruned = withMasks(layers, structuredPrune(layers, { mode: 'filters', fraction: 0.5, graph }));
      expect(compactLayers(pruned, graph)).toEqual(compactLeNet(pruned, { inputSize: [64, 64] }));
    } finally {
      model.dispose();
    }
  });

  it('names the op and the module it does not follow, and a layer applied twice', async () => {
    await getDevice();
    class Gate extends nn.Module {
      forward(x: Tensor): Tensor {
        return mul(x, x);
      }
    }
    class Gated extends nn.Module {
      readonly stem = this.registerModule('stem', new nn.Conv2d(3, 2, 3, { seed: 1 }));
      readonly gate = this.registerModule('gate', new Gate());
      readonly head = this.registerModule('head', new nn.Linear(2 * 4 * 4, 2, { seed: 2 }));
      forward(x: Tensor): Tensor {
        return this.head.call(flatten(this.gate.call(this.stem.call(x))));
      }
    }
    const gated = new Gated();
    expect(() => traceLayerGraph(gated, [3, 6, 6])).toThrow(/traceLayerGraph\(Gated\): not a layer, a channel-wise op, a sum or a flatten: op 'mul' \(mul\(\[1,2,4,4\], \[1,2,4,4\]\)\) in module 'gate' \(Gate\)/);
    expect(gated.namedModules().every(([, m]) => m.training && !Object.hasOwn(m, 'forward'))).toBe(true);
    gated.dispose();
    class Twice extends nn.Module {
      readonly conv = this.registerModule('conv', new nn.Conv2d(2, 2, 1, { seed: 3 }));
      forward(x: Tensor): Tensor {
        return this.conv.call(this.conv.call(x));
      }
    }
    expect(() => traceLayerGraph(new Twice(), [2, 3, 3])).toThrow(/layer 'conv' is applied twice/);
    expect(() => traceLayerGraph(new Twice(), [2, 3])).toThrow(/input shape must be \[C, H, W\]/);
  });
});

describe('structured pruning over the layer graph', () => {
  it('prunes each group\'s channels together, ranked by the summed norm, masking every consumer behind a BatchNorm', async () => {
    const { model, graph, layers } = await maskedTwig();
    try {
      const filters = structuredPrune(layers, { mode: 'filters', fraction: 0.5, graph });
      const neurons = structuredPrune(layers, { mode: 'neurons', fraction: 0.5, graph });
      const expected = new Map(layers.map((l) => [l.name, new Float32Array(l.mask.length).fill(1)]));
      const prunedOf: Record<number, number[]> = {};
      // Python rounding of half the channels: 6 -> 3, 5 -> 2, 7 -> 4, 8 -> 4.
      const counts: Record<number, number> = { 3: 3, 4: 2, 5: 4, 6: 4 };
      for (const group of graph.groups.filter((g) => g.id >= 3)) {
        const pruned = smallestChannels(layers, group.producers, counts[group.id]);
        prunedOf[group.id] = pruned;
        for (const name of group.producers) {
          const size = expected.get(name)!.length / group.channels;
          for (const c of pruned) expected.get(name)!.fill(0, c * size, (c + 1) * size);
        }
        for (const name of group.consumers) {
          const layer = graph.layers.find((l) => l.name === name)!;
          const [out, inputs] = layer.shape;
          const perChannel = layer.kind === 'conv' ? layer.shape[2] * layer.shape[3] : layer.input.block;
          const row = inputs * (layer.kind === 'conv' ? perChannel : 1);
          for (let o = 0; o < out; o++) for (const c of pruned) expected.get(name)!.fill(0, o * row + c * perChannel, o * row + (c + 1) * perChannel);
        }
      }
      for (const m of filters) expect([m.name, [...m.mask]]).toEqual([m.name, [...expected.get(m.name)!]]);
      expect(filters.find((m) => m.name === 'entry')!.biasMask).toEqual(Float32Array.from({ length: 6 }, (_, c) => (prunedOf[3].includes(c) ? 0 : 1)));
      // hidden's neurons keep zeros (no BatchNorm): the classifier still reads them, compaction drops them.
      const hiddenPruned = smallestChannels(layers, ['hidden'], 5);
      const hiddenMask = new Float32Array(720).fill(1);
      for (const c of hiddenPruned) hiddenMask.fill(0, c * 72, (c + 1) * 72);
      expect(neurons.find((m) => m.name === 'hidden')!.mask).toEqual(hiddenMask);
      expect(neurons.find((m) => m.name === 'classifier')!.mask.every((v) => v === 1)).toBe(true);
      expect(() => structuredPrune(layers, { mode: 'neurons', fraction: 0.5, graph, layers: ['classifier'] })).toThrow(/'classifier' is the output layer/);
      expect(() => structuredPrune(layers.slice(1), { mode: 'filters', fraction: 0.5, graph })).toThrow(/the layers do not match the layer graph \(missing classifier\)/);
    } finally {
      model.dispose();
    }
  });

  it('compacts into a narrower model of the same class whose outputs equal the masked model\'s in training and evaluation', async () => {
    const { model, graph } = await maskedTwig();
    const config = { ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet' as const, pruner: 'structured' as const, structure: 'filters,neurons' };
    await pruneModel(model, graph, config, 0.5, 0);
    const layers = await prunableLayers(model, graph);
    const compaction = compactLayers(layers, graph);
    expect(compaction.layers.map((l) => [l.name, l.shape])).toEqual([
      ['classifier', [3, 5]], ['hidden', [5, 36]], ['entry', [3, 3, 3, 3]], ['buds.0.left', [3, 3, 3, 3]], ['buds.0.right', [3, 3, 3, 3]],
      ['buds.1.left', [3, 3, 3, 3]], ['buds.1.right', [4, 3, 3, 3]], ['buds.1.skip', [4, 3, 1, 1]],
    ]);
    expect(compaction.keptNorms['buds.0.rightNorm']).toEqual(compaction.keptChannels[3]);
    expect(compaction.flops.compact.dense).toBe(2 * (36 * (81 + 81 + 81) + 9 * (81 + 108 + 12)) + 2 * (180 + 15));
    const width = (name: string) => compaction.layers.find((l) => l.name === name)!.shape[0];
    const small = new Twig({ trunk: width('entry'), inner: width('buds.0.left'), widen: width('buds.1.left'), out: width('buds.1.right'), hidden: width('hidden') });
    maskLayers(small);
    try {
      small.loadStateDict(compactStateDict(await model.stateDict(), compaction));
      const x = randomBatch([4, ...TWIG_INPUT], 9);
      for (const training of [true, false]) {
        const want = await output(model, x, training);
        const got = await output(small, x, training);
        const scale = Math.max(...want.map(Math.abs));
        expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThanOrEqual(1e-5 * scale);
      }
      // The training-mode forward updated both models' running statistics alike.
      const [big, narrow] = [await model.stateDict(), await small.stateDict()];
      expect(narrow['entryNorm.running_var'].data).toEqual(Float32Array.from(compaction.keptNorms.entryNorm, (c) => big['entryNorm.running_var'].data[c]));
      x.dispose();
    } finally {
      small.dispose();
      model.dispose();
    }
  });

  it('refuses masks of the wrong shape or for a layer without masks, naming the layer and the shapes, writing nothing', async () => {
    const { model, layers } = await maskedTwig();
    try {
      const before = await model.stateDict();
      const bad = layers.map((l) => (l.name === 'buds.0.left' ? { ...l, shape: [5, 6, 3], mask: new Float32Array(90) } : { ...l, mask: new Float32Array(l.mask.length) }));
      expect(() => loadLayerMasks(model, bad)).toThrow(/loadLayerMasks: layer 'buds.0.left' is \[5,6,3,3\] but the mask given is \[5,6,3\] \(90 entries\)/);
      expect(() => withMasks(layers, [{ name: 'entry', mask: new Float32Array(3) }])).toThrow(/mask for 'entry' has 3 entries, expected 162/);
      const plain = new Twig();
      expect(() => loadLayerMasks(plain, layers)).toThrow(/layer 'classifier' has no weight_mask; mask the model first/);
      plain.dispose();
      const after = await model.stateDict();
      for (const [name, entry] of Object.entries(before)) expect(after[name].data).toEqual(entry.data);
    } finally {
      model.dispose();
    }
  });
});
