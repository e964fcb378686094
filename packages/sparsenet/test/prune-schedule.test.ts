/** Pruning schedules (one-shot, iterative, Zhu-Gupta gradual) and lottery-ticket rewinding. */
import { describe, expect, it } from 'vitest';
import { clampSchedule, DEFAULT_TRAIN_CONFIG, gradualSchedule, iterativeSchedule, magnitudePrune, oneShotSchedule, polynomialSparsity, pruningSchedule, rewindWeights, withMasks, type TrainConfig } from '@sparsenet/sparsenet';
import { countZeros, lenetLayers, randomLayer } from './prune-fixtures.js';

describe('schedules', () => {
  it('one-shot: a single event, the target in force from then on', () => {
    const s = oneShotSchedule({ step: 3, sparsity: 0.9 });
    expect(s.events).toEqual([{ step: 3, sparsity: 0.9 }]);
    expect([0, 2, 3, 4, 10].map((t) => s.isPruningStep(t))).toEqual([false, false, true, false, false]);
    expect([0, 2, 3, 4, 10].map((t) => s.sparsityAt(t))).toEqual([0, 0, 0.9, 0.9, 0.9]);
  });

  it('iterative geometric: the same fraction of survivors each round, reaching the target at the last', () => {
    const s = iterativeSchedule({ start: 2, every: 3, rounds: 5, sparsity: 0.8 });
    expect(s.events.map((e) => e.step)).toEqual([2, 5, 8, 11, 14]);
    s.events.forEach((e, n) => expect(e.sparsity).toBeCloseTo(1 - 0.2 ** ((n + 1) / 5), 14));
    expect(s.events.at(-1)!.sparsity).toBe(0.8);
    const kept = [1, ...s.events.map((e) => 1 - e.sparsity)];
    for (let n = 1; n < kept.length; n++) expect(kept[n] / kept[n - 1]).toBeCloseTo(0.2 ** 0.2, 12);
    expect([1, 2, 4, 5, 13, 14, 99].map((t) => s.sparsityAt(t))).toEqual([0, s.events[0].sparsity, s.events[0].sparsity, s.events[1].sparsity, s.events[3].sparsity, 0.8, 0.8]);
    expect([4, 5, 6].map((t) => s.isPruningStep(t))).toEqual([false, true, false]);
  });

  it('iterative linear: equal steps', () => {
    const s = iterativeSchedule({ start: 0, every: 1, rounds: 4, sparsity: 0.6, spacing: 'linear' });
    expect(s.events.map((e) => e.sparsity)).toEqual([0.15, 0.3, 0.6 * 3 / 4, 0.6]);
  });

  it('gradual (Zhu and Gupta): s_i at t0, s_f at the end, cubic in between, monotone, every dt steps', () => {
    const options = { initialSparsity: 0.1, finalSparsity: 0.9, startStep: 100, frequency: 10, pruningSteps: 8 };
    const s = gradualSchedule(options);
    expect(s.events.map((e) => e.step)).toEqual([100, 110, 120, 130, 140, 150, 160, 170, 180]);
    expect(s.events[0].sparsity).toBe(0.1);
    expect(s.events.at(-1)!.sparsity).toBe(0.9);
    // Halfway: s_f + (s_i - s_f) / 8.
    expect(s.events[4].sparsity).toBeCloseTo(0.9 - 0.8 / 8, 14);
    s.events.forEach((e, j) => expect(e.sparsity).toBeCloseTo(0.9 - 0.8 * (1 - j / 8) ** 3, 14));
    const steps = s.events.map((e, j) => e.sparsity - (s.events[j - 1]?.sparsity ?? e.sparsity)).slice(1);
    for (let j = 1; j < steps.length; j++) expect(steps[j]).toBeLessThan(steps[j - 1]); // pruning slows down
    expect(steps.every((d) => d > 0)).toBe(true);
    expect([99, 100, 105, 110, 179, 180, 1000].map((t) => s.isPruningStep(t))).toEqual([false, true, false, true, false, true, false]);
    expect([99, 105, 179, 1000].map((t) => s.sparsityAt(t))).toEqual([0, 0.1, s.events[7].sparsity, 0.9]);
    // The continuous curve, clamped outside [t0, t0 + n dt].
    expect(polynomialSparsity(50, options)).toBe(0.1);
    expect(polynomialSparsity(105, options)).toBeCloseTo(0.9 - 0.8 * (1 - 5 / 80) ** 3, 14);
    expect(polynomialSparsity(500, options)).toBe(0.9);
  });

  it('a run reaches its target before it ends: events at or past its last step move to that step', () => {
    const clamped = clampSchedule(iterativeSchedule({ start: 0, every: 5, rounds: 4, sparsity: 0.8 }), 12);
    expect(clamped.events.map((e) => e.step)).toEqual([0, 5, 10, 12]);
    expect(clamped.sparsityAt(12)).toBe(0.8);
    const late = clampSchedule(iterativeSchedule({ start: 0, every: 5, rounds: 4, sparsity: 0.8 }), 4);
    expect(late.events).toEqual([{ step: 0, sparsity: 1 - 0.2 ** 0.25 }, { step: 4, sparsity: 0.8 }]);
    const inside = iterativeSchedule({ start: 0, every: 5, rounds: 4, sparsity: 0.8 });
    expect(clampSchedule(inside, 16).events).toEqual(inside.events);
    // Through the training configuration: 10 steps per epoch.
    const config = (c: Partial<TrainConfig>): TrainConfig => ({ ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', pruner: 'magnitude', sparsity: 0.9, ...c });
    // The last round at the end of the last epoch (step 300 of 0..299) happens at step 299.
    const iterative = pruningSchedule(config({ schedule: 'iterative', pruneStart: 10, pruneEnd: 30, pruneEvery: 5, epochs: 30 }), 10)!;
    expect(iterative.events.map((e) => e.step)).toEqual([100, 150, 200, 250, 299]);
    expect(iterative.sparsityAt(299)).toBe(0.9);
    // A gradual span (2 epochs of 4 steps) shorter than its dt (10 steps): from 0 at step 0 to the target at step 7.
    const gradual = pruningSchedule(config({ schedule: 'gradual', pruneStart: 0, pruneEnd: 2, pruneEvery: 10, epochs: 2 }), 4)!;
    expect(gradual.events).toEqual([{ step: 0, sparsity: 0 }, { step: 7, sparsity: 0.9 }]);
    const ordinary = pruningSchedule(config({ schedule: 'gradual', pruneStart: 1, pruneEnd: 23, pruneEvery: 10, epochs: 30 }), 113)!;
    expect(ordinary.events.at(-1)).toEqual({ step: 113 + 2480, sparsity: 0.9 });
  });

  it('drives a pruner: at every event the masks reach the target exactly and only shrink', () => {
    let layers = lenetLayers(50);
    const total = layers.reduce((a, l) => a + l.weight.length, 0);
    const schedule = gradualSchedule({ finalSparsity: 0.8, startStep: 0, frequency: 2, pruningSteps: 4 });
    for (let t = 0; t <= 10; t++) {
      if (!schedule.isPruningStep(t)) continue;
      const masks = magnitudePrune(layers, { fraction: schedule.sparsityAt(t), scope: 'global' });
      expect(masks.every((m, i) => m.mask.every((v, j) => v <= layers[i].mask[j]))).toBe(true);
      layers = withMasks(layers, masks);
      const zeros = layers.reduce((a, l) => a + countZeros(l.mask), 0);
      expect(Math.abs(zeros - schedule.sparsityAt(t) * total)).toBeLessThanOrEqual(0.5);
    }
  });

  it('rejects bad options', () => {
    expect(() => oneShotSchedule({ step: -1, sparsity: 0.5 })).toThrow(/oneShotSchedule: step must be an integer >= 0/);
    expect(() => iterativeSchedule({ start: 0, every: 0, rounds: 3, sparsity: 0.5 })).toThrow(/every must be an integer > 0/);
    expect(() => gradualSchedule({ finalSparsity: 1.2, startStep: 0, frequency: 1, pruningSteps: 2 })).toThrow(/finalSparsity must be in \[0, 1\]/);
    expect(() => clampSchedule(oneShotSchedule({ step: 0, sparsity: 0.5 }), -1)).toThrow(/clampSchedule: lastStep must be an integer >= 0/);
  });
});

describe('rewindWeights', () => {
  it('returns saved weights and biases times the current masks, +0 where pruned', () => {
    const initial = randomLayer('fc', 'linear', [6, 5], 60);
    const trained = { ...randomLayer('fc', 'linear', [6, 5], 61) };
    const masks = magnitudePrune([trained], { fraction: 0.5 })[0];
    const biasMask = Float32Array.of(1, 0, 1, 1, 0, 1);
    const [rewound] = rewindWeights([{ ...trained, mask: masks.mask, biasMask }], [initial]);
    expect([...rewound.weight]).toEqual([...initial.weight].map((w, j) => (masks.mask[j] ? w : 0)));
    expect([...rewound.bias!]).toEqual([...initial.bias!].map((b, u) => (biasMask[u] ? b : 0)));
    expect(rewound.weight.every((w) => !Object.is(w, -0))).toBe(true);
    expect(rewound.weight).not.toBe(initial.weight);
  });

  it('matches layers by name and checks sizes', () => {
    const layer = randomLayer('fc', 'linear', [6, 5], 62);
    expect(() => rewindWeights([layer], [{ ...layer, name: 'other' }])).toThrow(/no saved weights for layer 'fc'/);
    expect(() => rewindWeights([layer], [{ name: 'fc', weight: new Float32Array(3), bias: layer.bias }])).toThrow(/saved weights of 'fc' have 3 entries/);
    expect(() => rewindWeights([layer], [{ name: 'fc', weight: layer.weight }])).toThrow(/saved bias of 'fc' \(none\)/);
  });
});
