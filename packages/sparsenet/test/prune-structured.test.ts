/** Structured pruning: whole filters, input channels and neurons; norms, biases, the output layer, monotone masks. */
import { describe, expect, it } from 'vitest';
import { structuredPrune, withMasks, type LayerMasks, type PrunableLayer } from '@sparsenet/sparsenet';
import { lenetLayers, randomLayer } from './prune-fixtures.js';

type Mode = 'filters' | 'channels' | 'neurons';

/** Per unit along dim 0 (filters, neurons) or dim 1 (conv input channels): 'dead', 'alive' or 'partial'. */
function unitStates(shape: number[], mask: Float32Array, dim: 0 | 1): string[] {
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const outer = dim === 0 ? 1 : shape[0];
  return Array.from({ length: shape[dim] }, (_, u) => {
    let ones = 0;
    for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) ones += mask[(o * shape[dim] + u) * inner + k];
    return ones === 0 ? 'dead' : ones === outer * inner ? 'alive' : 'partial';
  });
}

function unitNorm(layer: PrunableLayer, dim: 0 | 1, u: number, norm: 'l1' | 'l2'): number {
  const inner = layer.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const outer = dim === 0 ? 1 : layer.shape[0];
  let sum = 0;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const j = (o * layer.shape[dim] + u) * inner + k;
      const w = layer.weight[j] * layer.mask[j];
      sum += norm === 'l1' ? Math.abs(w) : w * w;
    }
  }
  return norm === 'l1' ? sum : Math.sqrt(sum);
}

const pythonRound = (x: number) => (Math.abs(x - Math.floor(x) - 0.5) < 1e-12 ? 2 * Math.round(x / 2) : Math.round(x));
const PRUNED: Record<Mode, string[]> = { filters: ['conv1', 'conv2'], channels: ['conv2'], neurons: ['fc1', 'fc2'] };

