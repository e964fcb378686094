/**
 * Masks on any module tree, as torch.nn.utils.prune puts them: a masked nn.Conv2d or nn.Linear carries 0/1
 * buffers `weight_mask` (the weight's shape) and `bias_mask` ([out]), found by PyTorch's dotted names
 * (`layer1.0.conv1`). The kernels multiply weight by mask; masked Adam keeps pruned weights at zero.
 * prunableLayers reads the layers back for the pruners; loadLayerMasks writes their new masks to the model.
 */
import { nn, tensor } from '@sparsenet/tensor';
import { outputLayers, type LayerGraph } from './graph.js';
import { applyMask, type PrunableLayer } from './types.js';

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

/**
 * The model's layers as the pruners take them, in the graph's (registration) order: weights, masks (all ones on a
 * layer without `weight_mask`) and biases read back once; `isOutput` marks the layers nearest the output in the
 * graph. Throws naming the layer when the model no longer matches its graph (trace it again after rebuilding).
 */
export async function prunableLayers(model: nn.Module, graph: LayerGraph): Promise<PrunableLayer[]> {
  const layers = new Map(weightedLayers(model));
  const outputs = new Set(outputLayers(graph));
  const out: PrunableLayer[] = [];
  for (const node of graph.layers) {
    const layer = layers.get(node.name);
    if (!layer || layer.weight.shape.join() !== node.shape.join()) {
      throw new Error(`prunableLayers: the graph's ${node.kind} '${node.name}' [${node.shape}] is ${layer ? `[${layer.weight.shape}]` : 'not a conv or linear layer'} in this model; trace its graph again`);
    }
    const weight = (await layer.weight.toArray()) as Float32Array;
    const biasMask = layer.buffer('bias_mask');
    out.push({
      name: node.name,
      kind: node.kind,
      shape: [...layer.weight.shape],
      weight,
      mask: layer.weightMask ? ((await layer.weightMask.toArray()) as Float32Array) : new Float32Array(weight.length).fill(1),
      bias: layer.bias ? ((await layer.bias.toArray()) as Float32Array) : undefined,
      biasMask: biasMask ? ((await biasMask.toArray()) as Float32Array) : undefined,
      isOutput: outputs.has(node.name),
    });
  }
  return out;
}

/**
 * Uploads `layers`' masks to the model by dotted name, with their weights and biases times the masks (so that
 * checkpoints hold weight * mask; masked Adam keeps them there). Everything is checked before anything is
 * written: a layer without masks or a mask of the wrong shape throws naming the layer and the shapes.
 */
export function loadLayerMasks(model: nn.Module, layers: readonly PrunableLayer[]): void {
  const modules = new Map(weightedLayers(model));
  const state: nn.StateDict = {};
  for (const layer of layers) {
    const module = modules.get(layer.name);
    if (!module) throw new Error(`loadLayerMasks: '${layer.name}' is not a conv or linear layer of this model (layers: ${[...modules.keys()].join(', ')})`);
    if (!module.weightMask || (layer.biasMask && !module.buffer('bias_mask'))) {
      throw new Error(`loadLayerMasks: layer '${layer.name}' has no ${module.weightMask ? 'bias_mask' : 'weight_mask'}; mask the model first (maskLayers)`);
    }
    if (layer.shape.join() !== module.weight.shape.join() || layer.mask.length !== module.weight.size) {
      throw new Error(`loadLayerMasks: layer '${layer.name}' is [${module.weight.shape}] but the mask given is [${layer.shape}] (${layer.mask.length} entries)`);
    }
    state[`${layer.name}.weight`] = { dtype: 'f32', shape: layer.shape, data: applyMask(layer.weight, layer.mask) };
    state[`${layer.name}.weight_mask`] = { dtype: 'f32', shape: layer.shape, data: layer.mask };
    if (layer.bias && layer.biasMask) {
      state[`${layer.name}.bias`] = { dtype: 'f32', shape: [layer.bias.length], data: applyMask(layer.bias, layer.biasMask) };
      state[`${layer.name}.bias_mask`] = { dtype: 'f32', shape: [layer.bias.length], data: layer.biasMask };
    }
  }
  model.loadStateDict(state, { strict: false });
}
