/**
 * Pruned models for inference on the sparse kernels: each layer's weight times its mask packed once (CSR rows for
 * linear layers, each filter's nonzero taps for conv layers), run by the sparse ops, whose tuner keeps a layer on
 * its dense kernel where that measured faster (a layer with few zeros). Outputs are the masked model's up to float
 * rounding (the sums run in another order). Inference only: pack again after the weights or masks change.
 *
 * SparseModel runs any model's own forward (BatchNorm, residual adds and all) with each conv and linear module's
 * forward replaced by its packed layer, so it needs the model to call its layers' modules. LeNet calls its ops
 * directly (ReLU and pooling fused into them): SparseLeNet re-codes its forward on the sparse ops.
 */
import { flatten, maxPool2d, nn, noGrad, sparseConv2d, sparseConv2dWeight, sparseLinear, sparseLinearWeight, tensor, untrack, type SparseConv2dWeight, type SparseLinearWeight, type Tensor } from '@sparsenet/tensor';
import { evaluateWith } from './graph/patch.js';
import { INPUT_SIZE, LAYER_NAMES, LeNet, type LayerName } from './model.js';
import { prunableLayers, type LayerGraph, type PrunableLayer } from './prune/index.js';

interface PackedLayer {
  weight: SparseConv2dWeight | SparseLinearWeight;
  /** bias * bias_mask; owned here, outside every scope. */
  bias: Tensor | null;
}

function packLayer(layer: PrunableLayer): PackedLayer {
  const { weight, mask, shape } = layer;
  const sparse = layer.kind === 'conv'
    ? sparseConv2dWeight(weight, shape as [number, number, number, number], mask)
    : sparseLinearWeight(weight, shape as [number, number], mask);
  let bias: Tensor | null = null;
  if (layer.bias) {
    bias = tensor(layer.bias.map((b, i) => (!layer.biasMask || layer.biasMask[i] ? b : 0)), [layer.bias.length]);
    untrack(bias);
  }
  return { weight: sparse, bias };
}

function disposeLayer(layer: PackedLayer): void {
  layer.weight.dispose();
  layer.bias?.dispose();
}

export class SparseModel {
  private constructor(
    private readonly model: nn.Module,
    private readonly layers: Map<string, PackedLayer>,
  ) {}

  /** Reads the weights and masks of the graph's layers back once and packs them. */
  static async pack(model: nn.Module, graph: LayerGraph): Promise<SparseModel> {
    return SparseModel.fromLayers(model, await prunableLayers(model, graph));
  }

  /** Packs `layers`, the model's prunable layers already read back. */
  static fromLayers(model: nn.Module, layers: readonly PrunableLayer[]): SparseModel {
    return new SparseModel(model, new Map(layers.map((layer) => [layer.name, packLayer(layer)])));
  }

  /** Per layer: the nonzero weights kept (weight * mask) and their fraction of the layer's weights. */
  get kept(): Record<string, { nonzeros: number; density: number }> {
    return Object.fromEntries([...this.layers].map(([name, { weight }]) => [name, { nonzeros: weight.nonzeros, density: weight.density }]));
  }

  /** The model's forward in evaluation mode on the packed layers; throws naming the layers it computed without their modules. */
  forward(x: Tensor): Tensor {
    const ran = new Set<string>();
    const sparseForward = (name: string, module: nn.Module) => {
      const packed = this.layers.get(name);
      if (!packed) return undefined;
      return (h: Tensor): Tensor => {
        ran.add(name);
        if (module instanceof nn.Conv2d) return sparseConv2d(h, packed.weight as SparseConv2dWeight, packed.bias, { stride: module.stride, padding: module.padding });
        return sparseLinear(h, packed.weight as SparseLinearWeight, packed.bias);
      };
    };
    const out = evaluateWith(this.model, sparseForward, () => noGrad(() => this.model.call(x)));
    const missed = [...this.layers.keys()].filter((name) => !ran.has(name));
    if (missed.length) {
      out.dispose();
      throw new Error(`SparseModel: ${this.model.constructor.name}.forward computed ${missed.join(', ')} without calling their modules (LeNet: use SparseLeNet)`);
    }
    return out;
  }

  dispose(): void {
    for (const layer of this.layers.values()) disposeLayer(layer);
  }
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
      packed[name] = packLayer(layer);
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
    for (const name of LAYER_NAMES) disposeLayer(this.layers[name]);
  }
}

/**
 * A model's prunable layers (read back by prunableLayers) packed for the sparse kernels: SparseLeNet for LeNet,
 * whose forward calls its ops rather than its layer modules; SparseModel for any other model.
 */
export function packSparse(model: nn.Module, layers: readonly PrunableLayer[], inputSize: number): SparseLeNet | SparseModel {
  return model instanceof LeNet ? SparseLeNet.fromLayers(layers, inputSize) : SparseModel.fromLayers(model, layers);
}
