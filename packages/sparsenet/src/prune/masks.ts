/**
 * Masks on any module tree, as torch.nn.utils.prune puts them: a masked nn.Conv2d or nn.Linear carries 0/1
 * buffers `weight_mask` (the weight's shape) and `bias_mask` ([out]), found by PyTorch's dotted names
 * (`layer1.0.conv1`). The kernels multiply weight by mask; masked Adam keeps pruned weights at zero.
 */
import { nn, tensor } from '@sparsenet/tensor';

export type WeightedLayer = nn.Conv2d | nn.Linear;

/** Every nn.Conv2d and nn.Linear in the tree with its dotted name, in registration order. */
export function weightedLayers(model: nn.Module): [string, WeightedLayer][] {
  return model.namedModules().filter((entry): entry is [string, WeightedLayer] => entry[1] instanceof nn.Conv2d || entry[1] instanceof nn.Linear);
}

/**
 * Registers all-ones `weight_mask` and `bias_mask` buffers on the named layers (default: every conv and linear
 * layer); layers already masked keep their masks. Throws naming the layer when a name is not a conv or linear layer.
 */
export function maskLayers(model: nn.Module, names?: readonly string[]): void {
  const layers = new Map(weightedLayers(model));
  for (const name of names ?? [...layers.keys()]) {
    const layer = layers.get(name);
    if (!layer) {
      const kind = model.namedModules().find(([n]) => n === name)?.[1].constructor.name;
      throw new Error(`maskLayers: '${name}' is ${kind ? `a ${kind}, not a Conv2d or Linear` : 'not a module of this model'} (prunable: ${[...layers.keys()].join(', ')})`);
    }
    if (layer.weightMask) continue;
    const out = layer.weight.shape[0];
    layer.registerBuffer('weight_mask', tensor(new Float32Array(layer.weight.size).fill(1), layer.weight.shape));
    if (layer.bias) layer.registerBuffer('bias_mask', tensor(new Float32Array(out).fill(1), [out]));
  }
}
