/**
 * Sensitivity analysis and the plan made from it: every measured row equals a direct evaluation of the model
 * pruned by masks (a separate path: masked layers, not zeroed weights) and the model gets its weights back; the
 * shared drop tolerance rule and its bisection on hand-made curves; and training with --sparsity-plan prunes each
 * layer to exactly its planned count.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDevice, runtime } from '@sparsenet/tensor';
import {
  DEFAULT_TRAIN_CONFIG, ImageDataset, LeNet, dropAt, evaluate, loadLayerMasks, magnitudePrune, measureSensitivity, overallSparsity, parseTrainArgs, planAtTolerance, planForTarget,
  prunableLayers, pruneModel, readCheckpoint, readSparsityPlan, sensitivityCommand, sensitivityCsv, sensitivityCurves, structuredPrune, toleratedSparsity, traceLayerGraph, train, withMasks,
  type LayerCurve, type LayerGraph, type PrunableLayer, type SensitivityResult,
} from '@sparsenet/sparsenet';

const SIZE = 16;
const WIDTHS = { conv1: 3, conv2: 4, fc1: 10, fc2: 8 };
const CLASSES = ['a', 'b', 'c'];

/** 40 random images with random labels: enough for accuracy and loss to move when a layer is pruned. */
function tinyData(): ImageDataset {
  let state = 12345;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const n = 40;
  const ids = Array.from({ length: n }, (_, i) => `img${i}`);
  return new ImageDataset(Uint8Array.from({ length: n * SIZE * SIZE * 3 }, () => Math.floor(next() * 256)), Int32Array.from(ids, () => Math.floor(next() * 3)), ids, ids, SIZE, CLASSES);
}

/** Python's round (half to even), as the pruners count. */
const roundHalfEven = (x: number) => (Math.abs(x - Math.floor(x) - 0.5) < 1e-12 ? 2 * Math.round(x / 2) : Math.round(x));

const tinyLeNet = (sparse: boolean) => new LeNet({ sparse, seed: 4, widths: WIDTHS, numClasses: CLASSES.length, inputSize: SIZE });

