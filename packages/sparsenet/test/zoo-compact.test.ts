/**
 * A structured-pruned zoo ResNet compacted into a narrower ResNet: the architecture it records (stage widths from
 * the residual groups, each block's inner width), the layers' shapes checked exactly, its outputs equal to the
 * masked model's in evaluation and training mode, the FLOPs of the narrower model's own graph; written as a
 * checkpoint (`npm run compact`) that rebuildModel builds again; and the bad checkpoints that write nothing.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDevice, nn, safetensors, type Tensor } from '@sparsenet/tensor';
import {
  buildModel, compactCheckpoint, compactCommand, compactModel, DEFAULT_TRAIN_CONFIG, encodeRunMetadata, flops, legacyRunMetadata, prunableLayers, pruneModel,
  readCheckpoint, rebuildModel, ResNet, saveModel, traceLayerGraph, type LayerGraph, type RunMetadata,
} from '@sparsenet/sparsenet';
import { output, randomBatch, randomizeNorms } from './graph-fixtures.js';

const SIZE = 32;
const run: RunMetadata = { ...legacyRunMetadata(true), architecture: { name: 'resnet', options: {}, masked: true }, imageSize: SIZE };
const context = { numClasses: run.classes.length, imageSize: SIZE, seed: 0 };
const dir = mkdtempSync(join(tmpdir(), 'sparsenet-zoo-compact-'));

function expectClose(got: Float32Array, want: Float32Array): void {
  const scale = Math.max(...want.map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
  expect(worst, `max |compact - masked| = ${worst}`).toBeLessThanOrEqual(1e-5 * scale);
}

/** Writes `state` as a checkpoint with `meta` as its run metadata. */
function writeCheckpoint(path: string, state: nn.StateDict, meta: RunMetadata): void {
  const tensors = Object.fromEntries(Object.entries(state).map(([name, { dtype, shape, data }]) => [name, { dtype: dtype === 'f32' ? 'F32' as const : 'I32' as const, shape, data }]));
  writeFileSync(path, safetensors.encode(tensors, encodeRunMetadata(meta)));
}

