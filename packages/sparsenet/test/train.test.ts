import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getDevice, optim, runtime } from '@sparsenet/tensor';
import { DEFAULT_TRAIN_CONFIG, interpretSparsity, LeNet, parseTrainArgs, readCheckpoint, train, type TrainConfig } from '@sparsenet/sparsenet';

const base = (out: string): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  model: 'sparsenet',
  pruner: 'magnitude',
  scope: 'global',
  sparsity: 0.8,
  schedule: 'iterative',
  pruneStart: 1,
  pruneEnd: 2,
  pruneEvery: 1,
  limit: 240,
  epochs: 3,
  batchSize: 32,
  out,
  report: false,
});

const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'sparsenet-train-')), name);
const quiet = { log: () => {} };

describe('training runs', () => {
  it('resumes a killed run and ends exactly where the uninterrupted run ends', async () => {
    await getDevice();
    // Fixed variants: both runs must use the same kernels, and tuning would dominate this small test.
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    const lines: string[] = [];
    const whole = await train(base(tmp('whole')), { log: (line) => lines.push(line) });
    // Each epoch: its metrics line, then per-class test recall and (a masked model) per-layer sparsity.
    const recallLines = lines.filter((line) => line.startsWith('  test recall '));
    expect(recallLines).toHaveLength(3);
    expect(recallLines[2]).toMatch(/^  test recall akiec (-|[\d.]+) bcc .* vasc (-|[\d.]+) \| sparsity conv1 [\d.]+ conv2 [\d.]+ fc1 [\d.]+ fc2 [\d.]+ fc3 [\d.]+$/);
    // At the end: the final model's recall per class and confusion matrix.
    expect(lines).toContain('confusion matrix (rows: true class, columns: predicted):');

    const out = tmp('killed');
    const killed = new Error('killed after epoch 2');
    await expect(
      train(base(out), { ...quiet, afterEpoch: (r) => { if (r.epoch === 2) throw killed; } }),
    ).rejects.toBe(killed);
    expect(existsSync(join(out, 'final.safetensors'))).toBe(false);
    await expect(train(base(out), quiet)).rejects.toThrow(/already holds a run.*--resume/);
    const resumed = await train({ ...base(out), resume: true }, quiet);

    expect(resumed.history.map((r) => r.trainLoss)).toEqual(whole.history.map((r) => r.trainLoss));
    // The default cosine schedule: each epoch's last step runs at PyTorch's CosineAnnealingLR rate for that step.
    const totalSteps = 3 * whole.history[0].step;
    expect(whole.history.map((r) => r.lr)).toEqual(whole.history.map((r) => optim.cosineAnnealingLr(1e-3, r.step - 1, totalSteps)));
    expect(resumed.history.map((r) => r.lr)).toEqual(whole.history.map((r) => r.lr));
    expect(resumed.final.testAccuracy).toBe(whole.final.testAccuracy);
    expect(resumed.final.testLoss).toBe(whole.final.testLoss);
    const a = readCheckpoint(join(whole.outDir, 'final.safetensors')).state;
    const b = readCheckpoint(join(out, 'final.safetensors')).state;
    for (const name of Object.keys(a)) expect(Array.from(b[name].data), name).toEqual(Array.from(a[name].data));

    // Killed before its first checkpoint (here: as start-up logs the device): --resume, as a requeued job passes
    // it, starts over with the saved settings and ends where the uninterrupted run ends.
    const early = tmp('killed-early');
    const startUp = new Error('killed during start-up');
    await expect(train(base(early), { log: (line) => { if (line.startsWith('device:')) throw startUp; } })).rejects.toBe(startUp);
    expect(existsSync(join(early, 'config.json'))).toBe(true);
    expect(existsSync(join(early, 'last.safetensors'))).toBe(false);
    const restartLines: string[] = [];
    const restarted = await train({ ...DEFAULT_TRAIN_CONFIG, out: early, resume: true }, { log: (line) => restartLines.push(line) });
    expect(restartLines.some((line) => /no checkpoint yet .* starting it from step 0 with those settings/.test(line))).toBe(true);
    expect(restarted.history.map((r) => r.trainLoss)).toEqual(whole.history.map((r) => r.trainLoss));
    await expect(train({ ...DEFAULT_TRAIN_CONFIG, out: tmp('empty'), resume: true }, quiet)).rejects.toThrow(/config.json is missing; nothing to resume/);
  });

  it('keeps masks through training and checkpoints: pruned weights are exactly zero, under PyTorch names', async () => {
    const out = tmp('masks');
    const { final } = await train(base(out), quiet);
    const { state, metadata } = readCheckpoint(join(out, 'final.safetensors'));
    let zeros = 0;
    let total = 0;
    for (const layer of ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']) {
      const w = state[`${layer}.weight`].data;
      const m = state[`${layer}.weight_mask`].data;
      expect(state[`${layer}.bias`]).toBeDefined();
      for (let i = 0; i < w.length; i++) {
        if (m[i] === 0) {
          expect(w[i]).toBe(0);
          zeros++;
        }
      }
      total += w.length;
    }
    expect(zeros).toBe(Math.round(0.8 * total));
    expect(final.sparsity).toBe(zeros / total);
    expect(JSON.parse(metadata.config).pruner).toBe('magnitude');
    const split = readFileSync(join(out, 'split.csv'), 'utf8').trim().split('\n');
    expect(split[0]).toBe('image_id,split');
    expect(split.length - 1).toBe(240);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.epochs).toHaveLength(3);
    expect(metrics.epochs[0].sparsity).toBe(0);
    expect(metrics.epochs[2].sparsity).toBe(zeros / total);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(true);
  });

  it('parses the documented flags and refuses bad ones naming the flag', () => {
    const { config } = parseTrainArgs(['--pruner', 'structured', '--sparsity', '0.5', '--epochs', '4', '--prune-start', '1', '--batch-size', '16']);
    expect(config.model).toBe('sparsenet');
    expect(config.batchSize).toBe(16);
    expect(() => parseTrainArgs(['--sparsity', 'lots'])).toThrow(/--sparsity needs a number, got 'lots'/);
    expect(() => parseTrainArgs(['--pruner', 'magic'])).toThrow(/--pruner must be one of none, magnitude, random, structured/);
    expect(() => parseTrainArgs(['--model', 'lenet', '--pruner', 'random'])).toThrow(/needs --model sparsenet/);
    expect(() => parseTrainArgs(['--frobnicate'])).toThrow(/frobnicate/);
    expect(parseTrainArgs(['--pruner', 'structured', '--structure', 'filters,neurons']).config.structure).toBe('filters,neurons');
    expect(() => parseTrainArgs(['--pruner', 'structured', '--structure', 'edges'])).toThrow(/--structure takes filters, channels, neurons or a comma-separated list of them, got 'edges'/);
    expect(() => parseTrainArgs(['--structure', 'filters,filters'])).toThrow(/--structure lists a structure twice: 'filters,filters'/);
    expect(() => parseTrainArgs(['--pruner', 'magnitude', '--prune-start', '30'])).toThrow(/--prune-start 30 is not before the last epoch/);
  });
});

describe('interpretSparsity', () => {
  it("prints the seed's lines, the totals and FLOPs dense and effective", async () => {
    await getDevice();
    const model = new LeNet({ sparse: true, seed: 3 });
    const conv1 = model.conv1.weightMask!;
    const half = new Float32Array(450).map((_, i) => (i % 2 ? 1 : 0));
    model.loadStateDict({ 'conv1.weight_mask': { dtype: 'f32', shape: [6, 3, 5, 5], data: half } }, { strict: false });
    expect(conv1.disposed).toBe(false);
    const { text, flops, report } = await interpretSparsity(model);
    expect(text.split('\n')[0]).toBe('conv1 (sparsity = 0.50): 225 weights are zero out of 450');
    expect(text).toContain('total (sparsity = 0.00): 225 weights are zero out of 337998');
    expect(flops.dense).toBe(7155096);
    expect(flops.effective).toBe(7155096 - 225 * 2 * 60 * 60);
    expect(report.params.total).toBe(338231);
    expect(text).toMatch(/FLOPs per image: 7\.16 M dense, 5\.54 M effective/);
    model.dispose();
  });
});
