/**
 * The pruner registry: the built-in pruners by name give exactly their functions' masks, options are checked
 * against what a pruner declares, and a new criterion registered from outside is held to prune.py's contract.
 */
import { describe, expect, it } from 'vitest';
import { computeMasks, getPruner, magnitudePrune, prunerNames, randomPrune, registerPruner, structuredPrune, withMasks, type Pruner } from '@sparsenet/sparsenet';
import { lenetLayers } from './prune-fixtures.js';

describe('pruner registry', () => {
  it('finds magnitude, random and structured by name, each giving its function\'s masks', () => {
    expect(prunerNames().slice(0, 3)).toEqual(['magnitude', 'random', 'structured']);
    const layers = lenetLayers(41);
    expect(computeMasks('magnitude', layers, { sparsity: 0.7, seed: 0, options: { scope: 'global' } })).toEqual(magnitudePrune(layers, { fraction: 0.7, scope: 'global' }));
    expect(computeMasks('magnitude', layers, { sparsity: 0.7, seed: 0 })).toEqual(magnitudePrune(layers, { fraction: 0.7, scope: 'layer' }));
    expect(computeMasks('random', layers, { sparsity: 0.5, seed: 12, options: { scope: 'layer' } })).toEqual(randomPrune(layers, { fraction: 0.5, scope: 'layer', seed: 12 }));
    const filters = withMasks(layers, structuredPrune(layers, { mode: 'filters', fraction: 0.5, norm: 'l2' }));
    expect(computeMasks('structured', layers, { sparsity: 0.5, seed: 0, options: { structure: 'filters,neurons', norm: 'l2' } }))
      .toEqual(structuredPrune(filters, { mode: 'neurons', fraction: 0.5, norm: 'l2' }));
  });

  it('refuses an unknown pruner, an unknown option and a value outside its choices, naming them', () => {
    const layers = lenetLayers(42);
    expect(() => getPruner('taylor')).toThrow(/no pruner named 'taylor' \(pruners: magnitude, random, structured/);
    expect(() => computeMasks('magnitude', layers, { sparsity: 0.5, seed: 0, options: { norm: 'l1' } })).toThrow(/pruner 'magnitude': unknown option 'norm' \(options: scope\)/);
    expect(() => computeMasks('random', layers, { sparsity: 0.5, seed: 0, options: { scope: 'model' } })).toThrow(/pruner 'random': --scope takes layer, global, got 'model'/);
    expect(() => computeMasks('structured', layers, { sparsity: 0.5, seed: 0, options: { structure: 'edges' } })).toThrow(/--structure takes filters, channels, neurons/);
    expect(() => registerPruner(getPruner('random'))).toThrow(/a pruner named 'random' is already registered/);
  });

  it('takes a new criterion in one definition and holds it to the contract: one mask per layer, nothing revived', () => {
    // Largest magnitudes first, per layer: the opposite of magnitude pruning, to show a criterion is one object.
    const largest: Pruner = {
      name: 'test-largest',
      help: 'the largest |w| go',
      options: [],
      computeMasks: (layers, { sparsity }) => layers.map((layer) => {
        const order = [...layer.weight.keys()].filter((j) => layer.mask[j] !== 0).sort((a, b) => Math.abs(layer.weight[b]) - Math.abs(layer.weight[a]));
        const mask = layer.mask.slice();
        for (const j of order.slice(0, Math.round(sparsity * layer.weight.length))) mask[j] = 0;
        return { name: layer.name, mask };
      }),
    };
    registerPruner(largest);
    const layers = lenetLayers(43);
    const masks = computeMasks('test-largest', layers, { sparsity: 0.5, seed: 0 });
    const fc2 = layers[3];
    const kept = [...fc2.weight].filter((_, j) => masks[3].mask[j] === 1).map(Math.abs);
    const pruned = [...fc2.weight].filter((_, j) => masks[3].mask[j] === 0).map(Math.abs);
    expect(pruned.length).toBe(fc2.weight.length / 2);
    expect(Math.max(...kept)).toBeLessThanOrEqual(Math.min(...pruned));
    registerPruner({ ...largest, name: 'test-revives', computeMasks: (ls) => ls.map((l) => ({ name: l.name, mask: new Float32Array(l.mask.length).fill(1) })) });
    const sparse = withMasks(layers, masks);
    expect(() => computeMasks('test-revives', sparse, { sparsity: 0.5, seed: 0 })).toThrow(/pruner 'test-revives': revives weight \d+ of 'conv1', which the current mask prunes/);
    registerPruner({ ...largest, name: 'test-short', computeMasks: (ls) => ls.slice(1).map((l) => ({ name: l.name, mask: l.mask.slice() })) });
    expect(() => computeMasks('test-short', layers, { sparsity: 0.5, seed: 0 })).toThrow(/pruner 'test-short': returned 4 masks for 5 layers/);
  });
});
