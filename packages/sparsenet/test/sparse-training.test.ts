import { describe, expect, it } from 'vitest';
import { Random } from '@sparsenet/tensor';
import {
  computeMasks, dropAndGrow, gradualSchedule, isUpdateStep, layerBudgets, layerDensities, nmKeptPerGroup, nmLayerMasks, nmMask, parseNmPattern, parseTrainArgs, rigLDropFraction, rigLGrowScore,
  setGrowScore, type PrunableLayer,
} from '@sparsenet/sparsenet';

const random = new Random(7);
const layer = (name: string, shape: number[], kind: 'conv' | 'linear' = shape.length === 4 ? 'conv' : 'linear'): PrunableLayer => {
  const size = shape.reduce((a, b) => a * b, 1);
  return { name, kind, shape, weight: Float32Array.from({ length: size }, () => random.normal()), mask: new Float32Array(size).fill(1), bias: new Float32Array(shape[0]) };
};

describe('N:M sparsity', () => {
  it('keeps exactly N in every group of M along the input dimension, the N largest', () => {
    const fc = layer('fc', [6, 12]);
    const conv = layer('conv', [5, 2, 2, 2]);
    for (const [l, pattern] of [[fc, { n: 2, m: 4 }], [conv, { n: 1, m: 4 }], [fc, { n: 3, m: 6 }]] as const) {
      const mask = nmMask(l, pattern);
      for (let g = 0; g < l.weight.length; g += pattern.m) {
        const group = Array.from({ length: pattern.m }, (_, i) => g + i);
        const kept = group.filter((i) => mask[i] === 1);
        expect(kept).toHaveLength(pattern.n);
        const smallestKept = Math.min(...kept.map((i) => Math.abs(l.weight[i])));
        const largestDropped = Math.max(...group.filter((i) => mask[i] === 0).map((i) => Math.abs(l.weight[i])));
        expect(smallestKept).toBeGreaterThanOrEqual(largestDropped);
      }
    }
  });

  it('never revives a pruned weight', () => {
    const fc = layer('fc', [2, 8]);
    fc.mask.fill(0, 0, 3);
    const mask = nmMask(fc, { n: 2, m: 4 });
    expect(Array.from(mask.subarray(0, 4))).toEqual([0, 0, 0, 1]);
    expect(mask.subarray(4, 8).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("leaves layers whose input dimension M does not divide dense, naming them; naming one is an error", () => {
    // LeNet's conv1 (3*5*5 = 75) and conv2 (6*5*5 = 150) do not split into groups of 4.
    const layers = [layer('conv1', [6, 3, 5, 5]), layer('conv2', [16, 6, 5, 5]), layer('fc1', [120, 400]), layer('fc3', [7, 84])];
    const { masks, skipped } = nmLayerMasks(layers, parseNmPattern('2:4'));
    expect(skipped).toEqual(['conv1', 'conv2']);
    expect(masks[0].mask.every((v) => v === 1)).toBe(true);
    expect(masks[2].mask.reduce((a, b) => a + b, 0)).toBe(120 * 400 / 2);
    expect(() => nmLayerMasks(layers, { n: 2, m: 4 }, ['fc1', 'conv1'])).toThrow(/layer 'conv1' \[6,3,5,5\] was named, but its input dimension 75 is not a multiple of 4/);
    expect(() => nmLayerMasks(layers, { n: 2, m: 4 }, ['fc9'])).toThrow(/no prunable layer 'fc9'/);
    expect(() => parseNmPattern('4:2')).toThrow(/--nm 4:2: N must be at least 1 and below M/);
    expect(() => parseNmPattern('2-4')).toThrow(/--nm must look like N:M/);
  });
});

describe('per-layer density budgets', () => {
  const layers = [
    { name: 'conv1', shape: [6, 3, 5, 5] },
    { name: 'conv2', shape: [16, 6, 5, 5] },
    { name: 'fc1', shape: [120, 2704] },
    { name: 'fc2', shape: [84, 120] },
    { name: 'fc3', shape: [7, 84] },
  ];
  const sizes = layers.map((l) => l.shape.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const kept = (d: number[]) => d.reduce((s, v, i) => s + v * sizes[i], 0);

  it('uniform: every layer at 1 - S, or the rest at what the dense ones leave', () => {
    expect(layerDensities(layers, 0.9, 'uniform')).toEqual(layers.map(() => expect.closeTo(0.1, 12)));
    const d = layerDensities(layers, 0.9, 'uniform', { dense: ['conv1'] });
    expect(d[0]).toBe(1);
    expect(kept(d)).toBeCloseTo(0.1 * total, 6);
  });

  it("ERK: density proportional to sum(shape) / prod(shape), saturated layers dense, the total at 1 - S (the paper's formula)", () => {
    const sparsity = 0.9;
    const d = layerDensities(layers, sparsity, 'erk');
    expect(kept(d)).toBeCloseTo((1 - sparsity) * total, 6);
    const raw = layers.map((l, i) => l.shape.reduce((a, b) => a + b, 0) / sizes[i]);
    // Unsaturated layers share one factor: density / raw is the same for each.
    const free = d.map((v, i) => [v, i] as const).filter(([v]) => v < 1);
    const factor = free[0][0] / raw[free[0][1]];
    for (const [v, i] of free) expect(v / raw[i]).toBeCloseTo(factor, 9);
    // And a saturated layer is one whose raw ratio times that factor would pass 1.
    for (const [i, v] of d.entries()) if (v === 1) expect(factor * raw[i]).toBeGreaterThan(1);
    // At 90% the small classifier saturates: fc3's raw ratio (7 + 84) / 588 is the largest; at 98% nothing does.
    expect(d[4]).toBe(1);
    expect(layerDensities(layers, 0.98, 'erk').every((v) => v < 1)).toBe(true);
    expect(layerBudgets(layers, d).reduce((a, b) => a + b, 0)).toBeCloseTo((1 - sparsity) * total, -1);
    expect(() => layerDensities(layers, 1, 'erk')).toThrow(/--sparsity must be in \[0, 1\), got 1/);
    expect(() => layerDensities(layers, 0.999, 'uniform', { dense: ['fc1'] })).toThrow(/kept dense \(fc1\) hold 324480 weights, more than/);
  });
});

describe('drop and grow (RigL, SET)', () => {
  it("RigL's drop fraction follows alpha (1 + cos(pi t / T_end)) / 2, and no update from T_end on", () => {
    expect(rigLDropFraction(0.3, 0, 1000)).toBeCloseTo(0.3, 12);
    expect(rigLDropFraction(0.3, 500, 1000)).toBeCloseTo(0.15, 12);
    expect(rigLDropFraction(0.3, 1000, 1000)).toBe(0);
    expect([0, 100, 200, 900, 1000].map((t) => isUpdateStep(t, 100, 1000))).toEqual([false, true, true, true, false]);
    expect(() => rigLDropFraction(1, 0, 10)).toThrow(/--drop-fraction must be in \(0, 1\), got 1/);
    expect(() => rigLDropFraction(0, 0, 10)).toThrow(/--drop-fraction must be in \(0, 1\), got 0/);
  });

  it('drops floor(kept * fraction) of the smallest |w| among the kept, grows as many of the largest |gradient| among the rest', () => {
    const n = 40;
    const weight = Float32Array.from({ length: n }, () => random.normal());
    const mask = Float32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1));
    for (let i = 0; i < n; i++) weight[i] *= mask[i];
    const gradient = Float32Array.from({ length: n }, () => random.normal());
    const before = mask.reduce((a, b) => a + b, 0);
    const fraction = 0.3;
    const { mask: next, grown, dropped } = dropAndGrow(weight, mask, rigLGrowScore(gradient), fraction);
    const count = Math.floor(before * fraction);
    expect(next.reduce((a, b) => a + b, 0)).toBe(before);
    // The drop: the `count` smallest |w| among the kept.
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => mask[i] === 1).sort((a, b) => Math.abs(weight[a]) - Math.abs(weight[b]));
    const droppedNow = new Set(kept.slice(0, count));
    // The growth: the `count` largest |g| among those not kept after the drop (just-dropped ones included).
    const candidates = Array.from({ length: n }, (_, i) => i).filter((i) => mask[i] === 0 || droppedNow.has(i)).sort((a, b) => Math.abs(gradient[b]) - Math.abs(gradient[a]));
    const grownNow = new Set(candidates.slice(0, count));
    for (let i = 0; i < n; i++) expect(next[i], `index ${i}`).toBe((mask[i] === 1 && !droppedNow.has(i)) || grownNow.has(i) ? 1 : 0);
    expect(grown).toEqual([...grownNow].filter((i) => mask[i] === 0).sort((a, b) => a - b));
    expect(dropped).toEqual([...droppedNow].filter((i) => !grownNow.has(i)).sort((a, b) => a - b));
    expect(grown.length).toBe(dropped.length);
    expect(grown.length).toBeGreaterThan(0);
  });

  it('SET grows at random, reproducibly by seed', () => {
    const n = 64;
    const weight = Float32Array.from({ length: n }, () => random.normal());
    const mask = Float32Array.from({ length: n }, (_, i) => (i < 16 ? 1 : 0));
    const a = dropAndGrow(weight, mask, setGrowScore(n, 3, 100, 0), 0.5);
    const b = dropAndGrow(weight, mask, setGrowScore(n, 3, 100, 0), 0.5);
    const c = dropAndGrow(weight, mask, setGrowScore(n, 4, 100, 0), 0.5);
    expect(Array.from(a.mask)).toEqual(Array.from(b.mask));
    expect(Array.from(a.mask)).not.toEqual(Array.from(c.mask));
    expect(a.mask.reduce((s, v) => s + v, 0)).toBe(16);
    expect(() => dropAndGrow(weight, mask.subarray(1), setGrowScore(n, 3, 1, 0), 0.5, 'fc1')).toThrow(/layer 'fc1' has 64 weights, a mask of 63 and 64 grow scores/);
  });
});

describe('the nm pruner in the registry', () => {
  it('is found by name, masks every layer M divides and warns naming the others', () => {
    const layers = [layer('conv1', [6, 3, 5, 5]), layer('fc1', [8, 16]), layer('fc2', [4, 8])];
    const lines: string[] = [];
    const masks = computeMasks('nm', layers, { sparsity: 0.75, seed: 0, options: { nm: '1:4' }, log: (line) => lines.push(line) });
    expect(masks.map((m) => m.mask.reduce((a, b) => a + b, 0))).toEqual([150 * 3, 8 * 16 / 4, 4 * 8 / 4]);
    expect(lines).toEqual(['pruner nm: 1:4 leaves conv1 (75) dense: input dimension not a multiple of 4']);
    expect(() => computeMasks('nm', layers, { sparsity: 0.5, seed: 0, options: { nm: '2:4', nmLayers: 'conv1' } })).toThrow(/--nm-layers: layer 'conv1' \[6,3,5,5\] was named, but its input dimension 75 is not a multiple of 4 \(--nm 2:4\)/);
    expect(() => computeMasks('nm', layers, { sparsity: 0.5, seed: 0, options: { nm: '3:2' } })).toThrow(/--nm 3:2: N must be at least 1 and below M/);
  });

  it('gradual: the events step the kept count per group down from M to N, each time the largest among those kept', () => {
    expect([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.9].map((s) => nmKeptPerGroup({ n: 2, m: 4 }, s))).toEqual([4, 4, 3, 3, 2, 2, 2]);
    const schedule = gradualSchedule({ finalSparsity: 0.5, startStep: 0, frequency: 1, pruningSteps: 4 });
    let fc = layer('fc', [6, 16]);
    const kept: number[] = [];
    for (const event of schedule.events) {
      const [{ mask }] = computeMasks('nm', [fc], { sparsity: event.sparsity, seed: 0, options: {} });
      const perGroup = new Set<number>();
      for (let g = 0; g < mask.length; g += 4) {
        const group = [0, 1, 2, 3].map((i) => g + i);
        const alive = group.filter((i) => mask[i]);
        perGroup.add(alive.length);
        // The survivors are the largest of the group among those the previous mask kept.
        const before = group.filter((i) => fc.mask[i]).sort((a, b) => Math.abs(fc.weight[b]) - Math.abs(fc.weight[a]));
        expect(alive.sort()).toEqual(before.slice(0, alive.length).sort());
      }
      expect(perGroup.size).toBe(1);
      kept.push([...perGroup][0]);
      fc = { ...fc, mask };
    }
    expect(kept[0]).toBe(4);
    expect(kept.at(-1)).toBe(2);
    expect(kept).toContain(3);
    expect(kept).toEqual([...kept].sort((a, b) => b - a));
  });
});

describe('npm run train --nm', () => {
  it('is sugar for --pruner nm on the masked model, at the sparsity of the pattern', () => {
    const { config } = parseTrainArgs(['--nm', '1:4', '--nm-layers', 'fc1,fc2', '--schedule', 'gradual']);
    expect([config.pruner, config.model, config.nm, config.nmLayers, config.sparsity, config.schedule]).toEqual(['nm', 'sparsenet', '1:4', 'fc1,fc2', 0.75, 'gradual']);
    expect(parseTrainArgs(['--pruner', 'nm']).config).toMatchObject({ pruner: 'nm', nm: '2:4', sparsity: 0.5, model: 'sparsenet' });
    expect(parseTrainArgs(['--nm-layers', 'fc1']).config).toMatchObject({ pruner: 'nm', nm: '2:4', nmLayers: 'fc1' });
  });

  it('refuses bad input naming the flag', () => {
    expect(() => parseTrainArgs(['--nm', '4:2'])).toThrow("train: --nm 4:2: N must be at least 1 and below M");
    expect(() => parseTrainArgs(['--nm', '2:2'])).toThrow("train: --nm 2:2: N must be at least 1 and below M");
    expect(() => parseTrainArgs(['--nm', 'half'])).toThrow("train: --nm must look like N:M (e.g. 2:4), got 'half'");
    expect(() => parseTrainArgs(['--nm', '2:4', '--sparsity', '0.9'])).toThrow('train: --sparsity 0.9 does not fit --nm 2:4, whose sparsity is 0.5 (leave --sparsity out with --nm)');
    expect(() => parseTrainArgs(['--pruner', 'magnitude', '--nm', '2:4'])).toThrow('train: --nm and --nm-layers go with --pruner nm, not --pruner magnitude');
  });
});
