/**
 * Dynamic sparse training (SET, RigL): the mask update against a float64 reference on the host, then in a real
 * loop on a small LeNet (the dense gradient computed here independently, grown weights and Adam moments read
 * back at each update), then a whole `train` run: constant sparsity, the records, resume, the report's figures.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { beginScope, crossEntropy, denseWeightGradients, getDevice, labels, optim, Random, runtime, tensor } from '@sparsenet/tensor';
import {
  buildModel, DEFAULT_TRAIN_CONFIG, dynamicBudgets, DynamicTraining, dynamicUpdate, initialDynamicMasks, parseTrainArgs, prunableLayers, readCheckpoint, traceLayerGraph,
  train, updateSteps, weightedLayers, writeRunReport, type DynamicOptions, type DynamicRecords, type PrunableLayer, type TrainConfig,
} from '@sparsenet/sparsenet';
import type { Batch } from '../src/data/index.js';
import { runningTotals } from '../src/train/steps.js';

const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'sparsenet-dst-')), name);
const count = (mask: ArrayLike<number>) => Array.from(mask).filter((m) => m !== 0).length;
const ones = (mask: ArrayLike<number>) => Array.from(mask).flatMap((m, i) => (m !== 0 ? [i] : []));

/** The update as the papers state it, in float64: k = floor(kept * alpha (1 + cos(pi t / T)) / 2) of the kept weights of smallest |w| out, the k of largest score among the rest (the k just dropped included) in. */
function referenceUpdate(weight: ArrayLike<number>, mask: ArrayLike<number>, score: ArrayLike<number>, alpha: number, step: number, end: number) {
  const kept = ones(mask);
  const k = Math.floor(kept.length * (alpha * (1 + Math.cos((Math.PI * step) / end))) / 2);
  const byMagnitude = [...kept].sort((a, b) => Math.abs(Number(weight[a])) - Math.abs(Number(weight[b])));
  const out = new Set(byMagnitude.slice(0, k));
  const candidates = Array.from(mask, (_, i) => i).filter((i) => mask[i] === 0 || out.has(i));
  const into = new Set([...candidates].sort((a, b) => Math.abs(Number(score[b])) - Math.abs(Number(score[a]))).slice(0, k));
  return { k, mask: Array.from(mask, (m, i) => ((m !== 0 && !out.has(i)) || into.has(i) ? 1 : 0)), grown: [...into].filter((i) => mask[i] === 0).sort((a, b) => a - b) };
}

const LENET_SHAPES = [['conv1', [6, 3, 5, 5]], ['conv2', [16, 6, 5, 5]], ['fc1', [120, 16 * 5 * 5]], ['fc2', [84, 120]], ['fc3', [7, 84]]] as const;

function hostLayers(seed: number): PrunableLayer[] {
  const random = new Random(seed);
  return LENET_SHAPES.map(([name, shape]) => {
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    return { name, kind: shape.length === 4 ? 'conv' : 'linear', shape: [...shape], weight: Float32Array.from({ length: size }, () => random.normal()), mask: new Float32Array(size).fill(1), bias: new Float32Array(shape[0]) };
  });
}

const hostOptions = (method: 'set' | 'rigl', seed = 3): DynamicOptions => ({ method, sparsity: 0.9, distribution: 'erk', denseFirst: false, updateEvery: 10, endStep: 75, dropFraction: 0.3, seed });

