/**
 * FLOPs per image of the conv and linear layers of a layer graph (graph.ts), or of a LeNet-shaped stack on an
 * input size (stackGraph). The layers' shapes may be narrower than the graph's (a compacted model): the graph
 * gives each conv's output plane, which compaction does not change.
 *
 * FLOPs per image are 2 * MACs of the convs and linears: a conv costs 2 * in * kh * kw * OH * OW per filter, a
 * linear 2 * in per neuron. Bias adds, BatchNorm, ReLU, pooling and residual adds are not counted. Effective FLOPs count nonzero effective
 * weights (weight * mask) only: 2 * OH * OW per conv weight, 2 per linear weight. ShrinkBench's
 * theoretical_speedup is dense / effective. Dense training FLOPs are the forward, the weight gradients (as many
 * FLOPs again) and the input gradients of every layer but those reading the model's input (the image needs none):
 * LeNet's 7.16 and 18.2 MFLOP per image.
 */
import { graphLayer, stackGraph, type LayerGraph } from './graph.js';
import { countNonzero, numel } from './types.js';

/** A layer's shape, plus its weights and mask when effective FLOPs should count zeros. */
export interface FlopLayer {
  name: string;
  kind: 'conv' | 'linear';
  shape: readonly number[];
  weight?: Float32Array;
  mask?: Float32Array;
}

export interface LayerFlops {
  name: string;
  /** Conv output height and width before pooling. */
  outputSize?: [number, number];
  dense: number;
  effective: number;
}

export interface FlopCount {
  layers: LayerFlops[];
  dense: number;
  effective: number;
  /** Dense FLOPs of one training step per image: 3 x dense less the input gradients of the layers reading the image. */
  training: number;
  /** dense / effective (Infinity when nothing is left). */
  theoreticalSpeedup: number;
}

/** `geometry`: the model's layer graph, or the [H, W] input of a LeNet-shaped stack. */
export function flops(layers: readonly FlopLayer[], geometry: readonly [number, number] | LayerGraph): FlopCount {
  const graph = 'layers' in geometry ? geometry : stackGraph('flops', layers, geometry);
  const nodes = layers.map((layer) => graphLayer('flops', graph, layer.name));
  const perLayer = layers.map((layer, i): LayerFlops => {
    const size = nodes[i].outputSize;
    const perWeight = size ? 2 * size[0] * size[1] : 2;
    const nonzero = layer.weight ? countNonzero(layer.weight, layer.mask) : numel(layer.shape);
    return { name: layer.name, outputSize: size, dense: perWeight * numel(layer.shape), effective: perWeight * nonzero };
  });
  const dense = perLayer.reduce((a, l) => a + l.dense, 0);
  const effective = perLayer.reduce((a, l) => a + l.effective, 0);
  const noInputGradient = perLayer.filter((_, i) => graph.groups[nodes[i].input.group].fixed === 'input');
  const training = 3 * dense - noInputGradient.reduce((a, l) => a + l.dense, 0);
  return { layers: perLayer, dense, effective, training, theoreticalSpeedup: dense / effective };
}
