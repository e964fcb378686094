/** Compaction of structurally pruned LeNet into a smaller dense model with the same outputs; FLOP counts. */
import { describe, expect, it } from 'vitest';
import { compactLeNet, flops, magnitudePrune, structuredPrune, withMasks, type PrunableLayer } from '@sparsenet/sparsenet';
import { LENET_INPUT, lenetLayers, randomInput, referenceForward } from './prune-fixtures.js';

const CONV1 = 6 * 60 * 60 * 75 * 2;
const CONV2 = 16 * 26 * 26 * 150 * 2;
const FC = 2 * (2704 * 120 + 120 * 84 + 84 * 7);

/** Masked and compact models give the same outputs (float64 reference) on random 3x64x64 images. */
function expectSameOutputs(masked: readonly PrunableLayer[], compact: readonly PrunableLayer[]): void {
  for (const seed of [1, 2]) {
    const image = randomInput(3 * 64 * 64, seed);
    const want = referenceForward(masked, image, LENET_INPUT);
    const got = referenceForward(compact, image, LENET_INPUT);
    const scale = Math.max(1, ...want.map(Math.abs));
    const maxDiff = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
    expect(maxDiff, `max |compact - masked| = ${maxDiff}`).toBeLessThanOrEqual(1e-5 * scale);
    expect(want.some((v) => v !== 0)).toBe(true);
  }
}

describe('flops', () => {
  it('counts dense LeNet at 64x64: 2 * MACs per conv and linear, no bias adds', () => {
    const count = flops(lenetLayers(1), LENET_INPUT);
    expect(count.layers.map((l) => l.dense)).toEqual([CONV1, CONV2, 2 * 2704 * 120, 2 * 120 * 84, 2 * 84 * 7]);
    expect(CONV1).toBe(3_240_000);
    expect(CONV2).toBe(3_244_800);
    expect(FC).toBe(670_296);
    expect(count.dense).toBe(CONV1 + CONV2 + FC);
    expect(count.effective).toBe(count.dense);
    expect(count.theoreticalSpeedup).toBe(1);
    expect(count.layers.map((l) => l.outputSize)).toEqual([[60, 60], [26, 26], undefined, undefined, undefined]);
  });

  it('effective FLOPs: 2 * OH * OW per nonzero conv weight, 2 per nonzero linear weight', () => {
    const layers = lenetLayers(2);
    const masks = magnitudePrune(layers, { fraction: 0.5 });
    const count = flops(withMasks(layers, masks), LENET_INPUT);
    expect(count.layers.map((l) => l.effective)).toEqual([225 * 2 * 3600, 1200 * 2 * 676, 162240 * 2, 5040 * 2, 294 * 2]);
    expect(count.theoreticalSpeedup).toBeCloseTo(2, 10);
    // Shapes alone count as dense.
    expect(flops(layers.map(({ name, kind, shape }) => ({ name, kind, shape })), LENET_INPUT).effective).toBe(count.dense);
  });

  it('rejects stacks that do not chain', () => {
    const layers = lenetLayers(3);
    expect(() => flops(layers, [32, 32])).toThrow(/flops: linear 'fc1' \[120,2704\] takes 2704 inputs but 'conv2' gives 400/);
    expect(() => flops([layers[1], layers[0]], LENET_INPUT)).toThrow(/conv 'conv1' \[6,3,5,5\] takes 3 channels but 'conv2'/);
    expect(() => flops(layers, [4, 4])).toThrow(/conv 'conv1' \[6,3,5,5\] does not fit its 4x4 input/);
  });
});

