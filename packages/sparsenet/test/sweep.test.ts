/**
 * The pruning sweep: grid, sharding, flags and tables on the host; then a few tiny units (300 images, 1 epoch,
 * batch 32) trained for real: unsharded vs two shards merged (the same numbers: runs are deterministic), skip and
 * resume on rerun, ShrinkBench's ratios recomputed from the saved masks, the compacted model's outputs.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, getDevice, labels, noGrad, runtime, scoped, tensor } from '@sparsenet/tensor';
import {
  DEFAULT_SWEEP_CONFIG, LeNet, assignShards, buildModel, enumerateUnits, flops, loadCheckpointModel, mergeParts, mergeSweep, parseSweepArgs, randomImages,
  readCheckpoint, runSweep, shardWork, summarize, summaryMarkdown, sweepRows, traceLayerGraph, writeFinishedTables, writeRunReport, type SweepConfig, type SweepGrid, type TimingOptions, type UnitResult,
} from '@sparsenet/sparsenet';

const FULL_GRID: SweepGrid = DEFAULT_SWEEP_CONFIG;

describe('grid', () => {
  it('lists per seed the baseline, one unpruned fine-tune for every sparsity 0, then every pruner at its sparsities, ascending', () => {
    const units = enumerateUnits(FULL_GRID);
    expect(units).toHaveLength(3 * (1 + 1 + 6 + 6 + 3));
    const seed1 = units.filter((u) => u.seed === 1).map((u) => u.id);
    expect(seed1.slice(0, 3)).toEqual(['seed1/dense', 'seed1/dense-finetuned', 'seed1/magnitude-0.5']);
    expect(seed1.slice(-3)).toEqual(['seed1/structured-0.25', 'seed1/structured-0.5', 'seed1/structured-0.75']);
    expect(units.filter((u) => u.pruner === 'random').map((u) => u.sparsity).slice(0, 6)).toEqual([0.5, 0.7, 0.8, 0.9, 0.95, 0.98]);
    expect(units.filter((u) => u.pruner === 'dense-finetuned').map((u) => [u.kind, u.sparsity, u.cost])).toEqual([0, 1, 2].map(() => ['finetune', 0, 5]));
    expect(units.map((u) => u.cost).filter((c) => c === 30)).toHaveLength(3);
    const override = enumerateUnits({ ...FULL_GRID, seeds: [4], pruners: ['structured', 'random'], sparsities: [0.9, 0.3] });
    expect(override.map((u) => u.id)).toEqual(['seed4/dense', 'seed4/structured-0.3', 'seed4/structured-0.9', 'seed4/random-0.3', 'seed4/random-0.9']);
  });

  it('shards are disjoint, cover the grid and bring the baselines their fine-tunes need, for N = 1..5', () => {
    const grids: SweepGrid[] = [FULL_GRID, { ...FULL_GRID, seeds: [0], pruners: ['magnitude', 'structured'], sparsities: [0.5] }, { ...FULL_GRID, seeds: [7, 3] }];
    for (const grid of grids) {
      const units = enumerateUnits(grid);
      const total = units.reduce((s, u) => s + u.cost, 0);
      for (let count = 1; count <= 5; count++) {
        const owners = assignShards(units, count);
        expect(owners).toEqual(assignShards(units, count));
        const seen = new Map<string, number>();
        for (let index = 1; index <= count; index++) {
          const { owned, copies } = shardWork(grid, { index, count });
          for (const u of owned) {
            expect(seen.has(u.id), `${u.id} in shards ${seen.get(u.id)} and ${index} of ${count}`).toBe(false);
            seen.set(u.id, index);
          }
          const ownedIds = new Set(owned.map((u) => u.id));
          for (const seed of new Set(owned.filter((u) => u.kind === 'finetune').map((u) => u.seed))) {
            expect(ownedIds.has(`seed${seed}/dense`) || copies.some((c) => c.seed === seed)).toBe(true);
          }
          expect(copies.every((c) => c.kind === 'dense' && !ownedIds.has(c.id))).toBe(true);
          // Balanced by epochs: no shard is more than one unit's cost away from an equal share.
          const cost = owned.reduce((s, u) => s + u.cost, 0);
          expect(Math.abs(cost - total / count)).toBeLessThanOrEqual(Math.max(...units.map((u) => u.cost)));
        }
        expect([...seen.keys()].sort()).toEqual(units.map((u) => u.id).sort());
      }
    }
    // Three seeds in three shards: one seed each, no baseline trained twice.
    for (let index = 1; index <= 3; index++) {
      const { owned, copies } = shardWork(FULL_GRID, { index, count: 3 });
      expect(new Set(owned.map((u) => u.seed))).toEqual(new Set([index - 1]));
      expect(copies).toEqual([]);
    }
  });
});

describe('flags', () => {
  it('parses lists, the shard and the merge folders', () => {
    const { config } = parseSweepArgs(['--seeds', '3,1', '--pruners', 'random', '--sparsities', '0.5,0.9', '--shard', '2/4', '--finetune-epochs', '2', '--scope', 'layer']);
    expect(config).toMatchObject({ seeds: [3, 1], pruners: ['random'], sparsities: [0.5, 0.9], shard: { index: 2, count: 4 }, finetuneEpochs: 2, scope: 'layer', epochs: 30, lrSchedule: 'cosine' });
    expect(parseSweepArgs(['--lr-schedule', 'constant']).config.lrSchedule).toBe('constant');
    expect(() => parseSweepArgs(['--lr-schedule', 'step'])).toThrow(/--lr-schedule must be constant or cosine, got 'step'/);
    expect(parseSweepArgs([]).config).toEqual(DEFAULT_SWEEP_CONFIG);
    expect(parseSweepArgs(['--merge', 'a', 'b', '--out', 'm']).config).toMatchObject({ merge: ['a', 'b'], out: 'm' });
    expect(parseSweepArgs(['--help']).help).toBe(true);
  });

  it('refuses bad flags with errors naming them', () => {
    const bad: [string[], RegExp][] = [
      [['--shard', '3/2'], /--shard 3\/2: K must be between 1 and N = 2, got 3/],
      [['--shard', '0/2'], /K must be between 1 and N = 2, got 0/],
      [['--shard', 'two'], /--shard must look like K\/N/],
      [['--pruners', 'magnitude,lottery'], /--pruners: unknown pruner 'lottery' \(choices: magnitude, random, structured; trained from scratch: random-init, gradual, /],
      [['--sparsities', '0.5,1'], /--sparsities: each sparsity must be a number in \[0, 1\), got '1'/],
      [['--seeds', '0,0'], /--seeds lists a value twice/],
      [['--epochs', '0'], /--epochs must be an integer >= 1, got '0'/],
      [['--merge', 'a', '--shard', '1/2'], /--merge joins finished parts; it does not take --shard/],
      [['stray'], /unexpected argument 'stray'/],
      [['--frobnicate'], /sweep: Unknown option '--frobnicate'/],
    ];
    for (const [argv, message] of bad) expect(() => parseSweepArgs(argv), argv.join(' ')).toThrow(message);
  });

  it('--merge refuses folders that are not sweep parts', () => {
    const empty = mkdtempSync(join(tmpdir(), 'sweep-empty-'));
    try {
      expect(() => mergeParts([empty])).toThrow(/is not a sweep part \(no sweep-part-K-of-N.json in it/);
      expect(() => mergeParts([join(empty, 'nope')])).toThrow(/nope is not a folder/);
      writeFileSync(join(empty, 'sweep-part-1-of-1.json'), '{"format":"something-else"}');
      expect(() => mergeParts([empty])).toThrow(/sweep-part-1-of-1.json is not a sweep part file/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

function fakeResult(pruner: string, targetSparsity: number, seed: number, accuracy: number): UnitResult {
  return {
    unit: `seed${seed}/${pruner === 'dense' ? 'dense' : `${pruner}-${targetSparsity}`}`, pruner, targetSparsity, seed,
    testAccuracy: accuracy, testBalancedAccuracy: accuracy / 2, testLoss: 1, sparsity: targetSparsity, params: 100, nonzeroParams: 100 * (1 - targetSparsity),
    flops: 1e6, denseFlops: 2e6, compressionRatio: 1 / (1 - targetSparsity), theoreticalSpeedup: 2, msPerImage: 0.5, sparseMsPerImage: pruner === 'dense' ? null : 0.3,
    compactMsPerImage: pruner === 'structured' ? 0.25 : null, compactParams: null, compactFlops: null, compactWidths: null, trainSeconds: 1,
  };
}

describe('table', () => {
  it('has one markdown row per pruner x sparsity (and the baseline and its unpruned fine-tune), mean ± sample std over seeds', () => {
    const grid: SweepGrid = { ...FULL_GRID, seeds: [0, 1] };
    const results = enumerateUnits(grid).map((u) => fakeResult(u.pruner, u.sparsity, u.seed, 0.5 + 0.1 * u.seed));
    const summary = summarize(grid, results.reverse());
    const rows = summaryMarkdown(summary).trim().split('\n').slice(2);
    expect(rows).toHaveLength(1 + 1 + 6 + 6 + 3);
    for (const pruner of ['magnitude', 'random']) for (const s of [0.5, 0.7, 0.8, 0.9, 0.95, 0.98]) expect(rows.filter((r) => r.startsWith(`| ${pruner} | ${s} |`))).toHaveLength(1);
    for (const s of [0.25, 0.5, 0.75]) expect(rows.filter((r) => r.startsWith(`| structured | ${s} |`))).toHaveLength(1);
    expect(rows[0]).toMatch(/^\| dense \| 0 \| 2 \| dense baseline \| 0\.5500 ± 0\.0707 \|/);
    expect(rows[1]).toMatch(/^\| dense-finetuned \| 0 \| 2 \| unpruned \+ fine-tune \|/);
    expect(rows[2]).toMatch(/^\| magnitude \| 0\.5 \| 2 \| one-shot \+ fine-tune \|/);
    // In the trade-off figure the unpruned fine-tune starts every pruner's curve.
    const points = sweepRows(summary);
    for (const pruner of ['magnitude', 'random', 'structured']) expect(points.filter((p) => p.pruner === pruner)[0]).toMatchObject({ target: 0, sparsity: 0, seeds: 2 });
    expect(points).toHaveLength(3 + 6 + 6 + 3);
    expect(summary.find((s) => s.pruner === 'structured' && s.targetSparsity === 0.5)?.mean.compactMsPerImage).toBe(0.25);
    expect(summary[1].std.compactMsPerImage).toBeNull();
  });
});

/** Tiny units: a few seconds each. */
const TINY: SweepConfig = {
  ...DEFAULT_SWEEP_CONFIG, seeds: [0], pruners: ['magnitude', 'structured'], sparsities: [0.5], epochs: 1, finetuneEpochs: 1, batchSize: 32, limit: 300,
};
const TIMING: TimingOptions = { batchSize: 64, warmup: 1, blocks: 2, batchesPerBlock: 1 };
const hooks = { log: () => {}, timing: TIMING };
/** Everything but the timings, which differ run to run. */
const metricsOf = (r: UnitResult) => ({
  ...r, msPerImage: 0, sparseMsPerImage: r.sparseMsPerImage === null ? null : 0, compactMsPerImage: r.compactMsPerImage === null ? null : 0, trainSeconds: 0,
});