describe('dynamic sparse training on the host', () => {
  it("RigL's update: the formula's count, the smallest |w| kept out, the largest |gradient| pruned in, as the float64 reference", () => {
    const options = hostOptions('rigl');
    let layers = hostLayers(1);
    const budgets = dynamicBudgets(layers, options);
    layers = layers.map((l, i) => ({ ...l, mask: initialDynamicMasks(layers, budgets, 5)[i].mask }));
    const random = new Random(9);
    for (const step of updateSteps(options)) {
      const gradients = new Map(layers.map((l) => [l.name, Float32Array.from(l.weight, () => random.normal())]));
      const { masks, grown, record } = dynamicUpdate(layers, gradients, step, options);
      expect(record.fraction).toBeCloseTo((0.3 * (1 + Math.cos((Math.PI * step) / 75))) / 2, 12);
      // ERK at 90% leaves fc3 dense: it is not updated.
      expect(masks.map((m) => m.name)).toEqual(layers.filter((l) => count(l.mask) < l.mask.length).map((l) => l.name));
      layers = layers.map((l, i) => {
        const u = masks.findIndex((m) => m.name === l.name);
        if (u < 0) return l;
        const expected = referenceUpdate(l.weight, l.mask, gradients.get(l.name)!, 0.3, step, 75);
        expect(masks[u].mask.join(''), `${l.name} at step ${step}`).toBe(expected.mask.join(''));
        expect(grown[u].join()).toBe(expected.grown.join());
        expect(record.layers[u]).toEqual({ name: l.name, kept: budgets[i].kept, dropped: expected.k, grown: expected.grown.length });
        expect(count(masks[u].mask)).toBe(budgets[i].kept);
        // Weights move between updates: new magnitudes, grown ones from zero.
        const grownNow = new Set(grown[u]);
        const weight = l.weight.map((w, j) => (masks[u].mask[j] === 0 ? 0 : grownNow.has(j) ? 0.01 * random.normal() : w + 0.1 * random.normal()));
        return { ...l, weight, mask: masks[u].mask };
      });
    }
    expect(updateSteps(options)).toEqual([10, 20, 30, 40, 50, 60, 70]);
  });

  it('SET: seeded random growth, reproducible by seed; a different seed grows elsewhere', () => {
    const run = (seed: number) => {
      const options = hostOptions('set', seed);
      const layers = hostLayers(2);
      const budgets = dynamicBudgets(layers, options);
      const masked = layers.map((l, i) => ({ ...l, mask: initialDynamicMasks(layers, budgets, seed)[i].mask }));
      return { initial: masked.map((l) => Array.from(l.mask)), update: dynamicUpdate(masked, null, 10, options) };
    };
    const [a, b, c] = [run(4), run(4), run(5)];
    expect(b.initial).toEqual(a.initial);
    expect(b.update.masks.map((m) => Array.from(m.mask))).toEqual(a.update.masks.map((m) => Array.from(m.mask)));
    expect(c.initial).not.toEqual(a.initial);
    expect(c.update.grown[2]).not.toEqual(a.update.grown[2]);
    // The drop is by magnitude, the same count as RigL's.
    expect(a.update.record.layers.map((l) => l.dropped)).toEqual(a.update.record.layers.map((l) => Math.floor(l.kept * a.update.record.fraction)));
  });

  it("ERK budgets: density proportional to (sum of dims) / (product of dims), one factor, total 1 - S (the paper's formula); --dense-first", () => {
    const layers = hostLayers(3);
    const sizes = layers.map((l) => l.weight.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const budgets = dynamicBudgets(layers, hostOptions('rigl'));
    // Evci et al. 2020: density_l = eps * sum(dims_l) / prod(dims_l), eps such that the kept weights total
    // (1 - S) N; a layer whose density would pass 1 is dense, eps found again for the rest.
    const raw = layers.map((l) => l.shape.reduce((a, b) => a + b, 0) / l.weight.length);
    const dense = new Set<number>();
    let eps = 0;
    for (let changed = true; changed;) {
      const free = raw.flatMap((r, i) => (dense.has(i) ? [] : [r * sizes[i]]));
      eps = (0.1 * total - [...dense].reduce((s, i) => s + sizes[i], 0)) / free.reduce((a, b) => a + b, 0);
      const before = dense.size;
      raw.forEach((r, i) => eps * r > 1 && dense.add(i));
      changed = dense.size > before;
    }
    expect([...dense].map((i) => layers[i].name)).toEqual(['fc3']);
    budgets.forEach((b, i) => {
      const density = dense.has(i) ? 1 : eps * raw[i];
      expect(b.density).toBeCloseTo(density, 12);
      expect(b.kept).toBe(Math.round(density * sizes[i]));
    });
    const first = dynamicBudgets(layers, { ...hostOptions('rigl'), denseFirst: true, distribution: 'uniform' });
    expect(first[0]).toMatchObject({ density: 1, kept: sizes[0] });
    expect(first.reduce((s, b) => s + b.kept, 0)).toBeCloseTo(0.1 * total, -1);
    expect(first.slice(1).every((b) => b.density === first[1].density)).toBe(true);
  });

  it('bad input: a sparsity of 1, a drop fraction outside (0, 1): errors naming the flag and the layer', () => {
    const layers = hostLayers(4);
    expect(() => dynamicBudgets(layers, { ...hostOptions('rigl'), sparsity: 1 })).toThrow(/--pruner rigl: --sparsity must be in \[0, 1\), got 1: .*layer 'conv1' \[6,3,5,5\]/);
    expect(() => dynamicBudgets(layers, { ...hostOptions('set'), dropFraction: 1.5 })).toThrow(/--pruner set: --drop-fraction must be in \(0, 1\), got 1.5: layer 'conv1' \[6,3,5,5\]/);
    expect(() => dynamicBudgets(layers, { ...hostOptions('set'), dropFraction: 0 })).toThrow(/--drop-fraction must be in \(0, 1\), got 0/);
    expect(() => dynamicBudgets(layers, { ...hostOptions('rigl'), sparsity: 0.99999, distribution: 'uniform' })).toThrow(/--sparsity 0.99999 with --density-distribution uniform leaves layer 'conv1' \[6,3,5,5\] no weight/);
    expect(() => parseTrainArgs(['--pruner', 'rigl', '--drop-fraction', '1'])).toThrow(/--drop-fraction must be in \(0, 1\), got 1/);
    expect(() => parseTrainArgs(['--pruner', 'rigl', '--sparsity', '1'])).toThrow(/--sparsity must be in \[0, 1\), got 1/);
    const { config } = parseTrainArgs(['--pruner', 'rigl', '--density-distribution', 'uniform', '--update-every', '50', '--dense-first']);
    expect(config).toMatchObject({ model: 'sparsenet', pruner: 'rigl', densityDistribution: 'uniform', updateEvery: 50, denseFirst: true, updateEnd: 0.75, dropFraction: 0.3 });
  });
});

const IMAGE = 16;
const BATCH = 16;

function syntheticBatch(random: Random): Batch {
  const x = Float32Array.from({ length: BATCH * 3 * IMAGE * IMAGE }, () => random.normal());
  const y = Int32Array.from({ length: BATCH }, () => random.int(7));
  return { x, y, indices: new Int32Array(BATCH), shape: [BATCH, 3, IMAGE, IMAGE] };
}

describe('dynamic sparse training in the loop', () => {
  // Compiles the kernels the tests share (a masked step, a dense-gradient backward) with a timeout fit for a cold
  // shader cache on a loaded machine, so that no single test carries the compile alone.
  beforeAll(async () => {
    await getDevice();
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    const model = buildModel({ name: 'lenet', options: {}, masked: true }, { numClasses: 7, imageSize: IMAGE, seed: 0 });
    const optimizer = new optim.Adam(model.parametersWithMasks());
    const batch = syntheticBatch(new Random(0));
    try {
      for (const dense of [false, true]) {
        const scope = beginScope();
        const pass = () => crossEntropy(model.forward(tensor(batch.x, batch.shape)), labels(batch.y)).backward();
        if (dense) denseWeightGradients(pass);
        else pass();
        scope.end();
        optimizer.step();
        optimizer.zeroGrad();
      }
      await model.parameters()[0].toArray();
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  }, 600_000);

  it('RigL on a LeNet: the right weights dropped and grown by the dense gradient, grown weights and Adam moments zero, sparsity constant at every step', async () => {
    await getDevice();
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    const model = buildModel({ name: 'lenet', options: {}, masked: true }, { numClasses: 7, imageSize: IMAGE, seed: 0 });
    const graph = traceLayerGraph(model, [3, IMAGE, IMAGE]);
    const optimizer = new optim.Adam(model.parametersWithMasks(), { lr: 1e-2 });
    // --update-every 1: no optimizer step between updates (RigL's update step takes none), so a weight dropped at
    // one update and grown at the next still has moments from step 0 unless the update clears them.
    const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', pruner: 'rigl', sparsity: 0.8, densityDistribution: 'erk', updateEvery: 1, updateEnd: 1, dropFraction: 0.5, seed: 1 };
    const totalSteps = 4;
    const dynamic = await DynamicTraining.start({ model, graph, config, totalSteps, optimizer: () => optimizer, outDir: tmp('loop') });
    const budgets = dynamic.budgets.map((b) => b.kept);
    const totals = runningTotals();
    const random = new Random(2);
    const modules = new Map(weightedLayers(model));
    let hadHistory = 0;
    try {
      for (let step = 0; step < totalSteps; step++) {
        const before = await prunableLayers(model, graph);
        expect(before.map((l) => count(l.mask)), `kept before step ${step}`).toEqual(budgets);
        for (const l of before) expect(l.weight.every((w, i) => l.mask[i] !== 0 || w === 0), `${l.name} pruned weights zero`).toBe(true);
        const batch = syntheticBatch(random);
        if (step === 0) {
          expect(await dynamic.replaceStep(step, batch, 1e-2, totals)).toBe(false);
          const scope = beginScope();
          crossEntropy(model.forward(tensor(batch.x, batch.shape)), labels(batch.y)).backward();
          scope.end();
          optimizer.step();
          optimizer.zeroGrad();
          continue;
        }
        // The dense gradient of this step's batch, computed here (the update takes no optimizer step, so the
        // weights the update sees are these).
        const scope = beginScope();
        denseWeightGradients(() => crossEntropy(model.forward(tensor(batch.x, batch.shape)), labels(batch.y)).backward());
        scope.end();
        const gradients = new Map(await Promise.all(before.map(async (l) => [l.name, (await modules.get(l.name)!.weight.grad!.toArray()) as Float32Array] as const)));
        optimizer.zeroGrad();
        const moments = (await optimizer.stateDict()).state;
        const slotOf = (name: string) => model.parametersWithMasks().findIndex((p) => p.name === `${name}.weight`);

        expect(await dynamic.replaceStep(step, batch, 1e-2, totals)).toBe(true);
        const after = await prunableLayers(model, graph);
        const state = (await optimizer.stateDict()).state;
        const record = dynamic.state().updates.at(-1)!;
        expect(record.step).toBe(step);
        for (const [i, l] of before.entries()) {
          const expected = referenceUpdate(l.weight, l.mask, gradients.get(l.name)!, 0.5, step, totalSteps);
          expect(Array.from(after[i].mask), `${l.name} mask at step ${step}`).toEqual(expected.mask);
          expect(record.layers[i]).toEqual({ name: l.name, kept: budgets[i], dropped: expected.k, grown: expected.grown.length });
          const { exp_avg: m, exp_avg_sq: v } = state[slotOf(l.name)]!.tensors;
          const old = moments[slotOf(l.name)]!.tensors;
          for (const j of expected.grown) {
            if (old.exp_avg[j] !== 0 || old.exp_avg_sq[j] !== 0) hadHistory++;
            expect([after[i].weight[j], m[j], v[j]], `${l.name}[${j}] grown at step ${step}`).toEqual([0, 0, 0]);
          }
        }
        expect(after.map((l) => count(l.mask))).toEqual(budgets);
      }
      // The reset was needed: some grown weights had moments before the update.
      expect(hadHistory).toBeGreaterThan(0);
      expect(dynamic.state().updates.map((u) => u.step)).toEqual([1, 2, 3]);
      // RigL's update steps take no optimizer step (google-research/rigl): Adam stepped once, at step 0.
      expect((await optimizer.stateDict()).state.map((s) => s?.step)).toEqual(model.parametersWithMasks().map(() => 1));
    } finally {
      totals.lossSum.dispose();
      totals.correct.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('SET in the loop: its optimizer step then the update, the budgets kept at every step, the masks reproducible by seed', async () => {
    const run = async (seed: number) => {
      const model = buildModel({ name: 'lenet', options: {}, masked: true }, { numClasses: 7, imageSize: IMAGE, seed: 0 });
      const graph = traceLayerGraph(model, [3, IMAGE, IMAGE]);
      const optimizer = new optim.Adam(model.parametersWithMasks(), { lr: 1e-2 });
      const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', pruner: 'set', sparsity: 0.8, densityDistribution: 'uniform', updateEvery: 1, updateEnd: 1, dropFraction: 0.3, seed };
      const dynamic = await DynamicTraining.start({ model, graph, config, totalSteps: 3, optimizer: () => optimizer, outDir: tmp('set') });
      const totals = runningTotals();
      const random = new Random(2);
      try {
        for (let step = 0; step < 3; step++) {
          const taken = await dynamic.replaceStep(step, syntheticBatch(random), 1e-2, totals);
          expect(taken).toBe(step > 0);
          if (!taken) {
            // The ordinary step, as trainEpoch takes it.
            const scope = beginScope();
            const batch = syntheticBatch(new Random(100 + step));
            crossEntropy(model.forward(tensor(batch.x, batch.shape)), labels(batch.y)).backward();
            scope.end();
            optimizer.step();
            optimizer.zeroGrad();
          }
          expect((await prunableLayers(model, graph)).map((l) => count(l.mask)), `after step ${step}`).toEqual(dynamic.budgets.map((b) => b.kept));
        }
        // SET's update steps take their optimizer step first: Adam stepped at every step.
        expect((await optimizer.stateDict()).state.map((s) => s?.step)).toEqual(model.parametersWithMasks().map(() => 3));
        return { masks: (await prunableLayers(model, graph)).map((l) => l.mask.join('')), grown: dynamic.state().updates.map((u) => u.layers.map((l) => l.grown)) };
      } finally {
        totals.lossSum.dispose();
        totals.correct.dispose();
        optimizer.dispose();
        model.dispose();
      }
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(b).toEqual(a);
    expect(c.masks).not.toEqual(a.masks);
    expect(a.grown.flat().some((g) => g > 0)).toBe(true);
  });

  it('a --pruner rigl training run: constant sparsity, dynamic.json, exact resume, the report draws drop/grow and mask snapshots', async () => {
    await getDevice();
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    const config = (out: string): TrainConfig => ({
      ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', pruner: 'rigl', sparsity: 0.8, updateEvery: 3, limit: 240, epochs: 2, batchSize: BATCH, evalBatchSize: BATCH, imageSize: IMAGE, out, report: false,
    });
    const quiet = { log: () => {} };
    const whole = await train(config(tmp('whole')), quiet);
    const records = JSON.parse(readFileSync(join(whole.outDir, 'dynamic.json'), 'utf8')) as DynamicRecords;
    const total = records.layers.reduce((s, l) => s + l.shape.reduce((a, b) => a * b, 1), 0);
    const kept = records.layers.reduce((s, l) => s + l.kept, 0);
    // The masks keep the budget (the loop test checks it at every step); weights count as zero off the mask and
    // where a weight is 0 (grown and not moved yet), so the run's recorded sparsity is at least the masks'.
    expect(kept / total).toBeCloseTo(0.2, 3);
    for (const r of [...whole.history, whole.final]) expect(r.sparsity).toBeGreaterThanOrEqual(1 - kept / total - 1e-12);
    const steps = whole.history.at(-1)!.step;
    expect(records.endStep).toBe(Math.floor(0.75 * steps));
    expect(records.updates.map((u) => u.step)).toEqual(updateSteps({ updateEvery: 3, endStep: records.endStep }));
    for (const u of records.updates) {
      for (const l of u.layers) expect(l.dropped).toBe(Math.floor(l.kept * 0.15 * (1 + Math.cos((Math.PI * u.step) / records.endStep))));
    }
    const n = records.updates.length;
    expect(records.snapshots.map((s) => s.step)).toEqual([...new Set([0, records.updates[Math.ceil(n / 3) - 1].step, records.updates[Math.ceil((2 * n) / 3) - 1].step, records.updates[n - 1].step])]);
    const lastSnapshot = readCheckpoint(join(whole.outDir, records.snapshots.at(-1)!.file)).state;
    const final = readCheckpoint(join(whole.outDir, 'final.safetensors')).state;
    // After the last update the masks stay.
    for (const l of records.layers) {
      expect(Array.from(lastSnapshot[`${l.name}.weight_mask`].data)).toEqual(Array.from(final[`${l.name}.weight_mask`].data));
      expect(count(final[`${l.name}.weight_mask`].data), l.name).toBe(l.kept);
    }

    const out = tmp('killed');
    const killed = new Error('killed after epoch 1');
    await expect(train(config(out), { ...quiet, afterEpoch: (r) => { if (r.epoch === 1) throw killed; } })).rejects.toBe(killed);
    const resumed = await train({ ...config(out), resume: true }, quiet);
    expect(resumed.history.map((r) => r.trainLoss)).toEqual(whole.history.map((r) => r.trainLoss));
    const b = readCheckpoint(join(out, 'final.safetensors')).state;
    for (const name of Object.keys(final)) expect(Array.from(b[name].data), name).toEqual(Array.from(final[name].data));
    expect(JSON.parse(readFileSync(join(out, 'dynamic.json'), 'utf8'))).toEqual(records);

    const { figures } = await writeRunReport(whole.outDir, ['svg']);
    const dropGrow = join(whole.outDir, 'figures', 'dynamic-drop-grow.svg');
    expect(figures).toContain(dropGrow);
    const svg = readFileSync(dropGrow, 'utf8');
    const u = records.updates[0];
    expect(svg).toContain(`aria-label="${u.layers[2].name}, step ${u.step}: ${u.layers[2].dropped} dropped"`);
    expect(svg).toContain(`aria-label="${u.layers[2].name}, step ${u.step}: ${u.layers[2].grown} grown"`);
    for (const s of records.snapshots) expect(existsSync(join(whole.outDir, 'figures', `dynamic-mask-fc1-step-${s.step}.svg`)), `fc1 at step ${s.step}`).toBe(true);
  });
});