describe('measureSensitivity', () => {
  const data = tinyData();
  let model: LeNet;
  let graph: LayerGraph;
  let layers: PrunableLayer[];
  const evaluateModel = (m: LeNet | import('@sparsenet/tensor').nn.Module) => evaluate(m, data, { batchSize: 64 });

  beforeAll(async () => {
    await getDevice();
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    model = tinyLeNet(false);
    graph = traceLayerGraph(model, [3, SIZE, SIZE]);
    layers = await prunableLayers(model, graph);
  });
  afterAll(() => model?.dispose());

  /** The row's metrics equal the masked model's (built apart, its masks from the pruner), and the model is restored. */
  async function checkAgainstMasks(result: SensitivityResult, masksOf: (row: SensitivityResult['rows'][number]) => ReturnType<typeof magnitudePrune>): Promise<void> {
    const direct = tinyLeNet(true);
    try {
      const dense = await evaluateModel(direct);
      expect(result.dense).toEqual({ accuracy: dense.accuracy, balancedAccuracy: dense.balancedAccuracy, loss: dense.loss });
      for (const row of result.rows) {
        loadLayerMasks(direct, withMasks(layers, masksOf(row)));
        const m = await evaluateModel(direct);
        expect(row.accuracy, `${row.layer} at ${row.sparsity}`).toBe(m.accuracy);
        expect(row.balancedAccuracy, `${row.layer} at ${row.sparsity}`).toBe(m.balancedAccuracy);
        expect(row.loss, `${row.layer} at ${row.sparsity}`).toBeCloseTo(m.loss, 6);
      }
    } finally {
      direct.dispose();
    }
    // Pruning did something: the loss moved on every row.
    for (const row of result.rows) expect(row.loss, `${row.layer} at ${row.sparsity}`).not.toBe(result.dense.loss);
    const after = await prunableLayers(model, graph);
    after.forEach((layer, i) => {
      expect(layer.weight, `${layer.name} restored`).toEqual(layers[i].weight);
      expect(layer.bias, `${layer.name} bias restored`).toEqual(layers[i].bias);
    });
  }

  it('magnitude: each layer pruned alone to exactly round(s * n) weights, rows equal to the masked model evaluated directly', async () => {
    const lines: string[] = [];
    const result = await measureSensitivity(model, graph, evaluateModel, { sparsities: [0.9, 0.3], log: (line) => lines.push(line) });
    expect(result.rows.map((r) => `${r.layer}@${r.sparsity}`)).toEqual(layers.flatMap((l) => [`${l.name}@0.3`, `${l.name}@0.9`]));
    for (const row of result.rows) {
      const n = layers.find((l) => l.name === row.layer)!.weight.length;
      expect([row.method, row.weights, row.zeros]).toEqual(['magnitude', n, roundHalfEven(row.sparsity * n)]);
    }
    expect(lines.length).toBe(1 + result.rows.length);
    await checkAgainstMasks(result, (row) => magnitudePrune(layers, { fraction: row.sparsity, scope: 'layer', layers: [row.layer] }));
    const csv = sensitivityCsv(result).trim().split('\n');
    expect(csv[1]).toBe(`(unpruned),none,0,,,${result.dense.accuracy},${result.dense.balancedAccuracy},${result.dense.loss},0`);
    expect(csv.length).toBe(2 + result.rows.length);
    const curves = sensitivityCurves(result);
    expect(curves.map((c) => [c.name, c.size, c.points.map((p) => p.sparsity)])).toEqual(layers.map((l) => [l.name, l.weight.length, [0.3, 0.9]]));
  });

  it('structured: each channel group pruned alone (the output layer never), rows equal to the masked model evaluated directly', async () => {
    const result = await measureSensitivity(model, graph, evaluateModel, { sparsities: [0.5], structures: ['filters', 'neurons'] });
    expect(result.rows.map((r) => `${r.method}:${r.layer}`)).toEqual(['filters:conv1', 'filters:conv2', 'neurons:fc1', 'neurons:fc2']);
    for (const row of result.rows) {
      const layer = layers.find((l) => l.name === row.layer)!;
      expect(row.zeros, row.layer).toBe((roundHalfEven(0.5 * layer.shape[0]) * layer.weight.length) / layer.shape[0]);
    }
    await checkAgainstMasks(result, (row) => structuredPrune(layers, { mode: row.method as 'filters' | 'neurons', fraction: row.sparsity, graph, layers: [row.layer] }));
  });

  it('refuses a sparsity outside (0, 1) or given twice, naming the flag', async () => {
    await expect(measureSensitivity(model, graph, evaluateModel, { sparsities: [0.5, 1] })).rejects.toThrow('--sparsities takes numbers in (0, 1), got 1');
    await expect(measureSensitivity(model, graph, evaluateModel, { sparsities: [0.5, 0.5] })).rejects.toThrow('--sparsities lists a sparsity twice');
  });
});

describe('npm run sensitivity', () => {
  it('refuses bad flags before loading anything, naming the flag', async () => {
    const run = (...argv: string[]) => sensitivityCommand(argv, () => {});
    await expect(run()).rejects.toThrow('sensitivity: give one RUN_DIR, got none');
    await expect(run('runs/x', '--structure', 'filters', '--target', '0.9')).rejects.toThrow('--target makes a plan for magnitude pruning; leave out --structure');
    await expect(run('runs/x', '--structure', 'rows')).rejects.toThrow("--structure takes filters, channels, neurons");
    await expect(run('runs/x', '--sparsities', '0.5,x')).rejects.toThrow("--sparsities needs numbers, got 'x'");
    await expect(run('runs/x', '--bogus')).rejects.toThrow(/sensitivity: Unknown option '--bogus'/);
  });
});

