/**
 * SparseLeNet: a pruned LeNet's weights packed for the sparse kernels give LeNet.forward's logits (to float
 * rounding) with every layer forced onto the sparse kernels, forced dense, and as the tuner picks. SparseModel:
 * the same for a residual network with BatchNorm run through its own forward.
 */
import { describe, expect, it } from 'vitest';
import { getDevice, noGrad, runtime, tensor } from '@sparsenet/tensor';
import {
  LeNet, loadLayerMasks, magnitudePrune, maskLayers, prunableLayers, randomImages, SparseLeNet, SparseModel, structuredPrune, traceLayerGraph, withMasks, type PrunableLayer,
} from '@sparsenet/sparsenet';
import { randomBatch, randomizeNorms, Twig, TWIG_INPUT } from './graph-fixtures.js';

/** A SparseNet (seeded weights) carrying `prune`'s masks, its weights and biases times them (as after pruneModel). */
async function prunedNet(prune: (layers: PrunableLayer[]) => PrunableLayer[]): Promise<LeNet> {
  const model = new LeNet({ sparse: true, seed: 3 });
  const layers = prune(await model.prunableLayers());
  const state: Record<string, { dtype: 'f32'; shape: number[]; data: Float32Array }> = {};
  for (const l of layers) {
    state[`${l.name}.weight`] = { dtype: 'f32', shape: l.shape, data: l.weight.map((w, i) => w * l.mask[i]) };
    state[`${l.name}.weight_mask`] = { dtype: 'f32', shape: l.shape, data: l.mask };
    if (l.bias && l.biasMask) {
      state[`${l.name}.bias`] = { dtype: 'f32', shape: [l.bias.length], data: l.bias.map((b, i) => b * l.biasMask![i]) };
      state[`${l.name}.bias_mask`] = { dtype: 'f32', shape: [l.biasMask.length], data: l.biasMask };
    }
  }
  model.loadStateDict(state, { strict: false });
  return model;
}

describe('SparseLeNet', () => {
  it('gives the masked model\'s logits on sparse kernels, dense kernels and the tuned mix', async () => {
    await getDevice();
    const { tuner } = runtime().runner;
    const cases = {
      'magnitude 90%': (l: PrunableLayer[]) => withMasks(l, magnitudePrune(l, { fraction: 0.9, scope: 'global' })),
      'filters 50%': (l: PrunableLayer[]) => withMasks(l, structuredPrune(l, { mode: 'filters', fraction: 0.5 })),
    };
    for (const [label, prune] of Object.entries(cases)) {
      const model = await prunedNet(prune);
      const packed = await SparseLeNet.pack(model);
      const x = randomImages(5, 11);
      try {
        const want = (await noGrad(() => model.eval().forward(x)).toArray()) as Float32Array;
        const scale = Math.max(...want.map(Math.abs));
        expect(scale).toBeGreaterThan(0);
        const kept = packed.kept;
        expect(kept.conv1.nonzeros).toBe((await model.prunableLayers())[0].mask.filter((m) => m !== 0).length);
        for (const variant of ['sparse', 'dense', null]) {
          tuner.force(variant ? { sparse_linear: variant, sparse_conv2d: variant } : {});
          const got = (await noGrad(() => packed.forward(x)).toArray()) as Float32Array;
          if (!variant) await tuner.tunePending();
          const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
          expect(worst, `${label}, ${variant ?? 'tuned'}: max |sparse - masked| = ${worst}`).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
        }
      } finally {
        tuner.force({});
        x.dispose();
        packed.dispose();
        model.dispose();
      }
    }
  });

  it('rejects an input that is not [N, 3, 64, 64]', async () => {
    const packed = await SparseLeNet.pack(new LeNet({ seed: 1 }));
    try {
      expect(() => packed.forward(tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]))).toThrow('SparseLeNet: input [1,3,32,32] is not [N, 3, 64, 64]');
    } finally {
      packed.dispose();
    }
  });
});

describe('SparseModel', () => {
  it('runs a residual network with BatchNorm on its packed layers, giving the masked model\'s outputs', async () => {
    await getDevice();
    const { tuner } = runtime().runner;
    const model = new Twig();
    maskLayers(model);
    randomizeNorms(model, 3);
    const graph = traceLayerGraph(model, TWIG_INPUT);
    const layers = await prunableLayers(model, graph);
    loadLayerMasks(model, withMasks(layers, magnitudePrune(layers, { fraction: 0.8, scope: 'global' })));
    const packed = await SparseModel.pack(model, graph);
    const x = randomBatch([3, ...TWIG_INPUT], 4);
    try {
      const masks = await prunableLayers(model, graph);
      expect(Object.keys(packed.kept)).toEqual(graph.layers.map((l) => l.name));
      expect(packed.kept['buds.1.right'].nonzeros).toBe(masks.find((l) => l.name === 'buds.1.right')!.mask.filter((m) => m !== 0).length);
      const want = (await noGrad(() => model.eval().call(x)).toArray()) as Float32Array;
      model.train();
      // Pruned further after packing, the model's own layers no longer give `want`: the packed ones must.
      loadLayerMasks(model, withMasks(masks, magnitudePrune(masks, { fraction: 0.95, scope: 'global' })));
      const scale = Math.max(...want.map(Math.abs));
      for (const variant of ['sparse', 'dense']) {
        tuner.force({ sparse_linear: variant, sparse_conv2d: variant });
        const got = (await packed.forward(x).toArray()) as Float32Array;
        const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
        expect(worst, `${variant}: max |sparse - masked| = ${worst}`).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
      }
      // The model's modes and forwards are its own again.
      expect(model.namedModules().every(([, m]) => m.training && !Object.hasOwn(m, 'forward'))).toBe(true);
    } finally {
      tuner.force({});
      x.dispose();
      packed.dispose();
      model.dispose();
    }
  });

  it('names the layers a forward computes without their modules (LeNet\'s fused ops)', async () => {
    await getDevice();
    const model = new LeNet({ sparse: true, seed: 1 });
    const packed = await SparseModel.pack(model, model.layerGraph());
    const x = randomImages(1, 2);
    try {
      expect(() => packed.forward(x)).toThrow('SparseModel: LeNet.forward computed conv1, conv2, fc1, fc2, fc3 without calling their modules (LeNet: use SparseLeNet)');
    } finally {
      x.dispose();
      packed.dispose();
      model.dispose();
    }
  });
});

