/**
 * A trained (Sparse)LeNet for inference on the sparse kernels: each layer's weight times its mask packed once
 * (CSR rows for linear layers, each filter's nonzero taps for conv layers), run by the sparse ops, whose tuner
 * keeps a layer on its dense kernel where that measured faster (a layer with few zeros). The outputs are
 * LeNet.forward's up to float rounding (the sums run in another order). Inference only: pack again after the
 * weights or masks change.
 */
import { flatten, maxPool2d, sparseConv2d, sparseConv2dWeight, sparseLinear, sparseLinearWeight, tensor, untrack, type SparseConv2dWeight, type SparseLinearWeight, type Tensor } from '@sparsenet/tensor';
import { INPUT_SIZE, LAYER_NAMES, type LeNet, type LayerName } from './model.js';
import type { PrunableLayer } from './prune/index.js';

interface PackedLayer {
  weight: SparseConv2dWeight | SparseLinearWeight;
  /** bias * bias_mask; owned here, outside every scope. */
  bias: Tensor | null;
}

export class SparseLeNet {
  private constructor(
    private readonly layers: Record<LayerName, PackedLayer>,
    /** Side of the square input the layers were trained on. */
    readonly inputSize: number,
  ) {}

  /** Reads the model's weights and masks back once and packs them. */
  static async pack(model: LeNet): Promise<SparseLeNet> {
    return SparseLeNet.fromLayers(await model.prunableLayers(), model.inputSize);
  }

  static fromLayers(layers: readonly PrunableLayer[], inputSize = INPUT_SIZE): SparseLeNet {
    const byName = new Map(layers.map((l) => [l.name, l]));
    const packed = {} as Record<LayerName, PackedLayer>;
    for (const name of LAYER_NAMES) {
      const layer = byName.get(name);
      if (!layer) throw new Error(`SparseLeNet: no layer '${name}' among ${layers.map((l) => l.name).join(', ')}`);
      const { weight, mask, shape } = layer;
      const sparse = layer.kind === 'conv'
        ? sparseConv2dWeight(weight, shape as [number, number, number, number], mask)
        : sparseLinearWeight(weight, shape as [number, number], mask);
      let bias: Tensor | null = null;
      if (layer.bias) {
        bias = tensor(layer.bias.map((b, i) => (!layer.biasMask || layer.biasMask[i] ? b : 0)), [layer.bias.length]);
        untrack(bias);
      }
      packed[name] = { weight: sparse, bias };
    }
    return new SparseLeNet(packed, inputSize);
  }

  /** Per layer: the nonzero weights kept (weight * mask) and their fraction of the layer's weights. */
  get kept(): Record<LayerName, { nonzeros: number; density: number }> {
    return Object.fromEntries(LAYER_NAMES.map((name) => [name, { nonzeros: this.layers[name].weight.nonzeros, density: this.layers[name].weight.density }])) as Record<LayerName, { nonzeros: number; density: number }>;
  }

  /** Logits [N, classes] for images [N, 3, inputSize, inputSize]. */
  forward(x: Tensor): Tensor {
    const size = this.inputSize;
    if (x.shape.length !== 4 || x.shape[1] !== 3 || x.shape[2] !== size || x.shape[3] !== size) {
      throw new Error(`SparseLeNet: input [${x.shape}] is not [N, 3, ${size}, ${size}]`);
    }
    const { conv1, conv2, fc1, fc2, fc3 } = this.layers;
    const conv = (h: Tensor, l: PackedLayer) => maxPool2d(sparseConv2d(h, l.weight as SparseConv2dWeight, l.bias, { activation: 'relu' }), 2);
    const linear = (h: Tensor, l: PackedLayer, relu: boolean) => sparseLinear(h, l.weight as SparseLinearWeight, l.bias, relu ? { activation: 'relu' } : {});
    const h = conv(conv(x, conv1), conv2);
    return linear(linear(linear(flatten(h), fc1, true), fc2, true), fc3, false);
  }

  dispose(): void {
    for (const name of LAYER_NAMES) {
      this.layers[name].weight.dispose();
      this.layers[name].bias?.dispose();
    }
  }
}