describe('sweep runs', () => {
  const root = mkdtempSync(join(tmpdir(), 'sweep-'));
  const whole = join(root, 'whole');
  let wholeResults: UnitResult[];

  beforeAll(async () => {
    await getDevice();
    // Fixed kernel variants: no tuning pass (the sparse ops' included), and the shards' separate runs use the same kernels.
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register', sparse_linear: 'sparse', sparse_conv2d: 'sparse' });
    // One training step of a SparseNet here compiles the kernels every unit's training shares, once for the file
    // (on an empty shader cache each costs seconds), rather than inside the first test's time.
    const model = new LeNet({ sparse: true });
    await scoped(async () => {
      crossEntropy(model.forward(tensor(new Float32Array(32 * 3 * 64 * 64), [32, 3, 64, 64])), labels(new Int32Array(32))).backward();
      await runtime().runner.sync();
    });
    for (const p of model.parameters()) p.grad?.dispose();
    model.dispose();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs every unit into its own folder and writes the tables', async () => {
    const lines: string[] = [];
    const run = await runSweep({ ...TINY, out: whole }, { ...hooks, log: (line) => lines.push(line) });
    wholeResults = run.results;
    // Each unit's line; the time left is estimated from the units trained so far, until none is left.
    const unitLines = lines.filter((line) => line.startsWith('sweep ['));
    expect(unitLines).toHaveLength(3);
    expect(unitLines[0]).toMatch(/^sweep \[1\/3\] seed0\/dense: trained \(\d+ s\): test acc [\d.]+, .*; about \d+ min left$/);
    expect(unitLines[2]).not.toMatch(/left/);
    expect(run.actions).toEqual({ 'seed0/dense': 'trained', 'seed0/magnitude-0.5': 'trained', 'seed0/structured-0.5': 'trained' });
    for (const file of ['sweep.csv', 'sweep-summary.csv', 'sweep.md', 'sweep.json', 'tradeoff.png', 'tradeoff.svg', 'tradeoff-compression.svg', 'tradeoff-balanced.png', 'report.html', 'sweep-part-1-of-1.json']) expect(existsSync(join(whole, file)), file).toBe(true);
    const md = readFileSync(join(whole, 'sweep.md'), 'utf8');
    for (const row of ['| dense | 0 | 1 |', '| magnitude | 0.5 | 1 |', '| structured | 0.5 | 1 |']) expect(md).toContain(row);
    expect(readFileSync(join(whole, 'sweep.csv'), 'utf8').trim().split('\n')).toHaveLength(4);
    const [dense, magnitude, structured] = run.results;
    expect(dense.sparsity).toBe(0);
    expect(magnitude.sparsity).toBeCloseTo(0.5, 4);
    expect(structured.compactWidths).toBe('3-8-60-42');
    expect(structured.compactMsPerImage).toBeGreaterThan(0);
    expect(magnitude.compactMsPerImage).toBeNull();
    expect(dense.sparseMsPerImage).toBeNull();
    for (const pruned of [magnitude, structured]) expect(pruned.sparseMsPerImage).toBeGreaterThan(0);
    expect(md).toContain('ms/img (sparse kernels)');
    expect(structured.compactFlops).toBeLessThan(structured.flops);
    expect(md).toContain(`| ${(structured.compactFlops! / 1e6).toFixed(3)} |`);
  });

  it('computes compression_ratio and theoretical_speedup from the saved masks as ShrinkBench defines them', () => {
    // Per image: 2 * 60 * 60 FLOPs per conv1 weight, 2 * 26 * 26 per conv2 weight, 2 per linear weight.
    const perWeight: Record<string, number> = { conv1: 2 * 60 * 60, conv2: 2 * 26 * 26, fc1: 2, fc2: 2, fc3: 2 };
    for (const result of wholeResults) {
      const { state } = readCheckpoint(join(whole, result.unit, 'final.safetensors'));
      let params = 0;
      let nonzero = 0;
      let flops = 0;
      let denseFlops = 0;
      for (const [layer, cost] of Object.entries(perWeight)) {
        for (const kind of ['weight', 'bias']) {
          const values = Array.from(state[`${layer}.${kind}`].data);
          const mask = state[`${layer}.${kind}_mask`]?.data;
          const alive = values.filter((v, i) => v !== 0 && (!mask || mask[i] !== 0)).length;
          params += values.length;
          nonzero += alive;
          if (kind === 'weight') {
            flops += cost * alive;
            denseFlops += cost * values.length;
          }
        }
      }
      expect(result.params).toBe(params);
      expect(result.nonzeroParams).toBe(nonzero);
      expect(result.flops).toBe(flops);
      expect(result.denseFlops).toBe(denseFlops);
      expect(result.compressionRatio).toBe(params / nonzero);
      expect(result.theoreticalSpeedup).toBe(denseFlops / flops);
    }
    expect(wholeResults[0].compressionRatio).toBe(1);
    expect(wholeResults[2].theoreticalSpeedup).toBeGreaterThan(1.5);
  });

  it('the compacted model, written beside the unit\'s final one, rebuilds from its file and gives the masked model\'s outputs', async () => {
    const masked = await loadCheckpointModel(join(whole, 'seed0/structured-0.5/final.safetensors'));
    const compact = await loadCheckpointModel(join(whole, 'seed0/structured-0.5/compact.safetensors'));
    const x = randomImages(5, 9);
    try {
      const want = (await noGrad(() => masked.model.eval().forward(x)).toArray()) as Float32Array;
      const got = (await noGrad(() => compact.model.eval().forward(x)).toArray()) as Float32Array;
      expect(compact.run.architecture).toEqual({ name: 'lenet', options: { widths: { conv1: 3, conv2: 8, fc1: 60, fc2: 42 } }, masked: true });
      expect((compact.model as LeNet).widths).toEqual({ conv1: 3, conv2: 8, fc1: 60, fc2: 42 });
      const scale = Math.max(...want.map(Math.abs));
      const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
      expect(worst, `max |compact - masked| = ${worst}`).toBeLessThanOrEqual(1e-4 * scale);
      expect(scale).toBeGreaterThan(0);
    } finally {
      x.dispose();
      masked.model.dispose();
      compact.model.dispose();
    }
  });

  it('--tables-only writes the tables of the units finished so far and trains nothing', async () => {
    const { config } = parseSweepArgs(['--tables-only', '--out', whole, '--seeds', '0', '--pruners', 'magnitude,structured', '--sparsities', '0.5,0.9', '--epochs', '1', '--finetune-epochs', '1', '--batch-size', '32', '--limit', '300']);
    expect(config.tablesOnly).toBe(true);
    expect(await writeFinishedTables(config)).toEqual({ finished: 3, total: 5 });
    const md = readFileSync(join(whole, 'sweep.md'), 'utf8');
    for (const row of ['| dense | 0 | 1 |', '| magnitude | 0.5 | 1 |', '| structured | 0.5 | 1 |']) expect(md).toContain(row);
    expect(md).not.toContain('| magnitude | 0.9 |');
    expect(existsSync(join(whole, 'seed0/magnitude-0.9'))).toBe(false);
    await expect(writeFinishedTables({ ...config, out: join(root, 'nothing') })).rejects.toThrow(/sweep --tables-only: no finished unit of this grid in .*nothing/);
    expect(() => parseSweepArgs(['--tables-only', '--shard', '1/2'])).toThrow(/--tables-only reads the units in --out; it takes neither --merge nor --shard/);
  });

  it('two shards merged give the unsharded table, unit for unit (runs are deterministic)', async () => {
    const parts = [join(root, 'part1'), join(root, 'part2')];
    const first = await runSweep({ ...TINY, out: parts[0], shard: { index: 1, count: 2 } }, hooks);
    const second = await runSweep({ ...TINY, out: parts[1], shard: { index: 2, count: 2 } }, hooks);
    expect(first.actions).toEqual({ 'seed0/dense': 'trained' });
    // Shard 2 owns both fine-tunes and trains its own copy of the baseline.
    expect(second.actions).toEqual({ 'seed0/dense.copy-2-of-2': 'trained', 'seed0/magnitude-0.5': 'trained', 'seed0/structured-0.5': 'trained' });
    expect(first.tablesWritten || second.tablesWritten).toBe(false);
    expect(() => mergeParts([parts[0]])).toThrow(/missing part 2\/2/);
    // --allow-partial tabulates what is finished: here part 1's baseline only.
    const partial = mergeParts([parts[0]], { allowPartial: true });
    expect(partial.results.map((r) => r.unit)).toEqual(['seed0/dense']);
    expect(partial.total).toBe(3);
    const partialOut = join(root, 'partial');
    expect(await mergeSweep([parts[0]], partialOut, { allowPartial: true })).toMatchObject({ finished: 1, total: 3 });
    expect(readFileSync(join(partialOut, 'report.html'), 'utf8')).toContain('partial: 1 of 3 units');
    expect(readFileSync(join(partialOut, 'sweep.csv'), 'utf8').split('\n')[0]).toMatch(/,unit,adapter$/);
    expect(() => mergeParts([parts[0], whole])).toThrow(/is part 1\/1 but .* is part 1\/2: merge parts of one split/);

    // Parts may also share one folder: merging that folder finds both part files.
    const shared = join(root, 'shared');
    mkdirSync(shared);
    for (const [i, dir] of parts.entries()) copyFileSync(join(dir, `sweep-part-${i + 1}-of-2.json`), join(shared, `sweep-part-${i + 1}-of-2.json`));
    expect(mergeParts([shared]).results.map(metricsOf)).toEqual(wholeResults.map(metricsOf));

    const merged = join(root, 'merged');
    const summary = (await mergeSweep(parts, merged)).rows;
    const { grid, results } = mergeParts(parts);
    expect(results.map(metricsOf)).toEqual(wholeResults.map(metricsOf));
    const copy = JSON.parse(readFileSync(join(parts[1], 'seed0/dense.copy-2-of-2/sweep-unit.json'), 'utf8')).result as UnitResult;
    expect(metricsOf(copy)).toEqual(metricsOf(wholeResults[0]));
    // Without the timings (the last three columns: masked, sparse kernels, compacted), which differ run to run.
    const strip = (md: string) => md.replace(/\| [\d.]+ \| (–|[\d.]+) \| (–|[\d.]+) \|\n/g, '|\n');
    expect(strip(summaryMarkdown(summary))).toEqual(strip(summaryMarkdown(summarize(grid, wholeResults))));
    expect(readFileSync(join(merged, 'sweep.md'), 'utf8')).toContain('| structured | 0.5 | 1 |');
  });

  it('fine-tunes the baseline unpruned as the control of sparsity 0, from its final weights', async () => {
    const out = join(root, 'control');
    const run = await runSweep({ ...TINY, pruners: ['random'], sparsities: [0], out }, hooks);
    expect(run.actions).toEqual({ 'seed0/dense': 'trained', 'seed0/dense-finetuned': 'trained' });
    const [dense, control] = run.results;
    expect(control).toMatchObject({ pruner: 'dense-finetuned', targetSparsity: 0, sparsity: 0, nonzeroParams: dense.nonzeroParams });
    expect(existsSync(join(out, 'seed0/dense-finetuned/pruned-init.safetensors'))).toBe(false);
    const config = JSON.parse(readFileSync(join(out, 'seed0/dense-finetuned/config.json'), 'utf8'));
    expect(config).toMatchObject({ model: 'sparsenet', init: join(out, 'seed0/dense/final.safetensors'), epochs: 1 });
    expect(readFileSync(join(out, 'sweep.md'), 'utf8')).toContain('| dense-finetuned | 0 | 1 |');
  });

  it('skips finished units on rerun, measures a trained one, resumes a started one, refuses other settings', async () => {
    let run = await runSweep({ ...TINY, out: whole }, hooks);
    expect(Object.values(run.actions)).toEqual(['skipped', 'skipped', 'skipped']);

    // As if killed after training the structured unit's epoch but before its end: only last.safetensors remains.
    const unit = join(whole, 'seed0/structured-0.5');
    for (const file of ['final.json', 'final.safetensors']) rmSync(join(unit, file));
    writeFileSync(join(unit, 'sweep-unit.json'), JSON.stringify({ spec: JSON.parse(readFileSync(join(unit, 'sweep-unit.json'), 'utf8')).spec }));
    const magnitude = join(whole, 'seed0/magnitude-0.5/sweep-unit.json');
    writeFileSync(magnitude, JSON.stringify({ spec: JSON.parse(readFileSync(magnitude, 'utf8')).spec }));
    run = await runSweep({ ...TINY, out: whole }, hooks);
    expect(run.actions).toEqual({ 'seed0/dense': 'skipped', 'seed0/magnitude-0.5': 'measured', 'seed0/structured-0.5': 'resumed' });
    expect(run.results.map(metricsOf)).toEqual(wholeResults.map(metricsOf));

    // A result from before the sparse-kernel timing is measured again, not retrained.
    const file = JSON.parse(readFileSync(magnitude, 'utf8'));
    delete file.result.sparseMsPerImage;
    writeFileSync(magnitude, JSON.stringify(file));
    run = await runSweep({ ...TINY, out: whole }, hooks);
    expect(run.actions).toEqual({ 'seed0/dense': 'skipped', 'seed0/magnitude-0.5': 'measured', 'seed0/structured-0.5': 'skipped' });
    expect(run.results[1].sparseMsPerImage).toBeGreaterThan(0);

    // --remeasure times every finished unit again and keeps what training measured.
    const planted = JSON.parse(readFileSync(magnitude, 'utf8'));
    planted.result.msPerImage = 12345;
    writeFileSync(magnitude, JSON.stringify(planted));
    expect(parseSweepArgs(['--remeasure']).config.remeasure).toBe(true);
    run = await runSweep({ ...TINY, remeasure: true, out: whole }, hooks);
    expect(Object.values(run.actions)).toEqual(['measured', 'measured', 'measured']);
    expect(run.results.map(metricsOf)).toEqual(wholeResults.map(metricsOf));
    expect(run.results[1].msPerImage).not.toBe(12345);
    expect(JSON.parse(readFileSync(magnitude, 'utf8')).result.msPerImage).toBe(run.results[1].msPerImage);
    expect(readFileSync(join(whole, 'sweep.csv'), 'utf8')).not.toContain('12345');
    expect(() => parseSweepArgs(['--remeasure', '--tables-only'])).toThrow(/--remeasure times the units in --out; it takes neither --merge nor --tables-only/);

    await expect(runSweep({ ...TINY, epochs: 2, out: whole }, hooks)).rejects.toThrow(/seed0\/dense\/sweep-unit.json was started with other settings \(epochs 2 here, 1 there\)/);
  });

  it('--arch resnet: every column of the table, from the layer graph, the sparse kernels and the compacted ResNet', { timeout: 600_000 }, async () => {
    expect(parseSweepArgs(['--arch', 'resnet']).config.arch).toBe('resnet');
    expect(() => parseSweepArgs(['--arch', 'alexnet'])).toThrow("sweep: --arch must be one of lenet, vgg, resnet, resnet20, got 'alexnet'");
    const out = join(root, 'resnet');
    const run = await runSweep({ ...TINY, arch: 'resnet', limit: 120, out }, hooks);
    expect(run.actions).toEqual({ 'seed0/dense': 'trained', 'seed0/magnitude-0.5': 'trained', 'seed0/structured-0.5': 'trained' });
    const [dense, magnitude, structured] = run.results;
    // FLOPs of the ResNet's layer graph; parameters as ShrinkBench's model size counts them, BatchNorm's included.
    const fresh = buildModel({ name: 'resnet', options: {}, masked: false }, { numClasses: 7, imageSize: 64, seed: 0 });
    const graph = traceLayerGraph(fresh, [3, 64, 64]);
    const dense0 = flops(graph.layers, graph).dense;
    expect(fresh.numParameters()).toBe(77_847);
    fresh.dispose();
    expect(dense).toMatchObject({ sparsity: 0, params: 77_847, flops: dense0, denseFlops: dense0, theoreticalSpeedup: 1, sparseMsPerImage: null, compactMsPerImage: null });
    expect(dense.nonzeroParams).toBeGreaterThan(77_000);
    expect(magnitude.sparsity).toBeCloseTo(0.5, 3);
    expect(magnitude.nonzeroParams).toBeLessThan(dense.nonzeroParams);
    expect(magnitude.theoreticalSpeedup).toBeGreaterThan(1.5);
    expect(magnitude.compressionRatio).toBe(magnitude.params / magnitude.nonzeroParams);
    for (const pruned of [magnitude, structured]) expect(pruned.sparseMsPerImage).toBeGreaterThan(0);
    // Half of every channel group: the compacted ResNet's widths 8/16/32 (stem, then each block's conv1, conv2, downsample).
    expect(structured.compactWidths).toBe('8-8-8-16-16-16-32-32-32');
    expect(structured.compactMsPerImage).toBeGreaterThan(0);
    expect(structured.compactFlops).toBeLessThan(dense0 / 3.5);
    expect(structured.compactParams).toBeLessThan(dense.params / 3);
    const compact = await loadCheckpointModel(join(out, 'seed0/structured-0.5/compact.safetensors'));
    expect(compact.run.architecture).toEqual({ name: 'resnet', options: { widths: [8, 16, 32], blocks: [[8], [16], [32]], stemStride: 2 }, masked: true });
    compact.model.dispose();
    // A full table: the structured row has every column; the others lack only what does not apply to them.
    const md = readFileSync(join(out, 'sweep.md'), 'utf8').split('\n');
    const row = (pruner: string) => md.find((line) => line.startsWith(`| ${pruner} |`))!;
    expect(row('structured')).not.toContain('–');
    expect(row('magnitude').match(/–/g)).toHaveLength(2);
    expect(row('dense').match(/–/g)).toHaveLength(3);
    const spec = JSON.parse(readFileSync(join(out, 'seed0/magnitude-0.5/sweep-unit.json'), 'utf8')).spec;
    expect(spec.arch).toBe('resnet');
    const init = readCheckpoint(join(out, 'seed0/magnitude-0.5/pruned-init.safetensors'));
    expect(JSON.parse(init.metadata['sparsenet.run']).architecture).toMatchObject({ name: 'resnet', masked: true });
    expect(init.state['layer2.0.downsample.0.weight_mask']).toBeDefined();
    expect(JSON.parse(readFileSync(join(out, 'seed0/dense/config.json'), 'utf8'))).toMatchObject({ arch: 'resnet', model: 'lenet' });
  });

  it('the report of a ResNet unit draws every figure as for LeNet: a mask heatmap per layer, sparsity per layer, the stem\'s filters as RGB', async () => {
    const unit = join(root, 'resnet', 'seed0/structured-0.5');
    const files = (await writeRunReport(unit)).figures.map((f) => f.split('/').at(-1));
    const layers = ['conv1', 'layer1.0.conv1', 'layer1.0.conv2', 'layer2.0.conv1', 'layer2.0.conv2', 'layer2.0.downsample.0', 'layer3.0.conv1', 'layer3.0.conv2', 'layer3.0.downsample.0', 'fc'];
    for (const file of [...layers.map((name) => `mask-${name}.png`), 'sparsity-layers.png', 'filters-conv1.png', 'filters-layer1.0.conv1.png', 'confusion.png']) expect(files, file).toContain(file);
    expect(files.filter((f) => f?.startsWith('mask-') && f.endsWith('.png'))).toHaveLength(layers.length);
    const html = readFileSync(join(unit, 'report.html'), 'utf8');
    expect(html).toContain('conv1 filters as RGB patches');
  });

  it('a result from before the layer graph (a ResNet\'s FLOPs, sparse and compact columns null) is measured again, not retrained', async () => {
    const out = join(root, 'resnet');
    const file = join(out, 'seed0/structured-0.5/sweep-unit.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...saved, result: { ...saved.result, flops: null, theoreticalSpeedup: null, sparseMsPerImage: null, compactMsPerImage: null } }));
    rmSync(join(out, 'seed0/structured-0.5/compact.safetensors'));
    const run = await runSweep({ ...TINY, arch: 'resnet', limit: 120, out }, hooks);
    expect(run.actions).toEqual({ 'seed0/dense': 'skipped', 'seed0/magnitude-0.5': 'skipped', 'seed0/structured-0.5': 'measured' });
    expect(metricsOf(run.results[2])).toEqual(metricsOf(saved.result));
    expect(existsSync(join(out, 'seed0/structured-0.5/compact.safetensors'))).toBe(true);
  });
});
