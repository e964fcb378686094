/**
 * Training any zoo model: a masked ResNet pruned one-shot by magnitude through train(), killed and resumed to
 * the same numbers (BatchNorm's running statistics included); its checkpoints under PyTorch's names with the
 * run metadata, the resume checkpoint's optimizer moments in their own namespace; eval, the report's figures
 * and the rebuild from a checkpoint alone; and the errors for a checkpoint of another architecture.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtime } from '@sparsenet/tensor';
import {
  buildModel, DEFAULT_TRAIN_CONFIG, evaluateCheckpoint, loadCheckpointModel, OPTIMIZER_NAMESPACE, readCheckpoint, rebuildModel, ResNet, RUN_METADATA_KEY, train,
  writeRunReport, type TrainConfig,
} from '@sparsenet/sparsenet';
import { useDevice } from '../../tensor/test/helpers.js';

useDevice();

const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'sparsenet-zoo-')), name);
const quiet = { log: () => {} };
const base = (out: string): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  arch: 'resnet', model: 'sparsenet', pruner: 'magnitude', scope: 'global', sparsity: 0.5, schedule: 'oneshot', pruneStart: 1,
  limit: 120, epochs: 2, batchSize: 16, evalBatchSize: 64, out, report: false,
});

describe('training a zoo ResNet', () => {
  let whole: string;

  // Three short ResNet trainings on a CPU driver shared with other work: minutes, not seconds.
  it('resumes a killed run to the same weights and running statistics; checkpoints hold both, under PyTorch names', { timeout: 900_000 }, async () => {
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    whole = tmp('whole');
    const done = await train(base(whole), quiet);
    const killed = tmp('killed');
    const stop = new Error('killed after epoch 1');
    await expect(train(base(killed), { ...quiet, afterEpoch: (r) => { if (r.epoch === 1) throw stop; } })).rejects.toBe(stop);
    const resumed = await train({ ...base(killed), resume: true }, quiet);
    expect(resumed.history.map((r) => r.trainLoss)).toEqual(done.history.map((r) => r.trainLoss));
    expect(resumed.final.testLoss).toBe(done.final.testLoss);

    const a = readCheckpoint(join(whole, 'final.safetensors'));
    const b = readCheckpoint(join(killed, 'final.safetensors')).state;
    for (const name of Object.keys(a.state)) expect(Array.from(b[name].data), name).toEqual(Array.from(a.state[name].data));
    expect(a.state['layer2.0.downsample.1.num_batches_tracked'].data[0]).toBe(2 * done.history[0].step);
    expect(Array.from(a.state['layer1.0.bn1.running_var'].data).some((v) => v !== 1)).toBe(true);
    // Pruned to half of all conv and linear weights (global magnitude), zeros kept exactly.
    expect(done.final.sparsity).toBeCloseTo(0.5, 3);
    const w = a.state['layer3.0.conv2.weight'].data;
    const m = a.state['layer3.0.conv2.weight_mask'].data;
    expect(Array.from(m).every((keep, i) => keep === 1 || w[i] === 0)).toBe(true);
    const run = JSON.parse(a.metadata[RUN_METADATA_KEY]);
    expect(run.architecture).toEqual({ name: 'resnet', options: { widths: [16, 32, 64], blocks: [1, 1, 1], stemStride: 2 }, masked: true });
    expect(run.imageSize).toBe(64);

    // The resume checkpoint: the model's entries, and Adam's moments under a namespace no module name takes.
    const last = readCheckpoint(join(whole, 'last.safetensors')).state;
    const extra = Object.keys(last).filter((name) => !(name in a.state));
    const model = buildModel(run.architecture, { numClasses: 7, imageSize: 64, seed: 0 });
    expect(extra.length).toBe(2 * model.parameters().length); // exp_avg and exp_avg_sq of each
    model.dispose();
    expect(extra.every((name) => name.startsWith(OPTIMIZER_NAMESPACE))).toBe(true);
  });

  it('eval and the report rebuild the ResNet from its checkpoint alone', async () => {
    const loaded = await loadCheckpointModel(join(whole, 'final.safetensors'));
    expect(loaded.model).toBeInstanceOf(ResNet);
    loaded.model.dispose();
    const e = await evaluateCheckpoint({ checkpoint: join(whole, 'final.safetensors') });
    const final = JSON.parse(readFileSync(join(whole, 'final.json'), 'utf8'));
    expect(e.metrics.accuracy).toBe(final.testAccuracy);
    expect(e.architecture.name).toBe('resnet');
    const { figures } = await writeRunReport(whole);
    for (const file of ['mask-conv1.png', 'mask-layer2.0.downsample.0.png', 'mask-fc.png', 'filters-conv1.png', 'filters-layer1.0.conv1.png', 'sparsity-layers.png']) {
      expect(figures.map((f) => f.split('/').at(-1))).toContain(file);
    }
  });

  it('a checkpoint of another architecture is an error naming the architectures, the layer and the shapes', async () => {
    const { state, metadata } = readCheckpoint(join(whole, 'final.safetensors'));
    const asVgg = { ...metadata, [RUN_METADATA_KEY]: metadata[RUN_METADATA_KEY].replace('"name":"resnet"', '"name":"vgg"').replace(/"options":\{[^}]*\}/, '"options":{}') };
    expect(() => rebuildModel(state, asVgg, 'x.safetensors')).toThrow(
      'checkpoint x.safetensors does not fit vgg, masked ({"stages":[[16],[32],[64],[96]]}) for 7 classes at 64x64: 32 of its 32 tensors are missing '
      + "('features.0.weight' [16,3,3,3], 'features.1.weight' [16], 'features.1.bias' [16], ...), and 67 tensors are not its "
      + "('conv1.weight' [16,3,3,3], 'conv1.weight_mask' [16,3,3,3], 'bn1.weight' [16], ...)",
    );
    const narrower = { ...metadata, [RUN_METADATA_KEY]: metadata[RUN_METADATA_KEY].replace('"widths":[16,32,64]', '"widths":[16,32,48]') };
    expect(() => rebuildModel(state, narrower, 'y.safetensors')).toThrow(/size mismatch for 'layer3\.0\.conv1\.weight': state dict \[64,32,3,3\], model \[48,32,3,3\]/);
    const out = tmp('init-vgg');
    await expect(train({ ...base(out), arch: 'vgg', init: join(whole, 'final.safetensors') }, quiet))
      .rejects.toThrow(/^train --init .*final\.safetensors: the checkpoint is a resnet, masked .*, this run a vgg, masked .* \(--arch vgg\)$/);
    expect(existsSync(join(out, 'final.safetensors'))).toBe(false);
    // Safetensors of a model with an unknown architecture name: the run metadata names it.
    const bogus = { ...metadata, [RUN_METADATA_KEY]: metadata[RUN_METADATA_KEY].replace('"name":"resnet"', '"name":"resnet50"') };
    expect(() => rebuildModel(state, bogus, 'z.safetensors')).toThrow("zoo: no architecture 'resnet50' (choices: lenet, vgg, resnet, resnet20)");
  });
});
