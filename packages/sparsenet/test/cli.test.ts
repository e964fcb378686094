/**
 * eval and predict on a real (tiny) run: eval reproduces the trainer's final metrics on the same split and
 * reports the masks' zeros in the seed's format; predict gives the softmax of the model's logits for JPEG files
 * prepared as training prepared them; errors name the file at fault.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safetensors } from '@sparsenet/tensor';
import {
  CLASSES, LeNet, defaultDataDir, evalCommand, evaluate, evaluateCheckpoint, formatEvaluation, legacyRunMetadata, loadCheckpointModel, loadSplits,
  predictCommand, predictImages, predictLogits, saveModel, softmax, type FinalRecord, type TrainResult,
} from '@sparsenet/sparsenet';
import { useDevice } from '../../tensor/test/helpers.js';
import { TINY_LIMIT, trainTinyRun } from './report-fixtures.js';

useDevice();

const LAYERS = ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'];

function expectNear(got: number, want: number | null, what: string, tolerance = 1e-6): void {
  if (want === null) return void expect(got, what).toBeNaN();
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(tolerance);
}

describe('eval and predict', () => {
  let run: TrainResult;
  let final: FinalRecord;
  let checkpoint: string;
  let work: string;

  beforeAll(async () => {
    run = await trainTinyRun('sparsenet-cli-');
    final = JSON.parse(readFileSync(join(run.outDir, 'final.json'), 'utf8'));
    checkpoint = join(run.outDir, 'final.safetensors');
    work = mkdtempSync(join(tmpdir(), 'sparsenet-cli-work-'));
  });
  afterAll(() => {
    rmSync(dirname(run.outDir), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("eval reproduces final.json on the run's test split (split.csv beside the checkpoint)", async () => {
    const e = await evaluateCheckpoint({ checkpoint });
    expect(e.splitSource).toBe(join(run.outDir, 'split.csv'));
    expect(e.architecture.masked).toBe(true);
    expect(e.metrics.count).toBe(final.testImages);
    expectNear(e.metrics.accuracy, final.testAccuracy, 'accuracy');
    expectNear(e.metrics.balancedAccuracy, final.testBalancedAccuracy, 'balanced accuracy');
    expectNear(e.metrics.loss, final.testLoss, 'loss');
    CLASSES.forEach((c, i) => expectNear(e.metrics.recall[i], final.testRecall[c], `recall ${c}`));
    expect(e.metrics.confusion).toEqual(final.testConfusion);
  });

  it('eval --sparse-kernels gives the same metrics on the sparse kernels', async () => {
    const dense = await evaluateCheckpoint({ checkpoint });
    const printed: string[] = [];
    const json = join(work, 'sparse-eval.json');
    await evalCommand(['--checkpoint', checkpoint, '--sparse-kernels', '--json', json], (t) => printed.push(t));
    const sparse = JSON.parse(readFileSync(json, 'utf8'));
    expect(dense.kernels).toBe('dense');
    expect(sparse.kernels).toBe('sparse');
    expect(printed[0]).toContain(', on the sparse kernels');
    expect(sparse.confusion).toEqual(dense.metrics.confusion);
    expectNear(sparse.accuracy, dense.metrics.accuracy, 'accuracy');
    expectNear(sparse.loss, dense.metrics.loss, 'loss', 1e-5);
  });

  it("eval's sparsity lines count the zeros of weight x mask, as the trainer's sparsity.txt does", async () => {
    const e = await evaluateCheckpoint({ checkpoint });
    const { tensors } = safetensors.decode(new Uint8Array(readFileSync(checkpoint)));
    const lines = LAYERS.map((layer) => {
      const weight = tensors[`${layer}.weight`].data as Float32Array;
      const mask = tensors[`${layer}.weight_mask`].data as Float32Array;
      const zeros = weight.filter((w, i) => w * mask[i] === 0).length;
      expect(zeros, `${layer}: at least the masked weights are zero`).toBeGreaterThanOrEqual(mask.filter((m) => m === 0).length);
      return `${layer} (sparsity = ${(zeros / weight.length).toFixed(2)}): ${zeros} weights are zero out of ${weight.length}`;
    });
    const text = formatEvaluation(e);
    for (const line of lines) expect(text).toContain(`\n${line}\n`);
    expect(text.endsWith(readFileSync(join(run.outDir, 'sparsity.txt'), 'utf8').trimEnd())).toBe(true);
  });

  it("without split.csv: the seeded split of the run's seed and limit (from the checkpoint's metadata) gives the same images", async () => {
    const alone = join(work, 'alone.safetensors');
    copyFileSync(checkpoint, alone);
    const e = await evaluateCheckpoint({ checkpoint: alone });
    expect(e.splitSource).toBe('seeded split (seed 0)');
    expect(e.metrics.confusion).toEqual(final.testConfusion);
    expectNear(e.metrics.loss, final.testLoss, 'loss');
    const all = await evaluateCheckpoint({ checkpoint: alone, split: 'all' });
    expect(all.metrics.count).toBe(TINY_LIMIT);
  });

  it('eval --json writes what it prints; --split and --split-file choose the images', async () => {
    const json = join(work, 'eval.json');
    const printed: string[] = [];
    await evalCommand(['--checkpoint', checkpoint, '--split', 'val', '--split-file', join(run.outDir, 'split.csv'), '--json', json], (t) => printed.push(t));
    const saved = JSON.parse(readFileSync(json, 'utf8'));
    const splitLines = readFileSync(join(run.outDir, 'split.csv'), 'utf8').split('\n').filter((l) => l.endsWith(',val'));
    expect(saved.images).toBe(splitLines.length);
    expect(saved.split).toBe('val');
    expect(printed[0]).toContain(`accuracy ${saved.accuracy.toFixed(4)}, balanced accuracy ${saved.balancedAccuracy.toFixed(4)}, loss ${saved.loss.toFixed(4)}`);
    expect(Object.keys(saved.recall)).toEqual([...CLASSES]);
    expect(saved.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(saved.images);
    expect(printed[0]).toContain(saved.sparsityText);
  });

  it('eval loads a narrower dense LeNet: widths from the weight shapes, no masks', async () => {
    const widths = { conv1: 4, conv2: 8, fc1: 30, fc2: 20 };
    const model = new LeNet({ widths, seed: 3 });
    const path = join(work, 'narrow.safetensors');
    try {
      await saveModel(path, model, legacyRunMetadata(false), { config: JSON.stringify({ limit: TINY_LIMIT, seed: 0 }) });
      const e = await evaluateCheckpoint({ checkpoint: path });
      expect(e.architecture).toEqual({ name: 'lenet', options: { widths }, masked: false });
      const data = await loadSplits({ limit: TINY_LIMIT, split: { seed: 0 }, onWarning: () => {} });
      const want = await evaluate(model, data.test);
      expect(e.metrics.confusion).toEqual(want.confusion);
      expectNear(e.metrics.loss, want.loss, 'loss');
      expect(e.sparsity.layers.map((l) => l.total)).toEqual([4 * 3 * 25, 8 * 4 * 25, 30 * 8 * 13 * 13, 20 * 30, 7 * 20]);
    } finally {
      model.dispose();
    }
  });

  it('eval errors name a missing checkpoint, a file that is not safetensors, or not a LeNet; and bad flags', async () => {
    const missing = join(work, 'missing.safetensors');
    await expect(evaluateCheckpoint({ checkpoint: missing })).rejects.toThrow(`checkpoint ${missing}: cannot read (ENOENT)`);
    const config = join(run.outDir, 'config.json');
    await expect(evaluateCheckpoint({ checkpoint: config })).rejects.toThrow(`checkpoint ${config}: not a valid safetensors file`);
    const other = join(work, 'other.safetensors');
    writeFileSync(other, safetensors.encode({ x: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }));
    await expect(evaluateCheckpoint({ checkpoint: other })).rejects.toThrow(`checkpoint ${other}: no 'conv1.weight'; not a LeNet/SparseNet checkpoint`);
    await expect(evaluateCheckpoint({ checkpoint, split: 'bogus' as 'test' })).rejects.toThrow("eval: --split must be one of test, val, train, all, got 'bogus'");
    await expect(evalCommand([], () => {})).rejects.toThrow('eval: --checkpoint FILE is required');
    await expect(evalCommand(['--checkpoint'], () => {})).rejects.toThrow(/^eval: Option '--checkpoint <value>' argument missing/);
  });

  it("predict: probabilities sum to 1 and equal the softmax of evaluate's logits for the same images", async () => {
    const data = await loadSplits({ limit: TINY_LIMIT, split: join(run.outDir, 'split.csv'), onWarning: () => {} });
    const picked = [0, 1, 2];
    const files = picked.map((i) => join(defaultDataDir(), 'images', `${data.test.imageIds[i]}.jpg`));
    const predictions = await predictImages(checkpoint, files);
    const { model } = await loadCheckpointModel(checkpoint);
    let logits: Float32Array;
    try {
      logits = await predictLogits(model, data.test);
    } finally {
      model.dispose();
    }
    predictions.forEach((p, k) => {
      expect(p.file).toBe(files[k]);
      expect(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-12);
      const want = softmax(logits.subarray(picked[k] * CLASSES.length, (picked[k] + 1) * CLASSES.length));
      p.probabilities.forEach((v, c) => expectNear(v, want[c], `${files[k]} ${CLASSES[c]}`));
      const probabilities = p.ranked.map((r) => r.probability);
      expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
      expect(p.ranked.map((r) => r.className).sort()).toEqual([...CLASSES].sort());
      expect(p.ranked[0].probability).toBe(Math.max(...p.probabilities));
    });
  });

  it('predict prints each image with its classes, most probable first, and writes --json', async () => {
    const file = join(defaultDataDir(), 'images', 'ISIC_0024306.jpg');
    const json = join(work, 'predict.json');
    const printed: string[] = [];
    await predictCommand(['--checkpoint', checkpoint, file, '--json', json], (t) => printed.push(t));
    const saved = JSON.parse(readFileSync(json, 'utf8'));
    const probabilities = saved.images[0].probabilities as Record<string, number>;
    const ranked = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
    expect(printed[0].split('\n')).toEqual([file, ...ranked.map(([c, p]) => `  ${c.padEnd(5)}  ${p.toFixed(4)}`)]);
  });

  it('predict errors name a missing or corrupt image, and a missing checkpoint', async () => {
    const good = join(defaultDataDir(), 'images', 'ISIC_0024306.jpg');
    const missing = join(work, 'missing.jpg');
    await expect(predictImages(checkpoint, [good, missing])).rejects.toThrow(`predict: cannot read ${missing}`);
    const truncated = join(work, 'truncated.jpg');
    const bytes = readFileSync(good);
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    await expect(predictImages(checkpoint, [truncated])).rejects.toThrow(`predict: corrupt or unreadable image ${truncated}`);
    const text = join(work, 'text.jpg');
    writeFileSync(text, 'not a picture');
    await expect(predictImages(checkpoint, [text])).rejects.toThrow(`predict: corrupt or unreadable image ${text}`);
    const noCheckpoint = join(work, 'none.safetensors');
    await expect(predictImages(noCheckpoint, [good])).rejects.toThrow(`checkpoint ${noCheckpoint}: cannot read (ENOENT)`);
    await expect(predictCommand(['--checkpoint', checkpoint], () => {})).rejects.toThrow('predict: give at least one image');
  });

  it('softmax is exact for huge logits', () => {
    const p = softmax([1000, 0, -1000]);
    expect(p[0]).toBe(1);
    expect(p.reduce((a, b) => a + b, 0)).toBe(1);
    softmax([0, Math.log(3)]).forEach((v, i) => expect(v).toBeCloseTo([0.25, 0.75][i], 15));
  });
});

