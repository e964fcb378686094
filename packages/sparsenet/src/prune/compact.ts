/**
 * Compaction of a structurally pruned LeNet-shaped stack (see flops.ts for the convention: convs with ReLU and
 * 2x2 max-pool, an NCHW flatten, linears with ReLU but the last) into a smaller dense one with the same outputs.
 *
 * Between a producer layer and the next layer, unit u (a filter, or a neuron) is removed when
 * - the producer's unit is dead: its effective weights (weight * mask) on kept inputs and its effective bias are
 *   all zero, so its activation is ReLU(0) = 0 everywhere (and pools to 0); or
 * - the consumer does not read it: every kept consumer unit has zero effective weights on input u (conv input
 *   channel u, the H*W block of columns u*H*W.. of the first linear, or column u of a later linear).
 * Removing u removes producer row u with its bias and consumer input u. This repeats until nothing changes (a
 * removal can kill another unit). The output layer's units and the network's input channels are kept.
 * Compact weights are the effective ones (pruned entries +0) and keep their masks, so the result is itself a
 * valid PrunableLayer stack for sparsityReport, flops and further pruning.
 */
import { flops, stackGeometry, type FlopCount } from './flops.js';
import { sparsityReport } from './sparsity.js';
import { applyMask, checkLayers, numel, type PrunableLayer } from './types.js';

export interface CompactLayer extends PrunableLayer {
  /** Original indices of the kept output units (filters or neurons). */
  keptOutputs: number[];
  /** Original indices of the kept input units: channels for a conv and for the first linear after a conv (each a
   *  block of H*W columns), features for a later linear. */
  keptInputs: number[];
}

export interface ParamCount {
  /** Weights and biases. */
  total: number;
  nonzero: number;
}

export interface Compaction {
  layers: CompactLayer[];
  params: { masked: ParamCount; compact: ParamCount };
  flops: { masked: FlopCount; compact: FlopCount };
}

export function compactLeNet(layers: readonly PrunableLayer[], options: { inputSize: [number, number] }): Compaction {
  const op = 'compactLeNet';
  checkLayers(op, layers);
  const { flattenBlock } = stackGeometry(op, layers, options.inputSize);
  // Row positions per input unit: a kh*kw kernel, an H*W block right after the flatten, or one column.
  const group = layers.map((layer, i) => (layer.kind === 'conv' ? layer.shape[2] * layer.shape[3] : layers[i - 1]?.kind === 'conv' ? flattenBlock : 1));
  const rowLength = layers.map((layer) => numel(layer.shape.slice(1)));
  const keptOut = layers.map((layer) => new Array<boolean>(layer.shape[0]).fill(true));
  const keptIn = (i: number): boolean[] => (i === 0 ? new Array<boolean>(rowLength[0] / group[0]).fill(true) : keptOut[i - 1]);
  const isLive = (i: number, j: number): boolean => layers[i].mask[j] !== 0 && layers[i].weight[j] !== 0;
  // Any live weight of layer i's output unit o on its input unit c?
  const reads = (i: number, o: number, c: number): boolean => {
    const start = o * rowLength[i] + c * group[i];
    for (let j = start; j < start + group[i]; j++) if (isLive(i, j)) return true;
    return false;
  };
  const isDead = (i: number, u: number): boolean => {
    const { bias, biasMask } = layers[i];
    if (bias && bias[u] !== 0 && (!biasMask || biasMask[u] !== 0)) return false;
    return keptIn(i).every((kept, c) => !kept || !reads(i, u, c));
  };
  const isUnread = (i: number, u: number): boolean => keptOut[i + 1].every((kept, o) => !kept || !reads(i + 1, o, u));
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < layers.length - 1; i++) {
      keptOut[i].forEach((kept, u) => {
        if (kept && (isDead(i, u) || isUnread(i, u))) {
          keptOut[i][u] = false;
          changed = true;
        }
      });
    }
  }
  const indices = (kept: boolean[]): number[] => kept.flatMap((k, i) => (k ? [i] : []));
  const compact = layers.map((layer, i): CompactLayer => {
    const outputs = indices(keptOut[i]);
    const inputs = indices(keptIn(i));
    const g = group[i];
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
    };
    if (layer.isOutput) result.isOutput = true;
    if (layer.bias) {
      result.bias = gather(applyMask(layer.bias, layer.biasMask), outputs);
      result.biasMask = layer.biasMask ? gather(layer.biasMask, outputs) : new Float32Array(outputs.length).fill(1);
    }
    return result;
  });
  return {
    layers: compact,
    params: { masked: sparsityReport(layers).params, compact: sparsityReport(compact).params },
    flops: { masked: flops(layers, options.inputSize), compact: flops(compact, options.inputSize) },
  };
}