describe('compactLeNet', () => {
  const expectedShapes: Record<string, Record<number, number[][]>> = {
    filters: {
      0.25: [[4, 3, 5, 5], [12, 4, 5, 5], [120, 12 * 169], [84, 120], [7, 84]],
      0.5: [[3, 3, 5, 5], [8, 3, 5, 5], [120, 8 * 169], [84, 120], [7, 84]],
      0.75: [[2, 3, 5, 5], [4, 2, 5, 5], [120, 4 * 169], [84, 120], [7, 84]],
    },
    channels: {
      0.25: [[4, 3, 5, 5], [16, 4, 5, 5], [120, 2704], [84, 120], [7, 84]],
      0.5: [[3, 3, 5, 5], [16, 3, 5, 5], [120, 2704], [84, 120], [7, 84]],
      0.75: [[2, 3, 5, 5], [16, 2, 5, 5], [120, 2704], [84, 120], [7, 84]],
    },
    neurons: {
      0.25: [[6, 3, 5, 5], [16, 6, 5, 5], [90, 2704], [63, 90], [7, 63]],
      0.5: [[6, 3, 5, 5], [16, 6, 5, 5], [60, 2704], [42, 60], [7, 42]],
      0.75: [[6, 3, 5, 5], [16, 6, 5, 5], [30, 2704], [21, 30], [7, 21]],
    },
  };

  for (const mode of ['filters', 'channels', 'neurons'] as const) {
    for (const fraction of [0.25, 0.5, 0.75]) {
      it(`${mode} at ${fraction * 100}%: smaller shapes, outputs equal to the masked model's, counts of both`, () => {
        const dense = lenetLayers(30);
        const masked = withMasks(dense, structuredPrune(dense, { mode, fraction }));
        const result = compactLeNet(masked, { inputSize: LENET_INPUT });
        expect(result.layers.map((l) => l.shape)).toEqual(expectedShapes[mode][fraction]);
        expectSameOutputs(masked, result.layers);

        const size = (layers: readonly PrunableLayer[]) => layers.reduce((a, l) => a + l.weight.length + (l.bias?.length ?? 0), 0);
        expect(result.params.masked.total).toBe(size(dense));
        expect(result.params.compact.total).toBe(size(result.layers));
        // Every kept weight is alive and nonzero: the compact model is dense.
        expect(result.params.compact.nonzero).toBe(result.params.compact.total);
        expect(result.flops.masked.dense).toBe(CONV1 + CONV2 + FC);
        expect(result.flops.compact.dense).toBe(result.flops.compact.effective);
        expect(result.flops.compact.dense).toBeLessThanOrEqual(result.flops.masked.effective);
        const [c1, c2] = result.layers;
        expect(result.flops.compact.layers[0].dense).toBe(2 * 3600 * c1.shape[0] * c1.shape[1] * 25);
        expect(result.flops.compact.layers[1].dense).toBe(2 * 676 * c2.shape[0] * c2.shape[1] * 25);
      });
    }
  }

  it('reports kept units and bakes masks into weights and biases', () => {
    const dense = lenetLayers(31);
    const masks = structuredPrune(dense, { mode: 'filters', fraction: 0.5 });
    const result = compactLeNet(withMasks(dense, masks), { inputSize: LENET_INPUT });
    const conv1Kept = [...Array(6).keys()].filter((u) => masks[0].biasMask![u] === 1);
    expect(result.layers[0].keptOutputs).toEqual(conv1Kept);
    expect(result.layers[1].keptInputs).toEqual(conv1Kept);
    expect(result.layers[2].keptInputs).toEqual(result.layers[1].keptOutputs);
    expect(result.layers[0].keptInputs).toEqual([0, 1, 2]);
    const [o, c] = [result.layers[1].keptOutputs[1], result.layers[1].keptInputs[2]];
    expect(result.layers[1].weight.slice((1 * 3 + 2) * 25, (1 * 3 + 3) * 25)).toEqual(dense[1].weight.slice((o * 6 + c) * 25, (o * 6 + c + 1) * 25));
    expect(result.layers[1].bias![1]).toBe(dense[1].bias![o]);
    expect(result.layers[4].isOutput).toBe(true);
  });

  it('combines modes and unstructured zeros, removing units that became dead or unread in cascade', () => {
    let layers = lenetLayers(32);
    layers = withMasks(layers, structuredPrune(layers, { mode: 'filters', fraction: 0.5 }));
    layers = withMasks(layers, structuredPrune(layers, { mode: 'neurons', fraction: 0.5 }));
    layers = withMasks(layers, magnitudePrune(layers, { fraction: 0.5 }));
    const masks = layers.map((l) => l.mask.slice());
    // fc2 stops reading the first two surviving fc1 neurons: they go although their rows are alive.
    const fc1Alive = [...Array(120).keys()].filter((u) => layers[2].biasMask![u] === 1);
    for (const u of fc1Alive.slice(0, 2)) for (let o = 0; o < 84; o++) masks[3][o * 120 + u] = 0;
    // fc1 stops reading conv2 filter g, the only filter still reading conv1 filter f: g goes, then f.
    const g = [...Array(16).keys()].find((u) => layers[1].biasMask![u] === 1)!;
    const f = [...Array(6).keys()].find((u) => layers[0].biasMask![u] === 1)!;
    for (let o = 0; o < 120; o++) masks[2].fill(0, o * 2704 + g * 169, o * 2704 + (g + 1) * 169);
    for (let o = 0; o < 16; o++) if (o !== g) masks[1].fill(0, (o * 6 + f) * 25, (o * 6 + f + 1) * 25);
    layers = layers.map((l, i) => ({ ...l, mask: masks[i] }));
    const result = compactLeNet(layers, { inputSize: LENET_INPUT });
    expect(result.layers.map((l) => l.shape[0])).toEqual([2, 7, 58, 42, 7]);
    expect(result.layers[3].keptInputs).toEqual(fc1Alive.slice(2));
    expect(result.layers[1].keptInputs).not.toContain(f);
    expectSameOutputs(layers, result.layers);
  });

  it('keeps a filter whose weights are pruned but whose bias is not (its output is ReLU(bias), not 0)', () => {
    const layers = lenetLayers(33);
    const mask = layers[0].mask.slice().fill(0, 0, 75);
    const bias = layers[0].bias!.slice();
    bias[0] = 0.3;
    const masked = layers.map((l, i) => (i === 0 ? { ...l, mask, bias } : l));
    const result = compactLeNet(masked, { inputSize: LENET_INPUT });
    expect(result.layers[0].shape[0]).toBe(6);
    expectSameOutputs(masked, result.layers);
    const biasMask = Float32Array.of(0, 1, 1, 1, 1, 1);
    expect(compactLeNet(masked.map((l, i) => (i === 0 ? { ...l, biasMask } : l)), { inputSize: LENET_INPUT }).layers[0].keptOutputs).toEqual([1, 2, 3, 4, 5]);
  });
});
