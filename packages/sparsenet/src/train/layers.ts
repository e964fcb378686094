/**
 * The prunable layers of any model, read back from the device, for the trainer's sparsity records and pruning
 * events until the layer graph (graph branch: `prunableLayers(model)`, the output layer found from the graph)
 * replaces this: here the output layer is the last conv or linear layer registered, which holds for LeNet
 * (fc3) and the zoo (`classifier`, `fc`).
 */
import type { nn } from '@sparsenet/tensor';
import type { LeNet } from '../model.js';
import { weightedLayers, type PrunableLayer } from '../prune/index.js';

export async function readLayers(model: nn.Module): Promise<PrunableLayer[]> {
  const layers = weightedLayers(model);
  const read = async (t: { toArray(): Promise<Float32Array | Int32Array> } | undefined) => (t ? ((await t.toArray()) as Float32Array) : undefined);
  return Promise.all(layers.map(async ([name, layer], i): Promise<PrunableLayer> => {
    const weight = (await read(layer.weight))!;
    return {
      name,
      kind: layer.weight.shape.length === 4 ? 'conv' : 'linear',
      shape: [...layer.weight.shape],
      weight,
      mask: (await read(layer.weightMask)) ?? new Float32Array(weight.length).fill(1),
      bias: await read(layer.bias),
      biasMask: await read(layer.buffer('bias_mask')),
      isOutput: i === layers.length - 1,
    };
  }));
}

/**
 * `model` as train/pruning.ts's functions take it today (they read `prunableLayers()` and write through
 * `loadStateDict`); the graph branch makes them take any nn.Module, and this view goes.
 */
export function pruningView(model: nn.Module): LeNet {
  return { prunableLayers: () => readLayers(model), loadStateDict: model.loadStateDict.bind(model) } as unknown as LeNet;
}
