/** Magnitude and random unstructured pruning: exact counts, ordering, scope, monotone masks, seeds. */
import { describe, expect, it } from 'vitest';
import { magnitudePrune, randomPrune, withMasks, type LayerMasks, type PrunableLayer } from '@sparsenet/sparsenet';
import { countZeros, lenetLayers, prunedIndices, randomLayer, sameValues } from './prune-fixtures.js';

const pythonRound = (x: number) => (Math.abs(x - Math.floor(x) - 0.5) < 1e-12 ? 2 * Math.round(x / 2) : Math.round(x));

function twoScales(): PrunableLayer[] {
  return [randomLayer('big', 'conv', [6, 3, 5, 5], 1, 1), randomLayer('small', 'linear', [30, 20], 2, 0.01)];
}

/** Every pruned |w| <= every kept |w| over the given (layer, new mask) pairs, for entries alive before. */
function expectSmallestFirst(layers: readonly PrunableLayer[], masks: readonly LayerMasks[]): void {
  let maxPruned = -Infinity;
  let minKept = Infinity;
  layers.forEach((layer, i) => {
    layer.weight.forEach((w, j) => {
      if (layer.mask[j] === 0) return;
      if (masks[i].mask[j] === 0) maxPruned = Math.max(maxPruned, Math.abs(w));
      else minKept = Math.min(minKept, Math.abs(w));
    });
  });
  expect(maxPruned).toBeLessThanOrEqual(minKept);
}

function expectMonotone(before: readonly PrunableLayer[], after: readonly LayerMasks[]): void {
  before.forEach((layer, i) => expect(layer.mask.every((m, j) => after[i].mask[j] <= m), layer.name).toBe(true));
}

describe('magnitudePrune', () => {
  it('prunes exactly round(s * n) weights of each layer, smallest |w| first', () => {
    const layers = lenetLayers(3);
    for (const fraction of [0, 0.1, 0.25, 0.3, 0.5, 0.9, 1]) {
      const masks = magnitudePrune(layers, { fraction });
      layers.forEach((layer, i) => {
        expect(countZeros(masks[i].mask), `${layer.name} at ${fraction}`).toBe(pythonRound(fraction * layer.weight.length));
        expectSmallestFirst([layer], [masks[i]]);
      });
    }
    expect(countZeros(magnitudePrune(layers, { fraction: 0.5 })[0].mask)).toBe(225);
  });

  it('rounds half to even as PyTorch (round(0.5 * 5) = 2)', () => {
    const layer = randomLayer('tiny', 'linear', [1, 5], 4);
    expect(countZeros(magnitudePrune([layer], { fraction: 0.5 })[0].mask)).toBe(2);
    expect(countZeros(magnitudePrune([randomLayer('t', 'linear', [1, 7], 4)], { fraction: 0.5 })[0].mask)).toBe(4);
  });

  it('global scope: exactly round(s * total) zeros over all layers, smallest first, and ranks differ from per-layer', () => {
    const layers = twoScales();
    const total = layers[0].weight.length + layers[1].weight.length;
    const global = magnitudePrune(layers, { fraction: 0.5, scope: 'global' });
    expect(countZeros(global[0].mask) + countZeros(global[1].mask)).toBe(pythonRound(0.5 * total));
    expectSmallestFirst(layers, global);
    // Nearly all 525 zeros land in the 0.01-scale layer; per layer, each loses half.
    expect(countZeros(global[1].mask)).toBeGreaterThan(500);
    expect(countZeros(global[0].mask)).toBeLessThan(25);
    const perLayer = magnitudePrune(layers, { fraction: 0.5 });
    expect([countZeros(perLayer[0].mask), countZeros(perLayer[1].mask)]).toEqual([225, 300]);
  });

  it('breaks ties by index: lower indices first, layer order first in global scope', () => {
    const flat = (name: string, n: number): PrunableLayer => ({ name, kind: 'linear', shape: [1, n], weight: new Float32Array(n).fill(0.5), mask: new Float32Array(n).fill(1) });
    const [a] = magnitudePrune([flat('a', 8)], { fraction: 0.5 });
    expect(prunedIndices(a.mask)).toEqual([0, 1, 2, 3]);
    const [g1, g2] = magnitudePrune([flat('a', 4), flat('b', 4)], { fraction: 0.75, scope: 'global' });
    expect(prunedIndices(g1.mask)).toEqual([0, 1, 2, 3]);
    expect(prunedIndices(g2.mask)).toEqual([0, 1]);
  });

  it('never revives, ranks only survivors, and reaches each new target exactly across repeated calls', () => {
    for (const scope of ['layer', 'global'] as const) {
      let layers = lenetLayers(5);
      const total = layers.reduce((a, l) => a + l.weight.length, 0);
      for (const [step, fraction] of [0.3, 0.5, 0.8, 0.6, 0.95].entries()) {
        // Training moves the weights; pruned entries are given the LARGEST values, so that a pruner ranking
        // them would keep them (revive) and prune fewer survivors.
        layers = layers.map((layer, i) => {
          const next = randomLayer(layer.name, layer.kind, layer.shape, 100 * step + i, 0.1);
          layer.mask.forEach((m, j) => m === 0 && (next.weight[j] = 1000));
          return { ...layer, weight: next.weight };
        });
        const masks = magnitudePrune(layers, { fraction, scope });
        expectMonotone(layers, masks);
        if (scope === 'global') expectSmallestFirst(layers, masks);
        else layers.forEach((l, i) => expectSmallestFirst([l], [masks[i]]));
        const before = layers.reduce((a, l) => a + countZeros(l.mask), 0);
        const zeros = masks.reduce((a, m) => a + countZeros(m.mask), 0);
        if (scope === 'global') expect(zeros).toBe(Math.max(before, pythonRound(fraction * total)));
        else layers.forEach((l, i) => expect(countZeros(masks[i].mask)).toBe(Math.max(countZeros(l.mask), pythonRound(fraction * l.weight.length))));
        layers = withMasks(layers, masks);
      }
    }
  });

  it('threshold: alive weights with |w| < t go, pruned ones stay pruned', () => {
    const layer = randomLayer('fc', 'linear', [20, 30], 6);
    layer.mask[0] = 0;
    layer.weight[0] = 100;
    const [masks] = magnitudePrune([layer], { threshold: 0.5 });
    expect(masks.mask).toEqual(layer.weight.map((w, j) => (j === 0 || Math.abs(w) < 0.5 ? 0 : 1)));
  });

  it('prunes the output layer by default, only the named layers when asked, and never biases', () => {
    const layers = lenetLayers(7);
    const all = magnitudePrune(layers, { fraction: 0.5 });
    expect(countZeros(all[4].mask)).toBe(pythonRound(0.5 * 7 * 84));
    const some = magnitudePrune(layers, { fraction: 0.5, layers: ['conv2', 'fc1'], scope: 'global' });
    expect(some.map((m) => countZeros(m.mask) > 0)).toEqual([false, true, true, false, false]);
    for (const m of some) expect(countZeros(m.biasMask!)).toBe(0);
    expect(() => magnitudePrune(layers, { fraction: 0.5, layers: ['conv3'] })).toThrow(/no layer named 'conv3'/);
  });

  it('returns new arrays and leaves its inputs alone', () => {
    const layers = lenetLayers(8);
    const saved = layers.map((l) => [l.weight.slice(), l.mask.slice()]);
    const masks = magnitudePrune(layers, { fraction: 0.2 });
    layers.forEach((l, i) => {
      expect(masks[i].mask).not.toBe(l.mask);
      expect(masks[i].biasMask).not.toBe(l.biasMask);
      expect(sameValues(l.weight, saved[i][0]) && sameValues(l.mask, saved[i][1]), l.name).toBe(true);
    });
  });

  it('rejects bad inputs with errors naming the op and the layer', () => {
    const layer = randomLayer('fc', 'linear', [4, 5], 9);
    expect(() => magnitudePrune([layer], { fraction: 1.5 })).toThrow(/magnitudePrune: fraction must be in \[0, 1\]/);
    expect(() => magnitudePrune([{ ...layer, shape: [4, 6] }], { fraction: 0.5 })).toThrow(/magnitudePrune: layer 'fc' \[4,6\] has 20 weights, expected 24/);
    expect(() => magnitudePrune([{ ...layer, mask: new Float32Array(20).fill(0.5) }], { fraction: 0.5 })).toThrow(/mask\[0\] = 0.5 is not 0 or 1/);
    expect(() => magnitudePrune([layer, layer], { fraction: 0.5 })).toThrow(/appears twice/);
  });
});