describe('structuredPrune', () => {
  for (const mode of ['filters', 'channels', 'neurons'] as const) {
    for (const norm of ['l1', 'l2'] as const) {
      it(`${mode}, ${norm}: exactly round(s * units) whole units of the default layers go, the smallest norms first`, () => {
        const layers = lenetLayers(20);
        const dim = mode === 'channels' ? 1 : 0;
        for (const fraction of [0.25, 0.5, 0.75]) {
          const masks = structuredPrune(layers, { mode, fraction, norm });
          layers.forEach((layer, i) => {
            if (!PRUNED[mode].includes(layer.name)) {
              expect(masks[i].mask.every((m) => m === 1) && masks[i].biasMask!.every((m) => m === 1), `${layer.name} untouched`).toBe(true);
              return;
            }
            const states = unitStates(layer.shape, masks[i].mask, dim);
            const dead = states.flatMap((s, u) => (s === 'dead' ? [u] : []));
            expect(states.includes('partial')).toBe(false);
            expect(dead.length, `${layer.name} at ${fraction}`).toBe(pythonRound(fraction * layer.shape[dim]));
            const norms = states.map((_, u) => unitNorm(layer, dim, u, norm));
            const maxDead = Math.max(...dead.map((u) => norms[u]));
            const minAlive = Math.min(...norms.filter((_, u) => !dead.includes(u)));
            expect(maxDead).toBeLessThanOrEqual(minAlive);
            // A pruned filter or neuron takes its bias along; channel pruning leaves biases alone.
            const expectedBias = masks[i].biasMask!.map((_, u) => (dim === 0 && dead.includes(u) ? 0 : 1));
            expect([...masks[i].biasMask!]).toEqual([...expectedBias]);
          });
        }
      });
    }
  }

  it('L1 and L2 rank differently: spread weights versus one large weight', () => {
    const layer: PrunableLayer = { name: 'fc', kind: 'linear', shape: [2, 4], weight: Float32Array.of(1, 1, 1, 1, 3, 0, 0, 0), mask: new Float32Array(8).fill(1) };
    const dead = (norm: 'l1' | 'l2') => unitStates(layer.shape, structuredPrune([layer], { mode: 'neurons', fraction: 0.5, norm })[0].mask, 0);
    expect(dead('l1')).toEqual(['alive', 'dead']); // L1: 4 vs 3
    expect(dead('l2')).toEqual(['dead', 'alive']); // L2: 2 vs 3
  });

  it('ranks by the masked weights and breaks ties by index', () => {
    const layer: PrunableLayer = { name: 'fc', kind: 'linear', shape: [4, 2], weight: Float32Array.of(100, 0.1, 1, 1, 1, 1, 1, 1), mask: Float32Array.of(0, 1, 1, 1, 1, 1, 1, 1) };
    const [masks] = structuredPrune([layer], { mode: 'neurons', fraction: 0.5 });
    expect(unitStates(layer.shape, masks.mask, 0)).toEqual(['dead', 'dead', 'alive', 'alive']);
  });

  it('never prunes the output layer, and refuses it or a wrong kind when named', () => {
    const layers = lenetLayers(21);
    const masks = structuredPrune(layers, { mode: 'neurons', fraction: 0.75 });
    expect(masks[4].mask.every((m) => m === 1)).toBe(true);
    expect(() => structuredPrune(layers, { mode: 'neurons', fraction: 0.5, layers: ['fc3'] })).toThrow(/'fc3' is the output layer/);
    expect(() => structuredPrune(layers, { mode: 'filters', fraction: 0.5, layers: ['fc1'] })).toThrow(/mode 'filters' prunes conv layers, but 'fc1'/);
    // Channels of the first conv are image channels: pruned only when asked.
    expect(structuredPrune(layers, { mode: 'channels', fraction: 0.5 })[0].mask.every((m) => m === 1)).toBe(true);
    const rgb = structuredPrune(layers, { mode: 'channels', fraction: 0.34, layers: ['conv1'] })[0];
    expect(unitStates(layers[0].shape, rgb.mask, 1).filter((s) => s === 'dead').length).toBe(1);
  });

  it('is monotone across repeated calls: dead units count toward the target, only survivors are ranked', () => {
    for (const mode of ['filters', 'channels', 'neurons'] as const) {
      let layers = lenetLayers(22);
      for (const [step, fraction] of [0.25, 0.5, 0.4, 0.75].entries()) {
        // New weights each round (training), with huge values at pruned entries: ranking them would revive them.
        layers = layers.map((layer, i) => {
          const next = randomLayer(layer.name, layer.kind, layer.shape, 50 * step + i, 0.1).weight;
          layer.mask.forEach((m, j) => m === 0 && (next[j] = 1000));
          return { ...layer, weight: next };
        });
        const masks: LayerMasks[] = structuredPrune(layers, { mode, fraction });
        const dim = mode === 'channels' ? 1 : 0;
        layers.forEach((layer, i) => {
          expect(layer.mask.every((m, j) => masks[i].mask[j] <= m)).toBe(true);
          expect(layer.biasMask?.every((m, u) => masks[i].biasMask![u] <= m) ?? true).toBe(true);
          if (!PRUNED[mode].includes(layer.name)) return;
          const before = unitStates(layer.shape, layer.mask, dim).filter((s) => s === 'dead').length;
          const after = unitStates(layer.shape, masks[i].mask, dim).filter((s) => s === 'dead').length;
          expect(after).toBe(Math.max(before, pythonRound(fraction * layer.shape[dim])));
        });
        layers = withMasks(layers, masks);
      }
    }
  });

  it('masks the bias of a filter that unstructured pruning had already emptied', () => {
    const layer = randomLayer('conv', 'conv', [4, 2, 3, 3], 23);
    layer.mask.fill(0, 18, 36); // filter 1
    const [masks] = structuredPrune([layer], { mode: 'filters', fraction: 0.25 });
    expect([...masks.biasMask!]).toEqual([1, 0, 1, 1]);
    expect(unitStates(layer.shape, masks.mask, 0)).toEqual(['alive', 'dead', 'alive', 'alive']);
  });
});