describe('the shared drop tolerance plan', () => {
  const curve = (name: string, size: number, drops: number[], sparsities = [0.25, 0.5, 0.75, 0.95]): LayerCurve => ({ name, size, points: sparsities.map((sparsity, k) => ({ sparsity, drop: drops[k] })) });
  // 'dip' rises to 0.04 at 50% and falls back to 0.01 at 75%: at t = 0.04 it jumps from 50% to past 75%.
  const curves = [curve('robust', 1000, [0, 0.005, 0.01, 0.02]), curve('fragile', 100, [0.01, 0.05, 0.2, 0.4]), curve('dip', 300, [0.01, 0.04, 0.01, 0.3]), curve('better', 50, [-0.01, -0.02, 0.03, 0.5])];

  it('walks each curve from (0, 0) to its first crossing of t, linear between points, or stops at the last point', () => {
    expect(toleratedSparsity(curves[1], 0.03)).toBeCloseTo(0.25 + (0.02 / 0.04) * 0.25, 12);
    expect(toleratedSparsity(curves[1], -0.001)).toBe(0);
    expect(toleratedSparsity(curves[0], 0.5)).toBe(0.95);
    expect(toleratedSparsity(curves[2], 0.039)).toBeCloseTo(0.25 + (0.029 / 0.03) * 0.25, 12);
    expect(toleratedSparsity(curves[2], 0.04)).toBeCloseTo(0.75 + (0.03 / 0.29) * 0.2, 12);
    expect(toleratedSparsity(curves[3], 0)).toBeCloseTo(0.5 + (0.02 / 0.05) * 0.25, 12);
    expect(dropAt(curves[1], 0.375)).toBeCloseTo(0.03, 12);
  });

  for (const target of [0.3, 0.6, 0.7, 0.8, 0.9]) {
    it(`reaches overall sparsity ${target} exactly at the smallest tolerance that does, every layer's drop within it`, () => {
      const { plan, tolerance, overall } = planForTarget(curves, target);
      const sparsities = curves.map((c) => plan[c.name]);
      expect(overall).toBeCloseTo(target, 9);
      expect(overallSparsity(curves, sparsities)).toBeCloseTo(target, 9);
      // Up to its planned sparsity each layer's curve stays within the tolerance (checked on a fine grid).
      curves.forEach((c, i) => {
        for (let k = 0; k <= 200; k++) expect(dropAt(c, (sparsities[i] * k) / 200), `${c.name}`).toBeLessThanOrEqual(tolerance + 1e-9);
      });
      // Any smaller tolerance falls short of the target; this one (or the plan it interpolates into) does not.
      expect(overallSparsity(curves, planAtTolerance(curves, tolerance - 1e-6))).toBeLessThan(target);
      expect(overallSparsity(curves, planAtTolerance(curves, tolerance))).toBeGreaterThanOrEqual(target - 1e-9);
    });
  }

  it("meets the target inside a layer's jump", () => {
    // Just past t = 0.04 'dip' jumps from 50% to 75%+; a target between the two sides lands inside the jump.
    const below = overallSparsity(curves, planAtTolerance(curves, 0.04 - 1e-9));
    const above = overallSparsity(curves, planAtTolerance(curves, 0.04));
    expect(above - below).toBeGreaterThan(0.05);
    const { plan, tolerance, overall } = planForTarget(curves, (below + above) / 2);
    expect(tolerance).toBeCloseTo(0.04, 9);
    expect(overall).toBeCloseTo((below + above) / 2, 12);
    expect(plan.dip).toBeGreaterThan(0.5);
    expect(plan.dip).toBeLessThan(0.78);
  });

  it('plans nothing at target 0, and refuses a target above every layer at its largest measured sparsity', () => {
    const zero = planForTarget(curves, 0);
    expect(Object.values(zero.plan).every((s) => s === 0)).toBe(true);
    const most = overallSparsity(curves, curves.map(() => 0.95));
    expect(planForTarget(curves, most).overall).toBeCloseTo(most, 12);
    expect(() => planForTarget(curves, 0.96)).toThrow(/target 0.96 cannot be reached: with every layer at its largest measured sparsity \(robust 0.95, fragile 0.95, dip 0.95, better 0.95\) the plan is 0.9\d*; measure higher sparsities/);
  });
});

