/**
 * Lottery-ticket rewinding (Frankle and Carbin 2019; Frankle et al. 2020 rewind to an early epoch): the surviving
 * weights restart from saved values, pruned ones stay at zero.
 */
import { applyMask, checkLayers, type PrunableLayer } from './types.js';

/** Weights (and biases) saved at initialization or at an early epoch. */
export interface SavedWeights {
  name: string;
  weight: Float32Array;
  bias?: Float32Array;
}

/** saved * mask for every layer (matched by name): new arrays, ready to upload. */
export function rewindWeights(layers: readonly PrunableLayer[], saved: readonly SavedWeights[]): SavedWeights[] {
  const op = 'rewindWeights';
  checkLayers(op, layers);
  const byName = new Map(saved.map((s) => [s.name, s]));
  return layers.map((layer) => {
    const start = byName.get(layer.name);
    if (!start) throw new Error(`${op}: no saved weights for layer '${layer.name}'`);
    if (start.weight.length !== layer.weight.length) {
      throw new Error(`${op}: saved weights of '${layer.name}' have ${start.weight.length} entries, the layer [${layer.shape}] has ${layer.weight.length}`);
    }
    if (Boolean(start.bias) !== Boolean(layer.bias) || (start.bias && start.bias.length !== layer.bias?.length)) {
      throw new Error(`${op}: saved bias of '${layer.name}' (${start.bias?.length ?? 'none'}) does not match the layer's (${layer.bias?.length ?? 'none'})`);
    }
    return { name: layer.name, weight: applyMask(start.weight, layer.mask), bias: start.bias && applyMask(start.bias, layer.biasMask) };
  });
}
