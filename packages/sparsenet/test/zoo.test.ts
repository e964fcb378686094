/**
 * The model zoo: the registry's names, defaults and option checks; lenet is today's LeNet number for number;
 * vgg and resnet carry torchvision's module names, fit the FLOPs budget (5x LeNet's 18.2 MFLOP per training
 * image) at 64x64 while ResNet-20 costs about 54x, and take masks on every conv and linear layer.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nn, noGrad, optim, scoped, tensor, type Tensor } from '@sparsenet/tensor';
import { architectureSpec, ARCHITECTURES, buildModel, flops, fullSpec, LeNet, parseTrainArgs, prunableLayers, pruneModel, resolveOptions, traceLayerGraph, weightedLayers, zooEntry, DEFAULT_TRAIN_CONFIG, encodeRunMetadata, legacyRunMetadata, saveTrainingState, type TrainConfig } from '@sparsenet/sparsenet';
import { useDevice } from '../../tensor/test/helpers.js';

useDevice();

const context = { numClasses: 7, imageSize: 64, seed: 0 };

describe('the model zoo', () => {
  it('names lenet, vgg, resnet and resnet20; options are checked against the defaults', () => {
    expect(ARCHITECTURES).toEqual(['lenet', 'vgg', 'resnet', 'resnet20']);
    expect(resolveOptions('resnet', { blocks: [2, 2, 2] })).toEqual({ widths: [16, 32, 64], blocks: [2, 2, 2], stemStride: 2 });
    expect(fullSpec({ name: 'vgg', options: {}, masked: true })).toEqual({ name: 'vgg', options: { stages: [[16], [32], [64], [96]] }, masked: true });
    expect(() => zooEntry('resnet50')).toThrow("zoo: no architecture 'resnet50' (choices: lenet, vgg, resnet, resnet20)");
    expect(() => resolveOptions('resnet', { depth: 20 })).toThrow("zoo: resnet has no option 'depth' (options: widths, blocks, stemStride)");
    expect(() => resolveOptions('resnet', { stemStride: '2' })).toThrow("zoo: resnet option 'stemStride' must be a number, got \"2\"");
    expect(() => buildModel({ name: 'resnet', options: { widths: [16, 32], blocks: [1, 1, 1] }, masked: false }, context))
      .toThrow('zoo: resnet needs as many positive widths as block counts (or lists of inner widths), got widths [16,32] and blocks [1,1,1]');
    expect(() => buildModel({ name: 'resnet', options: { blocks: [1, [8, 0], 1] }, masked: false }, context))
      .toThrow('zoo: resnet needs as many positive widths as block counts (or lists of inner widths), got widths [16,32,64] and blocks [1,[8,0],1]');
    // A stage given as its blocks' inner widths (a compacted ResNet): conv1 of each block that wide.
    const inner = buildModel({ name: 'resnet', options: { blocks: [1, [8, 12], 1] }, masked: false }, context);
    expect(weightedLayers(inner).filter(([name]) => name.startsWith('layer2')).map(([name, layer]) => `${name} [${layer.weight.shape}]`)).toEqual([
      'layer2.0.conv1 [8,16,3,3]', 'layer2.0.conv2 [32,8,3,3]', 'layer2.0.downsample.0 [32,16,1,1]', 'layer2.1.conv1 [12,32,3,3]', 'layer2.1.conv2 [32,12,3,3]',
    ]);
    inner.dispose();
    expect(() => buildModel({ name: 'vgg', options: { stages: [[8], [8], [8]] }, masked: false }, { ...context, imageSize: 4 }))
      .toThrow('zoo: vgg with 3 stages halves a 4x4 image below 1 pixel');
    // LeNet follows the class count and image size too (its flatten size from the input side).
    const small = buildModel({ name: 'lenet', options: {}, masked: false }, { ...context, numClasses: 3, imageSize: 32 });
    expect(Object.fromEntries(small.namedParameters().map(([name, t]) => [name, t.shape]))).toMatchObject({ 'fc1.weight': [120, 16 * 5 * 5], 'fc3.weight': [3, 84] });
    small.dispose();
  });

  it('train takes --arch and --arch-options; --pruner masks any architecture; bad options name the flag', () => {
    const { config } = parseTrainArgs(['--arch', 'resnet', '--arch-options', '{"blocks":[2,2,2]}', '--pruner', 'magnitude']);
    expect(config.model).toBe('sparsenet');
    expect(architectureSpec(config)).toEqual({ name: 'resnet', options: { widths: [16, 32, 64], blocks: [2, 2, 2], stemStride: 2 }, masked: true });
    expect(architectureSpec(parseTrainArgs([]).config)).toEqual({ name: 'lenet', options: { widths: { conv1: 6, conv2: 16, fc1: 120, fc2: 84 } }, masked: false });
    expect(() => parseTrainArgs(['--arch', 'alexnet'])).toThrow("train: --arch must be one of lenet, vgg, resnet, resnet20, got 'alexnet'");
    expect(() => parseTrainArgs(['--arch', 'vgg', '--arch-options', '{stages'])).toThrow(/^train: --arch-options must be JSON, got '\{stages'/);
    expect(() => parseTrainArgs(['--arch', 'vgg', '--arch-options', '[1]'])).toThrow("train: --arch-options must be a JSON object, got '[1]'");
    expect(() => parseTrainArgs(['--arch', 'vgg', '--arch-options', '{"blocks":[1]}'])).toThrow("train: zoo: vgg has no option 'blocks' (options: stages)");
    expect(() => parseTrainArgs(['--arch', 'vgg', '--model', 'lenet', '--pruner', 'random'])).toThrow('train: --pruner random needs --model sparsenet (a model without masks cannot be pruned)');
  });

  it('lenet is today\'s LeNet: the same parameter names and initial numbers for a seed', async () => {
    const zoo = buildModel({ name: 'lenet', options: {}, masked: true }, { ...context, seed: 5 });
    const today = new LeNet({ sparse: true, seed: 5 });
    expect(zoo).toBeInstanceOf(LeNet);
    const [a, b] = [await zoo.stateDict(), await today.stateDict()];
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const name of Object.keys(a)) expect(Array.from(a[name].data), name).toEqual(Array.from(b[name].data));
    zoo.dispose();
    today.dispose();
  });

  it("resnet and vgg carry torchvision's names, BatchNorm statistics included", async () => {
    const resnet = buildModel({ name: 'resnet', options: {}, masked: false }, context);
    const names = Object.keys(await resnet.stateDict());
    expect(names.slice(0, 7)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked', 'layer1.0.conv1.weight']);
    expect(names).toContain('layer2.0.downsample.0.weight');
    expect(names).toContain('layer3.0.downsample.1.running_var');
    expect(names).not.toContain('layer1.0.downsample.0.weight');
    expect(names.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(weightedLayers(resnet).map(([name]) => name)).toEqual([
      'conv1', 'layer1.0.conv1', 'layer1.0.conv2', 'layer2.0.conv1', 'layer2.0.conv2', 'layer2.0.downsample.0',
      'layer3.0.conv1', 'layer3.0.conv2', 'layer3.0.downsample.0', 'fc',
    ]);
    const vgg = buildModel({ name: 'vgg', options: {}, masked: false }, context);
    expect(weightedLayers(vgg).map(([name, layer]) => `${name} [${layer.weight.shape}]`)).toEqual([
      'features.0 [16,3,3,3]', 'features.4 [32,16,3,3]', 'features.8 [64,32,3,3]', 'features.12 [96,64,3,3]', 'classifier [7,96]',
    ]);
    resnet.dispose();
    vgg.dispose();
  });

  it('defaults cost at most 5x LeNet per training image at 64x64; ResNet-20 about 54x', async () => {
    const lenet = new LeNet();
    const lenetFlops = flops(await lenet.prunableLayers(), [64, 64]);
    lenet.dispose();
    const lenetTraining = lenetFlops.training;
    expect(lenetTraining).toBe(3 * lenetFlops.dense - lenetFlops.layers[0].dense);
    expect(lenetTraining / 1e6).toBeCloseTo(18.2, 1);
    const ratios: Record<string, number> = {};
    for (const name of ['vgg', 'resnet', 'resnet20']) {
      const model = buildModel({ name, options: {}, masked: false }, context);
      const graph = traceLayerGraph(model, [3, 64, 64]);
      const count = flops(graph.layers, graph);
      ratios[name] = count.training / lenetTraining;
      // Only the stem reads the image: it alone has no input gradient.
      expect(count.training, name).toBe(3 * count.dense - count.layers.find((l) => l.name === graph.layers[0].name)!.dense);
      if (name === 'resnet') expect([count.dense / 1e6, count.training / 1e6].map((m) => m.toFixed(1))).toEqual(['25.0', '74.1']);
      model.dispose();
    }
    expect(ratios.vgg).toBeLessThanOrEqual(5);
    expect(ratios.resnet).toBeLessThanOrEqual(5);
    expect(ratios.resnet20).toBeGreaterThan(50);
    expect(ratios.resnet20).toBeLessThan(58);
  });

  it('masked models get weight_mask on every conv and linear layer, and any class count and image size', async () => {
    const model = buildModel({ name: 'resnet', options: { blocks: [2, 1, 1] }, masked: true }, { numClasses: 3, imageSize: 24, seed: 1 });
    const layers = weightedLayers(model);
    expect(layers.length).toBe(12);
    for (const [name, layer] of layers) expect(layer.weightMask?.shape, name).toEqual(layer.weight.shape);
    expect(model.parametersWithMasks().filter((p) => p.mask).length).toBe(13);
    const logits = await scoped(async () => {
      model.eval();
      return noGrad(() => model.forward(tensor(new Float32Array(2 * 3 * 24 * 24).fill(0.5), [2, 3, 24, 24]))).shape;
    });
    expect(logits).toEqual([2, 3]);
    model.dispose();
  });

  it('every pruner masks a masked ResNet: magnitude and random (global and per layer), structured filters, channels and neurons', async () => {
    const model = buildModel({ name: 'resnet', options: {}, masked: true }, context);
    const graph = traceLayerGraph(model, [3, context.imageSize, context.imageSize]);
    const total = (await prunableLayers(model, graph)).reduce((n, l) => n + l.weight.length, 0);
    const cases: Partial<TrainConfig>[] = [
      { pruner: 'magnitude', scope: 'global' }, { pruner: 'magnitude', scope: 'layer' }, { pruner: 'random', scope: 'global' },
      { pruner: 'structured', structure: 'filters,neurons' }, { pruner: 'structured', structure: 'channels' },
    ];
    for (const settings of cases) {
      model.loadStateDict(Object.fromEntries(weightedLayers(model).map(([name, layer]) => [`${name}.weight_mask`, { dtype: 'f32' as const, shape: [...layer.weight.shape], data: new Float32Array(layer.weight.size).fill(1) }])), { strict: false });
      await pruneModel(model, graph, { ...DEFAULT_TRAIN_CONFIG, arch: 'resnet', model: 'sparsenet', ...settings } as TrainConfig, 0.5, 7);
      const layers = await prunableLayers(model, graph);
      const pruned = layers.reduce((n, l) => n + l.mask.filter((m) => m === 0).length, 0);
      const what = JSON.stringify(settings);
      if (settings.pruner !== 'structured') expect(pruned / total, what).toBeCloseTo(0.5, 3);
      else expect(pruned, what).toBeGreaterThan(0.3 * total);
      // The output layer keeps every unit under structured pruning (its inputs from pruned channels go); pruned weights are zero.
      if (settings.pruner === 'structured') {
        const output = layers.find((l) => l.isOutput)!;
        const inputs = output.shape[1];
        expect(output.name, what).toBe('fc');
        expect(Array.from({ length: output.shape[0] }, (_, u) => output.mask.subarray(u * inputs, (u + 1) * inputs).some((m) => m === 1)).every(Boolean), what).toBe(true);
        expect(output.biasMask?.every((m) => m === 1) ?? true, what).toBe(true);
      }
      for (const l of layers) expect(l.mask.every((m, i) => m === 1 || l.weight[i] === 0), `${what} ${l.name}`).toBe(true);
    }
    model.dispose();
  });

  it('the resume checkpoint refuses a model whose names would read back as optimizer state, and writes nothing', async () => {
    class Odd extends nn.Module {
      readonly inner = this.registerModule('__optimizer__', new nn.Linear(2, 2, { seed: 1 }));
      forward(x: Tensor): Tensor {
        return this.inner.call(x);
      }
    }
    const model = new Odd();
    const adam = new optim.Adam(model.parameters());
    const path = join(mkdtempSync(join(tmpdir(), 'sparsenet-zoo-')), 'last.safetensors');
    await expect(saveTrainingState(path, model, adam, null, {}, encodeRunMetadata(legacyRunMetadata(false))))
      .rejects.toThrow(`saveTrainingState ${path}: the model's '__optimizer__.weight' would read back as optimizer or rewind state; rename that module`);
    expect(existsSync(path)).toBe(false);
    adam.dispose();
    model.dispose();
  });
});