describe('randomPrune', () => {
  it('prunes exactly the target count among survivors, per layer and global', () => {
    const layers = lenetLayers(10);
    for (const fraction of [0.25, 0.5, 0.75]) {
      const masks = randomPrune(layers, { fraction, seed: 1 });
      layers.forEach((l, i) => expect(countZeros(masks[i].mask)).toBe(pythonRound(fraction * l.weight.length)));
      const total = layers.reduce((a, l) => a + l.weight.length, 0);
      const global = randomPrune(layers, { fraction, seed: 1, scope: 'global' });
      expect(global.reduce((a, m) => a + countZeros(m.mask), 0)).toBe(pythonRound(fraction * total));
    }
    let current = layers;
    for (const fraction of [0.4, 0.7]) {
      const masks = randomPrune(current, { fraction, seed: 2 });
      expectMonotone(current, masks);
      current.forEach((l, i) => expect(countZeros(masks[i].mask)).toBe(pythonRound(fraction * l.weight.length)));
      current = withMasks(current, masks);
    }
  });

  it('is reproducible by seed and differs across seeds', () => {
    const layers = lenetLayers(11);
    for (const scope of ['layer', 'global'] as const) {
      const a = randomPrune(layers, { fraction: 0.5, seed: 42, scope });
      const b = randomPrune(layers, { fraction: 0.5, seed: 42, scope });
      const c = randomPrune(layers, { fraction: 0.5, seed: 43, scope });
      a.forEach((m, i) => {
        expect(sameValues(m.mask, b[i].mask), `${scope} ${m.name}: same seed`).toBe(true);
        expect(sameValues(m.mask, c[i].mask), `${scope} ${m.name}: other seed`).toBe(false);
      });
    }
  });

  it('is uniform: each weight is pruned with probability s, independent of its magnitude', () => {
    const layer = randomLayer('fc', 'linear', [4, 5], 12);
    const hits = new Float64Array(20);
    const runs = 4000;
    for (let seed = 0; seed < runs; seed++) randomPrune([layer], { fraction: 0.25, seed })[0].mask.forEach((m, j) => (hits[j] += 1 - m));
    // Binomial(4000, 0.25): sd 27, so +-5 sd = 0.034 in frequency.
    for (const h of hits) expect(Math.abs(h / runs - 0.25)).toBeLessThan(0.034);
  });

  it('global scope spreads the count over layers in proportion to their alive weights', () => {
    const layers = twoScales();
    let small = 0;
    for (let seed = 0; seed < 50; seed++) small += countZeros(randomPrune(layers, { fraction: 0.5, seed, scope: 'global' })[1].mask);
    // E = 525 * 600 / 1050 = 300 per run; magnitude does not matter.
    expect(Math.abs(small / 50 - 300)).toBeLessThan(10);
  });
});
