/**
 * Compaction of a structurally pruned model into a narrower dense one with the same outputs, over its layer graph
 * (graph.ts); compactLeNet is the case of a LeNet-shaped stack.
 *
 * Channel c of a group (not the model's input or output) is removed when
 * - its producers are all dead at c and the group keeps zeros (no BatchNorm shifts them): a producer's unit is
 *   dead when its effective weights (weight * mask) on kept inputs and its effective bias are all zero, so the
 *   channel is 0 everywhere (ReLU, pooling and adds of zeros give 0); or
 * - no consumer reads it: every kept output unit of every consumer has zero effective weights on input c (conv
 *   input channel c, or the block of columns c*block.. of a linear after a flatten).
 * Removing c removes filter c of every producer with its bias, channel c of every BatchNorm on the group, and
 * input c of every consumer. This repeats until nothing changes (a removal can kill another unit).
 * Compact weights are the effective ones (pruned entries +0) and keep their masks, so the result is itself a
 * valid PrunableLayer list for sparsityReport, flops and further pruning; compactStateDict slices a state dict
 * (BatchNorm's affine parameters and running statistics too) for a model rebuilt with the kept widths.
 */
import type { nn } from '@sparsenet/tensor';
import { flops, type FlopCount } from './flops.js';
import { graphLayer, inputBlock, stackGraph, type LayerGraph } from './graph.js';
import { sparsityReport } from './sparsity.js';
import { applyMask, checkLayers, numel, type PrunableLayer } from './types.js';

export interface CompactLayer extends PrunableLayer {
  /** Original indices of the kept output units (filters or neurons). */
  keptOutputs: number[];
  /** Original indices of the kept input units: channels for a conv and for a linear after a flatten (each a
   *  block of H*W columns), features for a linear after a linear. */
  keptInputs: number[];
  /** The masked layer's weight shape. */
  originalShape: number[];
}

export interface ParamCount {
  /** Weights and biases. */
  total: number;
  nonzero: number;
}

export interface Compaction {
  layers: CompactLayer[];
  /** Kept channel indices per group of the graph, by group id. */
  keptChannels: number[][];
  /** Kept channel indices per BatchNorm module, by dotted name. */
  keptNorms: Record<string, number[]>;
  params: { masked: ParamCount; compact: ParamCount };
  flops: { masked: FlopCount; compact: FlopCount };
}

/** Compaction of a LeNet-shaped stack (stackGraph's convention) on `inputSize` = [H, W]. */
export function compactLeNet(layers: readonly PrunableLayer[], options: { inputSize: [number, number] }): Compaction {
  return compactLayers(layers, stackGraph('compactLeNet', layers, options.inputSize), 'compactLeNet');
}

