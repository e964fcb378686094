/**
 * SparseLeNet: a pruned LeNet's weights packed for the sparse kernels give LeNet.forward's logits (to float
 * rounding) with every layer forced onto the sparse kernels, forced dense, and as the tuner picks.
 */
import { describe, expect, it } from 'vitest';
import { getDevice, noGrad, runtime, tensor } from '@sparsenet/tensor';
import { LeNet, magnitudePrune, randomImages, SparseLeNet, structuredPrune, withMasks, type PrunableLayer } from '@sparsenet/sparsenet';

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