describe('training with --sparsity-plan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sensitivity-plan-'));
  const planFile = join(dir, 'plan.json');
  const plan = { conv1: 0.3, conv2: 0.55, fc1: 0.85, fc3: 0.1 };
  writeFileSync(planFile, JSON.stringify(plan));

  it('parses the flag and refuses it without magnitude pruning or beside --sparsity, naming the flags', () => {
    expect(parseTrainArgs(['--pruner', 'magnitude', '--sparsity-plan', planFile]).config.sparsityPlan).toBe(planFile);
    expect(() => parseTrainArgs(['--pruner', 'random', '--sparsity-plan', planFile])).toThrow("--sparsity-plan gives per-layer targets for --pruner magnitude, not 'random'");
    expect(() => parseTrainArgs(['--pruner', 'magnitude', '--sparsity-plan', planFile, '--sparsity', '0.5'])).toThrow('--sparsity comes from --sparsity-plan');
  });

  it('refuses an unknown layer or a sparsity outside [0, 1), naming the file and the layer', () => {
    const model = tinyLeNet(true);
    const graph = traceLayerGraph(model, [3, SIZE, SIZE]);
    model.dispose();
    const bad = (name: string, content: unknown) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(content));
      return () => readSparsityPlan(file, graph);
    };
    expect(bad('unknown.json', { conv9: 0.5 })).toThrow(`--sparsity-plan ${join(dir, 'unknown.json')}: no prunable layer 'conv9' in this model (layers: conv1, conv2, fc1, fc2, fc3)`);
    expect(bad('one.json', { fc1: 1 })).toThrow(`--sparsity-plan ${join(dir, 'one.json')}: layer 'fc1' has sparsity 1, which must be a number in [0, 1)`);
    expect(bad('text.json', { fc1: '0.5' })).toThrow(`layer 'fc1' has sparsity "0.5"`);
    expect(readSparsityPlan(planFile, graph).overall).toBeCloseTo(Object.entries(plan).reduce((a, [name, s]) => a + s * graph.layers.find((l) => l.name === name)!.shape.reduce((x, y) => x * y, 1), 0) / graph.layers.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0), 12);
  });

  it("scales each layer's target with the schedule's progress at an event", async () => {
    const model = tinyLeNet(true);
    try {
      const graph = traceLayerGraph(model, [3, SIZE, SIZE]);
      await pruneModel(model, graph, { ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', pruner: 'magnitude', sparsityPlan: planFile, sparsity: 0.8 }, 0.4, 0);
      for (const layer of await prunableLayers(model, graph)) {
        const zeros = layer.mask.reduce((a, m) => a + (m === 0 ? 1 : 0), 0);
        expect(zeros, layer.name).toBe(roundHalfEven(((plan as Record<string, number>)[layer.name] ?? 0) * 0.5 * layer.mask.length));
      }
    } finally {
      model.dispose();
    }
  });

  it('a one-epoch run ends with every layer at exactly its planned sparsity, the others dense', async () => {
    const out = join(dir, 'run');
    await train(
      { ...DEFAULT_TRAIN_CONFIG, model: 'sparsenet', archOptions: JSON.stringify({ widths: WIDTHS }), imageSize: SIZE, pruner: 'magnitude', sparsityPlan: planFile, pruneStart: 0, limit: 60, epochs: 1, batchSize: 16, out, report: false },
      { log: () => {} },
    );
    const { state } = readCheckpoint(join(out, 'final.safetensors'));
    const sizes: Record<string, number> = {};
    for (const name of ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']) {
      const mask = state[`${name}.weight_mask`].data as Float32Array;
      const weight = state[`${name}.weight`].data as Float32Array;
      sizes[name] = mask.length;
      const zeros = mask.reduce((a, m) => a + (m === 0 ? 1 : 0), 0);
      expect(zeros, name).toBe(roundHalfEven(((plan as Record<string, number>)[name] ?? 0) * mask.length));
      expect(weight.every((w, j) => mask[j] !== 0 || w === 0), `${name}: pruned weights are zero`).toBe(true);
    }
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.sparsityPlan).toBe(planFile);
    expect(config.sparsity).toBeCloseTo(Object.entries(plan).reduce((a, [name, s]) => a + s * sizes[name], 0) / total, 12);
  });
});