/** Compaction of `layers` (one per layer of the graph, any order) over their model's layer graph. */
export function compactLayers(layers: readonly PrunableLayer[], graph: LayerGraph, op = 'compactLayers'): Compaction {
  checkLayers(op, layers);
  const byName = new Map(layers.map((layer) => [layer.name, layer]));
  for (const node of graph.layers) {
    const layer = byName.get(node.name);
    if (!layer) throw new Error(`${op}: no weights for layer '${node.name}' of the graph (got ${layers.map((l) => l.name).join(', ')})`);
    if (layer.kind !== node.kind || layer.shape.join() !== node.shape.join()) {
      throw new Error(`${op}: layer '${node.name}' is ${layer.kind} [${layer.shape}] but the graph has ${node.kind} [${node.shape}]`);
    }
  }
  const nodes = layers.map((layer) => graphLayer(op, graph, layer.name));
  const kept = graph.groups.map((group) => new Array<boolean>(group.channels).fill(true));
  const rowLength = layers.map((layer) => numel(layer.shape.slice(1)));
  const block = layers.map((layer, i) => inputBlock(nodes[i], layer.shape));
  const isLive = (i: number, j: number): boolean => layers[i].mask[j] !== 0 && layers[i].weight[j] !== 0;
  // Any live weight of layer i's output unit o on its input channel c?
  const reads = (i: number, o: number, c: number): boolean => {
    const start = o * rowLength[i] + c * block[i];
    for (let j = start; j < start + block[i]; j++) if (isLive(i, j)) return true;
    return false;
  };
  const isDead = (i: number, u: number): boolean => {
    const { bias, biasMask } = layers[i];
    if (bias && bias[u] !== 0 && (!biasMask || biasMask[u] !== 0)) return false;
    return kept[nodes[i].input.group].every((k, c) => !k || !reads(i, u, c));
  };
  const producers = graph.groups.map((group) => group.producers.map((name) => layers.indexOf(byName.get(name)!)));
  const consumers = graph.groups.map((group) => group.consumers.map((name) => layers.indexOf(byName.get(name)!)));
  const isUnread = (g: number, c: number): boolean =>
    consumers[g].length > 0 && consumers[g].every((i) => kept[nodes[i].output].every((k, o) => !k || !reads(i, o, c)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const group of graph.groups) {
      if (group.fixed) continue;
      kept[group.id].forEach((k, c) => {
        if (!k) return;
        const dead = group.zeroWhenPruned && producers[group.id].every((i) => isDead(i, c));
        if (dead || isUnread(group.id, c)) {
          kept[group.id][c] = false;
          changed = true;
        }
      });
    }
  }
  const indices = (keep: boolean[]): number[] => keep.flatMap((k, i) => (k ? [i] : []));
  const compact = layers.map((layer, i): CompactLayer => {
    const outputs = indices(kept[nodes[i].output]);
    const inputs = indices(kept[nodes[i].input.group]);
    const g = block[i];
    const positions: number[] = [];
    for (const o of outputs) for (const c of inputs) for (let k = 0; k < g; k++) positions.push(o * rowLength[i] + c * g + k);
    const gather = (values: Float32Array, at: number[]): Float32Array => Float32Array.from(at, (j) => values[j]);
    const shape = layer.kind === 'conv' ? [outputs.length, inputs.length, layer.shape[2], layer.shape[3]] : [outputs.length, inputs.length * g];
    const result: CompactLayer = {
      name: layer.name,
      kind: layer.kind,
      shape,
      weight: gather(applyMask(layer.weight, layer.mask), positions),
      mask: gather(layer.mask, positions),
      keptOutputs: outputs,
      keptInputs: inputs,
      originalShape: [...layer.shape],
    };
    if (layer.isOutput) result.isOutput = true;
    if (layer.bias) {
      result.bias = gather(applyMask(layer.bias, layer.biasMask), outputs);
      result.biasMask = layer.biasMask ? gather(layer.biasMask, outputs) : new Float32Array(outputs.length).fill(1);
    }
    return result;
  });
  const keptNorms: Record<string, number[]> = {};
  for (const group of graph.groups) for (const norm of group.norms) keptNorms[norm] = indices(kept[group.id]);
  return {
    layers: compact,
    keptChannels: kept.map(indices),
    keptNorms,
    params: { masked: sparsityReport(layers).params, compact: sparsityReport(compact).params },
    flops: { masked: flops(layers, graph), compact: flops(compact, graph) },
  };
}

/** BatchNorm entries sliced per channel; num_batches_tracked is kept as it is. */
const NORM_ENTRIES = ['weight', 'bias', 'running_mean', 'running_var'];

/**
 * The state dict of the narrower model: each compacted layer's weight, weight_mask, bias and bias_mask replaced
 * by its compact (effective) values, each BatchNorm's per-channel entries sliced to its kept channels, every
 * other entry as it is. Throws naming the entry when a sliced entry's shape does not match the compaction.
 */
export function compactStateDict(state: nn.StateDict, compaction: Compaction): nn.StateDict {
  const op = 'compactStateDict';
  const out: nn.StateDict = { ...state };
  const put = (key: string, original: readonly number[], shape: number[], data: Float32Array) => {
    const entry = state[key];
    if (!entry) return;
    if (entry.shape.join() !== original.join()) throw new Error(`${op}: '${key}' is [${entry.shape}] in the state dict, the compaction expects [${original}]`);
    out[key] = { dtype: 'f32', shape, data };
  };
  for (const layer of compaction.layers) {
    const outputs = layer.shape[0];
    const original = layer.originalShape;
    put(`${layer.name}.weight`, original, layer.shape, layer.weight);
    put(`${layer.name}.weight_mask`, original, layer.shape, layer.mask);
    if (layer.bias) put(`${layer.name}.bias`, [original[0]], [outputs], layer.bias);
    if (layer.biasMask) put(`${layer.name}.bias_mask`, [original[0]], [outputs], layer.biasMask);
  }
  for (const [norm, keptChannels] of Object.entries(compaction.keptNorms)) {
    for (const name of NORM_ENTRIES) {
      const key = `${norm}.${name}`;
      const entry = state[key];
      if (!entry) continue;
      if (entry.shape.length !== 1 || keptChannels.some((c) => c >= entry.shape[0])) {
        throw new Error(`${op}: '${key}' is [${entry.shape}], not one value per channel of its group (kept ${keptChannels.length})`);
      }
      out[key] = { dtype: entry.dtype, shape: [keptChannels.length], data: Float32Array.from(keptChannels, (c) => entry.data[c]) };
    }
  }
  return out;
}
