/**
 * FLOPs of a LeNet-shaped stack: conv layers first, each a valid convolution with stride 1 followed by ReLU and
 * a 2x2 max-pool of stride 2 (floor), then linear layers after an NCHW (channel-major) flatten.
 *
 * FLOPs per image are 2 * MACs of the convs and linears: a conv costs 2 * in * kh * kw * OH * OW per filter, a
 * linear 2 * in per neuron. Bias adds, ReLU and pooling are not counted. Effective FLOPs count nonzero effective
 * weights (weight * mask) only: 2 * OH * OW per conv weight, 2 per linear weight. ShrinkBench's
 * theoretical_speedup is dense / effective.
 */
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
  /** dense / effective (Infinity when nothing is left). */
  theoreticalSpeedup: number;
}

export interface StackGeometry {
  /** Per layer: the conv output [OH, OW] before pooling, undefined for linears. */
  convOutput: ([number, number] | undefined)[];
  /** Inputs per channel of the first linear (H * W after the last pool), 1 without convs. */
  flattenBlock: number;
}

/** Checks that the layers chain as a LeNet-shaped stack on `inputSize` = [H, W] and returns its geometry. */
export function stackGeometry(op: string, layers: readonly FlopLayer[], inputSize: readonly [number, number]): StackGeometry {
  let [h, w] = inputSize;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new Error(`${op}: input size must be two positive integers, got [${inputSize}]`);
  const convOutput: ([number, number] | undefined)[] = [];
  let previous: FlopLayer | undefined;
  let flattenBlock = 1;
  for (const layer of layers) {
    const { name, kind, shape } = layer;
    if (kind === 'conv') {
      if (previous?.kind === 'linear') throw new Error(`${op}: conv '${name}' follows linear '${previous.name}'; convs must come first`);
      if (previous && shape[1] !== previous.shape[0]) {
        throw new Error(`${op}: conv '${name}' [${shape}] takes ${shape[1]} channels but '${previous.name}' [${previous.shape}] gives ${previous.shape[0]}`);
      }
      const oh = h - shape[2] + 1;
      const ow = w - shape[3] + 1;
      if (oh < 1 || ow < 1) throw new Error(`${op}: conv '${name}' [${shape}] does not fit its ${h}x${w} input`);
      convOutput.push([oh, ow]);
      h = Math.floor(oh / 2);
      w = Math.floor(ow / 2);
    } else {
      const expected = previous?.kind === 'conv' ? previous.shape[0] * h * w : previous?.shape[0];
      if (previous?.kind === 'conv') flattenBlock = h * w;
      if (expected !== undefined && shape[1] !== expected) {
        throw new Error(`${op}: linear '${name}' [${shape}] takes ${shape[1]} inputs but '${previous?.name}' gives ${expected}`);
      }
      convOutput.push(undefined);
    }
    previous = layer;
  }
  return { convOutput, flattenBlock };
}

export function flops(layers: readonly FlopLayer[], inputSize: readonly [number, number]): FlopCount {
  const { convOutput } = stackGeometry('flops', layers, inputSize);
  const perLayer = layers.map((layer, i): LayerFlops => {
    const size = convOutput[i];
    const perWeight = size ? 2 * size[0] * size[1] : 2;
    const nonzero = layer.weight ? countNonzero(layer.weight, layer.mask) : numel(layer.shape);
    return { name: layer.name, outputSize: size, dense: perWeight * numel(layer.shape), effective: perWeight * nonzero };
  });
  const dense = perLayer.reduce((a, l) => a + l.dense, 0);
  const effective = perLayer.reduce((a, l) => a + l.effective, 0);
  return { layers: perLayer, dense, effective, theoreticalSpeedup: dense / effective };
}
