/**
 * The layer graph: which prunable layer's output channels feed which layers, as channel groups. A group is one
 * space of channels: the outputs of its producer layers (several when residual adds join them), carried
 * unchanged in number through BatchNorm, activations, pooling and adds, and read by its consumer layers (a conv's
 * input channels, or a linear's inputs after a flatten, where channel c is `block` = H*W consecutive features).
 * Pruning channel c of a group removes filter c of every producer, channel c of every BatchNorm on it and input c
 * of every consumer. The model's input channels and the group reaching its output are fixed: never pruned.
 *
 * Pure data: built by tracing a model (graph/trace.ts) or, for a LeNet-shaped list of layers, by stackGraph.
 */
import { numel } from './types.js';

export interface GraphLayer {
  /** Dotted module name (`layer1.0.conv1`). */
  name: string;
  kind: 'conv' | 'linear';
  /** The weight's shape when traced: [out, in, kh, kw] or [out, in]. */
  shape: number[];
  /** The group whose channels this layer reads, and the features per channel (H*W after a flatten, else 1). */
  input: { group: number; block: number };
  /** The group its outputs (filters or neurons) belong to. */
  output: number;
  /** Conv output plane [OH, OW] before any pooling: 2 * OH * OW FLOPs per weight. Undefined for linears. */
  outputSize?: [number, number];
}

export interface ChannelGroup {
  id: number;
  channels: number;
  /** Layers whose output units are these channels. */
  producers: string[];
  /** Layers reading these channels. */
  consumers: string[];
  /** BatchNorm modules normalising these channels. */
  norms: string[];
  /** 'input': the model's input channels; 'output': the channels it returns. Neither is ever pruned. */
  fixed: 'input' | 'output' | null;
  /**
   * True when a channel whose producers are all zero stays exactly zero up to every consumer (ReLU, pooling,
   * adds and flatten keep zeros); false when a BatchNorm shifts it (to its beta), so consumers must stop reading
   * it for the channel to be removable.
   */
  zeroWhenPruned: boolean;
}

export interface LayerGraph {
  /** The traced input's shape without the batch dimension: [C, H, W]. */
  inputShape: number[];
  /** Every conv and linear layer the forward uses, in registration order. */
  layers: GraphLayer[];
  groups: ChannelGroup[];
}

/** The layers nearest the output: those whose units are the model's outputs (never structurally pruned). */
export function outputLayers(graph: LayerGraph): string[] {
  return graph.layers.filter((layer) => graph.groups[layer.output].fixed === 'output').map((layer) => layer.name);
}

/** The graph's layer `name`; throws naming `op` and the graph's layers when there is none. */
export function graphLayer(op: string, graph: LayerGraph, name: string): GraphLayer {
  const layer = graph.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`${op}: no layer '${name}' in the layer graph (layers: ${graph.layers.map((l) => l.name).join(', ')})`);
  return layer;
}

/** What a LeNet-shaped stack needs of a layer: its name, kind and weight shape. */
export interface StackLayer {
  name: string;
  kind: 'conv' | 'linear';
  shape: readonly number[];
}

/**
 * The graph of a LeNet-shaped stack on `inputSize` = [H, W]: convs first, each valid with stride 1 followed by
 * ReLU and a 2x2 max-pool of stride 2 (floor), then linears after an NCHW flatten; the last layer is the output.
 * Throws naming `op`, the layers and their shapes when they do not chain.
 */
export function stackGraph(op: string, layers: readonly StackLayer[], inputSize: readonly [number, number]): LayerGraph {
  let [h, w] = inputSize;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new Error(`${op}: input size must be two positive integers, got [${inputSize}]`);
  const inputChannels = layers[0]?.kind === 'conv' ? layers[0].shape[1] : (layers[0]?.shape[1] ?? 0);
  const groups: ChannelGroup[] = [{ id: 0, channels: inputChannels, producers: [], consumers: [], norms: [], fixed: 'input', zeroWhenPruned: true }];
  const graphLayers: GraphLayer[] = [];
  let previous: StackLayer | undefined;
  layers.forEach((layer, i) => {
    const { name, kind, shape } = layer;
    let block = 1;
    let outputSize: [number, number] | undefined;
    if (kind === 'conv') {
      if (previous?.kind === 'linear') throw new Error(`${op}: conv '${name}' follows linear '${previous.name}'; convs must come first`);
      if (previous && shape[1] !== previous.shape[0]) {
        throw new Error(`${op}: conv '${name}' [${shape}] takes ${shape[1]} channels but '${previous.name}' [${previous.shape}] gives ${previous.shape[0]}`);
      }
      const oh = h - shape[2] + 1;
      const ow = w - shape[3] + 1;
      if (oh < 1 || ow < 1) throw new Error(`${op}: conv '${name}' [${shape}] does not fit its ${h}x${w} input`);
      outputSize = [oh, ow];
      h = Math.floor(oh / 2);
      w = Math.floor(ow / 2);
    } else {
      if (previous?.kind === 'conv') block = h * w;
      const expected = previous ? previous.shape[0] * block : undefined;
      if (expected !== undefined && shape[1] !== expected) {
        throw new Error(`${op}: linear '${name}' [${shape}] takes ${shape[1]} inputs but '${previous?.name}' gives ${expected}`);
      }
    }
    groups[i].consumers.push(name);
    const last = i === layers.length - 1;
    groups.push({ id: i + 1, channels: shape[0], producers: [name], consumers: [], norms: [], fixed: last ? 'output' : null, zeroWhenPruned: true });
    graphLayers.push({ name, kind, shape: [...shape], input: { group: i, block }, output: i + 1, outputSize });
    previous = layer;
  });
  return { inputShape: [inputChannels, ...inputSize], layers: graphLayers, groups };
}

/** Features a layer's input row holds per input channel: kh * kw for a conv, the flatten block for a linear. */
export function inputBlock(layer: GraphLayer, shape: readonly number[]): number {
  return layer.kind === 'conv' ? numel(shape.slice(2)) : layer.input.block;
}