describe('compacting a structured-pruned ResNet', () => {
  let model: nn.Module;
  let graph: LayerGraph;
  let x: Tensor;
  const pruned = join(dir, 'pruned.safetensors');

  beforeAll(async () => {
    await getDevice();
    model = buildModel(run.architecture, { ...context, seed: 3 });
    randomizeNorms(model, 4);
    graph = traceLayerGraph(model, [3, SIZE, SIZE]);
    await pruneModel(model, graph, { ...DEFAULT_TRAIN_CONFIG, arch: 'resnet', model: 'sparsenet', pruner: 'structured', structure: 'filters' }, 0.5, 0);
    await saveModel(pruned, model, run, {});
    x = randomBatch([3, 3, SIZE, SIZE], 11);
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a ResNet of the kept widths (residual groups together), with the masked model\'s outputs in both modes', async () => {
    const small = await compactModel(model, graph, run.architecture, context);
    try {
      expect(small.model).toBeInstanceOf(ResNet);
      expect(small.architecture).toEqual({ name: 'resnet', options: { widths: [8, 16, 32], blocks: [[8], [16], [32]], stemStride: 2 }, masked: true });
      expect(small.compaction.layers.map((l) => `${l.name} [${l.shape}]`)).toEqual([
        'conv1 [8,3,3,3]', 'layer1.0.conv1 [8,8,3,3]', 'layer1.0.conv2 [8,8,3,3]', 'layer2.0.conv1 [16,8,3,3]', 'layer2.0.conv2 [16,16,3,3]',
        'layer2.0.downsample.0 [16,8,1,1]', 'layer3.0.conv1 [32,16,3,3]', 'layer3.0.conv2 [32,32,3,3]', 'layer3.0.downsample.0 [32,16,1,1]', 'fc [7,32]',
      ]);
      // The stem and layer1's blocks are one residual group: the same channels kept; BatchNorms sliced alike.
      const kept = (name: string) => small.compaction.layers.find((l) => l.name === name)!.keptOutputs;
      expect(kept('conv1')).toEqual(kept('layer1.0.conv2'));
      expect(kept('layer2.0.conv2')).toEqual(kept('layer2.0.downsample.0'));
      expect(small.compaction.keptNorms['layer3.0.downsample.1']).toEqual(kept('layer3.0.conv2'));
      // The compaction's FLOPs are the narrower model's own graph's.
      const narrowGraph = traceLayerGraph(small.model, [3, SIZE, SIZE]);
      expect(small.compaction.flops.compact.dense).toBe(flops(narrowGraph.layers, narrowGraph).dense);
      expect(small.compaction.flops.masked.dense / small.compaction.flops.compact.dense).toBeGreaterThan(3.5);
      for (const training of [false, true]) expectClose(await output(small.model, x, training), await output(model, x, training));
      // Training mode moved both models' running statistics alike.
      const [big, narrow] = [await model.stateDict(), await small.model.stateDict()];
      expect(narrow['layer2.0.bn1.running_mean'].data).toEqual(Float32Array.from(small.compaction.keptNorms['layer2.0.bn1'], (c) => big['layer2.0.bn1.running_mean'].data[c]));
      expect(narrow['layer2.0.bn1.num_batches_tracked'].data[0]).toBe(1);
    } finally {
      small.model.dispose();
    }
  });

  it('npm run compact writes a checkpoint whose run metadata rebuilds the narrower ResNet', async () => {
    const out = join(dir, 'compact.safetensors');
    const lines: string[] = [];
    await compactCommand(['--checkpoint', pruned, '--out', out], (text) => lines.push(text));
    expect(lines.join('\n')).toContain(`${out}: resnet, masked ({"widths":[8,16,32],"blocks":[[8],[16],[32]],"stemStride":2})`);
    const { state, metadata } = readCheckpoint(out);
    expect(metadata).toMatchObject({ sparsenet: 'compacted', compacted_from: pruned });
    const rebuilt = rebuildModel(state, metadata, out);
    try {
      expect(rebuilt.model).toBeInstanceOf(ResNet);
      expect(rebuilt.run).toMatchObject({ imageSize: SIZE, architecture: { name: 'resnet', options: { widths: [8, 16, 32], blocks: [[8], [16], [32]] } } });
      expect(state['layer3.0.conv1.weight'].shape).toEqual([32, 16, 3, 3]);
      const masked = rebuildModel(...Object.values(readCheckpoint(pruned)) as [nn.StateDict, Record<string, string>], pruned);
      expectClose(await output(rebuilt.model, x, false), await output(masked.model, x, false));
      masked.model.dispose();
    } finally {
      rebuilt.model.dispose();
    }
  });

  it('bad checkpoints are errors naming the layer and the shapes, and write nothing', async () => {
    const { state } = readCheckpoint(pruned);
    const out = join(dir, 'bad.safetensors');
    const cases: [string, nn.StateDict, RunMetadata, RegExp][] = [
      ['another architecture', state, { ...run, architecture: { name: 'vgg', options: {}, masked: true } }, /does not fit vgg, masked .* 32 of its 32 tensors are missing \('features\.0\.weight' \[16,3,3,3\]/],
      ['a mask of the wrong shape', { ...state, 'layer1.0.conv1.weight_mask': { dtype: 'f32', shape: [16, 16, 9], data: new Float32Array(16 * 16 * 9) } }, run,
        /size mismatch for 'layer1\.0\.conv1\.weight_mask': state dict \[16,16,9\], model \[16,16,3,3\]/],
      // fc reads none of layer3's channels: that group goes, then layer2's, which feed only it (layer1's loop through its block stays).
      ['a layer with nothing left', { ...state, 'fc.weight_mask': { dtype: 'f32', shape: [7, 64], data: new Float32Array(7 * 64) } }, run,
        /compactModel: layer 'layer2\.0\.conv2' \[32,32,3,3\] has no units left after compaction \(\[0,0,3,3\]\); nothing to build/],
    ];
    for (const [what, badState, meta, message] of cases) {
      const file = join(dir, `${what.replaceAll(' ', '-')}.safetensors`);
      writeCheckpoint(file, badState, meta);
      await expect(compactCheckpoint(file, out), what).rejects.toThrow(message);
      expect(existsSync(out), what).toBe(false);
    }
  });
});
