/**
 * The sweep's units trained sparse from scratch (kind 'scratch'): the grid with them (ids, costs, no baseline
 * needed, sharding), each method's training settings, the refusal of a method train does not know, and tiny units
 * trained for real (300 images, batch 16): random-init beside a fine-tune in one table; gradual in a scratch-only
 * shard without a baseline copy, killed half-way and resumed to the uninterrupted result.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, getDevice, labels, runtime, scoped, tensor } from '@sparsenet/tensor';
import {
  DEFAULT_SWEEP_CONFIG, DEFAULT_TRAIN_CONFIG, GRADUAL_EVERY, LeNet, SCRATCH_METHODS, assignShards, checkTrainConfig, enumerateUnits, gradualSpan,
  parseSweepArgs, partialNote, readCheckpoint, runSweep, scratchMethod, shardWork, summarize, sweepRows, tradeoffFigures, type SweepConfig, type SweepGrid,
  type TimingOptions, type UnitResult,
} from '@sparsenet/sparsenet';

const GRID: SweepGrid = DEFAULT_SWEEP_CONFIG;

describe('grid with scratch units', () => {
  it('lists each method at each sparsity as a scratch unit costing the baseline\'s epochs, beside the fine-tunes, without a sparsity 0 of its own', () => {
    const units = enumerateUnits({ ...GRID, seeds: [0, 1], pruners: ['magnitude', 'rigl', 'snip'], sparsities: [0, 0.95] });
    expect(units.filter((u) => u.seed === 1).map((u) => [u.id, u.kind, u.cost])).toEqual([
      ['seed1/dense', 'dense', 30], ['seed1/dense-finetuned', 'finetune', 5], ['seed1/magnitude-0.95', 'finetune', 5], ['seed1/rigl-0.95', 'scratch', 30], ['seed1/snip-0.95', 'scratch', 30],
    ]);
    // Scratch methods only: the baselines (the table's reference) but no unpruned fine-tune.
    expect(enumerateUnits({ ...GRID, seeds: [2], pruners: ['gradual', 'random-init'], sparsities: [0, 0.9] }).map((u) => u.id)).toEqual(['seed2/dense', 'seed2/gradual-0.9', 'seed2/random-init-0.9']);
    // Default sparsities: the unstructured list.
    expect(enumerateUnits({ ...GRID, seeds: [0], pruners: ['set'] }).map((u) => u.sparsity)).toEqual([0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98]);
    // The units of a grid without scratch methods are as before.
    expect(enumerateUnits(GRID).every((u) => u.kind !== 'scratch')).toBe(true);
  });

  it('shards are disjoint, cover the grid, and bring baseline copies only for seeds with fine-tunes, for N = 1..5', () => {
    const grids: SweepGrid[] = [
      { ...GRID, pruners: ['magnitude', 'rigl', 'snip', 'structured'], sparsities: [0, 0.9, 0.95] },
      { ...GRID, seeds: [0, 1], pruners: ['random-init', 'gradual', 'set'], sparsities: [0.9, 0.95, 0.98] },
    ];
    for (const grid of grids) {
      const units = enumerateUnits(grid);
      const total = units.reduce((s, u) => s + u.cost, 0);
      for (let count = 1; count <= 5; count++) {
        const owners = assignShards(units, count);
        const seen: string[] = [];
        for (let index = 1; index <= count; index++) {
          const { owned, copies } = shardWork(grid, { index, count });
          expect(owned.map((u) => u.id)).toEqual(units.filter((_, i) => owners[i] === index).map((u) => u.id));
          seen.push(...owned.map((u) => u.id));
          const finetuneSeeds = new Set(owned.filter((u) => u.kind === 'finetune').map((u) => u.seed));
          expect(copies.map((c) => c.seed).every((seed) => finetuneSeeds.has(seed))).toBe(true);
          for (const seed of finetuneSeeds) expect(owned.some((u) => u.id === `seed${seed}/dense`) || copies.some((c) => c.seed === seed)).toBe(true);
          expect(Math.abs(owned.reduce((s, u) => s + u.cost, 0) - total / count)).toBeLessThanOrEqual(Math.max(...units.map((u) => u.cost)));
        }
        expect(seen.sort()).toEqual(units.map((u) => u.id).sort());
      }
    }
    const scratchOnly = { ...GRID, seeds: [0], pruners: ['gradual'], sparsities: [0.9] };
    expect(shardWork(scratchOnly, { index: 2, count: 2 })).toEqual({ owned: [enumerateUnits(scratchOnly)[1]], copies: [] });
  });

  it('--pruners takes fine-tuned pruners and scratch methods together', () => {
    expect(parseSweepArgs(['--pruners', 'magnitude,rigl,snip']).config.pruners).toEqual(['magnitude', 'rigl', 'snip']);
    expect(() => parseSweepArgs(['--pruners', 'rigl,lottery'])).toThrow(
      "sweep: --pruners: unknown pruner 'lottery' (choices: magnitude, random, structured; trained from scratch: random-init, gradual, snip, grasp, synflow, set, rigl)",
    );
  });
});

describe('scratch methods', () => {
  it('each trains a SparseNet sparse from its first epoch for the baseline\'s epochs, at the unit\'s sparsity', () => {
    expect(SCRATCH_METHODS.map((m) => m.name)).toEqual(['random-init', 'gradual', 'snip', 'grasp', 'synflow', 'set', 'rigl']);
    expect(scratchMethod('random-init').settings(30)).toEqual({ pruner: 'random', schedule: 'oneshot', pruneStart: 0, scope: 'global' });
    for (const name of ['snip', 'grasp', 'synflow']) expect(scratchMethod(name).settings(30)).toEqual({ pruner: name, schedule: 'oneshot', pruneStart: 0, scope: 'global' });
    for (const name of ['set', 'rigl']) expect(scratchMethod(name).settings(30)).toEqual({ pruner: name, pruneStart: 0 });
    expect(scratchMethod('gradual').settings(30)).toEqual({ pruner: 'magnitude', schedule: 'gradual', scope: 'global', pruneEvery: GRADUAL_EVERY, pruneStart: 1, pruneEnd: 23 });
    // Smoke runs ramp from the first step and still end at or before the last epoch.
    expect([1, 2, 3, 4, 30].map(gradualSpan)).toEqual([
      { pruneStart: 0, pruneEnd: 1 }, { pruneStart: 0, pruneEnd: 2 }, { pruneStart: 0, pruneEnd: 3 }, { pruneStart: 1, pruneEnd: 3 }, { pruneStart: 1, pruneEnd: 23 },
    ]);
    // Train accepts every method's settings at any epoch count.
    for (const method of SCRATCH_METHODS) {
      for (const epochs of [1, 2, 5, 30]) {
        const settings = method.settings(epochs);
        expect(() => checkTrainConfig({ ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', ...settings, sparsity: 0.95, epochs }), `${method.name} at ${epochs} epochs`).not.toThrow();
      }
    }
    expect(() => scratchMethod('lottery')).toThrow("sweep: no method 'lottery' trained from scratch (methods: random-init, gradual, snip, grasp, synflow, set, rigl)");
  });

});

const TIMING: TimingOptions = { batchSize: 64, warmup: 1, blocks: 2, batchesPerBlock: 1 };
const hooks = { log: () => {}, timing: TIMING };
/** Tiny units; batch 16 gives over GRADUAL_EVERY steps per epoch, so the gradual ramp reaches its target. */
const TINY: SweepConfig = { ...DEFAULT_SWEEP_CONFIG, seeds: [0], sparsities: [0.9], epochs: 1, finetuneEpochs: 1, batchSize: 16, limit: 300 };
/** Everything but the timings, which differ run to run. */
const metricsOf = (r: UnitResult) => ({ ...r, msPerImage: 0, sparseMsPerImage: r.sparseMsPerImage === null ? null : 0, compactMsPerImage: null, trainSeconds: 0 });
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('scratch runs', () => {
  const root = mkdtempSync(join(tmpdir(), 'sweep-scratch-'));

  beforeAll(async () => {
    await getDevice();
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register', sparse_linear: 'sparse', sparse_conv2d: 'sparse' });
    // One SparseNet training step compiles the kernels the units share, once for the file.
    const model = new LeNet({ sparse: true });
    await scoped(async () => {
      crossEntropy(model.forward(tensor(new Float32Array(16 * 3 * 64 * 64), [16, 3, 64, 64])), labels(new Int32Array(16))).backward();
      await runtime().runner.sync();
    });
    for (const p of model.parameters()) p.grad?.dispose();
    model.dispose();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('trains scratch units from the initialisation beside a fine-tune, and tables them with how each was trained', async () => {
    const out = join(root, 'mixed');
    const grid = { ...TINY, pruners: ['magnitude', 'random-init'], out };
    const run = await runSweep(grid, hooks);
    expect(run.actions).toEqual({ 'seed0/dense': 'trained', 'seed0/magnitude-0.9': 'trained', 'seed0/random-init-0.9': 'trained' });
    const [dense, magnitude, randomInit] = run.results;
    for (const pruned of [magnitude, randomInit]) expect(pruned.sparsity, pruned.unit).toBeCloseTo(0.9, 3);
    expect(randomInit.sparseMsPerImage).toBeGreaterThan(0);

    // Trained by train() from the initialisation (no --init, no pruned-init file), with the method's settings.
    const randomConfig = json(join(out, 'seed0/random-init-0.9/config.json'));
    expect(randomConfig).toMatchObject({ model: 'sparsenet', pruner: 'random', schedule: 'oneshot', pruneStart: 0, scope: 'global', sparsity: 0.9, epochs: 1, init: null, seed: 0 });
    expect(existsSync(join(out, 'seed0/random-init-0.9/pruned-init.safetensors'))).toBe(false);
    expect(json(join(out, 'seed0/random-init-0.9/sweep-unit.json')).spec).toMatchObject({
      id: 'seed0/random-init-0.9', kind: 'scratch', pruner: 'random-init', epochs: 1, baselineEpochs: null, scope: null, train: scratchMethod('random-init').settings(1),
    });
    // The fine-tune's spec has no `train` (the folders of sweeps from before scratch units still match).
    expect(Object.keys(json(join(out, 'seed0/magnitude-0.9/sweep-unit.json')).spec)).not.toContain('train');

    const md = readFileSync(join(out, 'sweep.md'), 'utf8');
    for (const row of ['| dense | 0 | 1 | dense baseline |', '| magnitude | 0.9 | 1 | one-shot + fine-tune |', '| random-init | 0.9 | 1 | from scratch |']) expect(md).toContain(row);
    const csv = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^pruner,target_sparsity,seed,training,/);
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 4).join(','))).toEqual(['dense,0,0,dense baseline', 'magnitude,0.9,0,one-shot + fine-tune', 'random-init,0.9,0,from scratch']);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('from-scratch rows train a SparseNet from its initialisation for the baseline');

    // Figures: each series named with how it was trained, a scratch series starting from the dense baseline.
    const points = sweepRows(summarize(grid, run.results));
    expect([...new Set(points.map((p) => p.pruner))]).toEqual(['magnitude (one-shot + fine-tune)', 'random-init (from scratch)']);
    expect(points.filter((p) => p.pruner === 'random-init (from scratch)').map((p) => [p.target, p.accuracy])).toEqual([[0, dense.testAccuracy], [0.9, randomInit.testAccuracy]]);
    expect(points.filter((p) => p.pruner === 'magnitude (one-shot + fine-tune)').map((p) => p.target)).toEqual([0.9]);
    expect(JSON.stringify(tradeoffFigures(run.results)[0].spec)).toContain('random-init (from scratch)');

    // A table missing units says so above its rows, naming them.
    expect(md).not.toContain('Partial');
    expect(partialNote(grid, run.results)).toBeNull();
    expect(partialNote({ ...grid, seeds: [0, 1] }, run.results.slice(0, 2))).toBe(
      'Partial: 2 of 6 units finished; missing random-init 0.9 (seeds 0, 1), dense 0 (seed 1), magnitude 0.9 (seed 1).',
    );

    // Rerun: every unit skipped.
    expect(Object.values((await runSweep(grid, hooks)).actions)).toEqual(['skipped', 'skipped', 'skipped']);
  });

  it('a scratch-only shard trains no baseline copy; a killed scratch unit resumes to the uninterrupted result; other settings are refused', async () => {
    // Units: seed0/dense (part 1) and seed0/gradual-0.9 (part 2), 2 epochs each.
    const part2 = { ...TINY, pruners: ['gradual'], epochs: 2, shard: { index: 2, count: 2 } };
    const whole = join(root, 'whole');
    const uninterrupted = await runSweep({ ...part2, out: whole }, hooks);
    expect(uninterrupted.actions).toEqual({ 'seed0/gradual-0.9': 'trained' });
    expect(existsSync(join(whole, 'seed0/dense.copy-2-of-2')) || existsSync(join(whole, 'seed0/dense'))).toBe(false);
    expect(json(join(whole, 'seed0/gradual-0.9/config.json'))).toMatchObject({
      model: 'sparsenet', pruner: 'magnitude', schedule: 'gradual', scope: 'global', pruneStart: 0, pruneEnd: 2, pruneEvery: GRADUAL_EVERY, sparsity: 0.9, epochs: 2, init: null,
    });
    expect(json(join(whole, 'seed0/gradual-0.9/sweep-unit.json')).spec).toMatchObject({ kind: 'scratch', pruner: 'gradual', epochs: 2, baselineEpochs: null, train: scratchMethod('gradual').settings(2) });
    expect(uninterrupted.results[0].sparsity).toBeCloseTo(0.9, 3);

    const killed = join(root, 'killed');
    const stop = new Error('killed after epoch 1');
    await expect(runSweep({ ...part2, out: killed }, { ...hooks, train: { afterEpoch: (r) => { if (r.epoch === 1) throw stop; } } })).rejects.toBe(stop);
    // Half-way the gradual ramp is under way, short of the target: Zhu & Gupta's cubic, not a one-shot pruning.
    const { state } = readCheckpoint(join(killed, 'seed0/gradual-0.9/last.safetensors'));
    const masks = Object.keys(state).filter((k) => k.endsWith('.weight_mask')).map((k) => Array.from(state[k].data));
    const halfway = masks.flat().filter((v) => v === 0).length / masks.flat().length;
    expect(halfway).toBeGreaterThan(0.3);
    expect(halfway).toBeLessThan(0.85);
    const resumed = await runSweep({ ...part2, out: killed }, hooks);
    expect(resumed.actions).toEqual({ 'seed0/gradual-0.9': 'resumed' });
    expect(resumed.results.map(metricsOf)).toEqual(uninterrupted.results.map(metricsOf));
    expect(resumed.results[0].sparsity).toBeCloseTo(0.9, 3);

    // The method's settings are part of the unit's spec: a folder trained with others is refused.
    const unitFile = join(killed, 'seed0/gradual-0.9/sweep-unit.json');
    const file = json(unitFile);
    file.spec.train.pruneEvery = 7;
    writeFileSync(unitFile, JSON.stringify(file));
    await expect(runSweep({ ...part2, out: killed }, hooks)).rejects.toThrow(/gradual-0.9\/sweep-unit.json was started with other settings \(train \{.*"pruneEvery":10.*\} here, \{.*"pruneEvery":7.*\} there\)/);
  });
});
