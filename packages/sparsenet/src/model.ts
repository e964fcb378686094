/**
 * LeNet for square RGB inputs (64x64 by default) and SparseNet, its masked twin. Layer names and layouts are PyTorch's (conv1,
 * conv2, fc1, fc2, fc3; weight [out, in, kh, kw] / [out, in]), so a checkpoint loads into a plain PyTorch
 * LeNet. Sparse layers carry persistent 0/1 masks as buffers (`weight_mask`, `bias_mask`, PyTorch's pruning
 * names); the kernels multiply weight by mask, and masked Adam keeps pruned weights and moments at zero.
 */
import { conv2d, flatten, linear, nn, type Tensor } from '@sparsenet/tensor';
import { traceLayerGraph } from './graph/trace.js';
import { flops, formatSparsity, maskLayers, prunableLayers, sparsityReport, type FlopCount, type LayerGraph, type PrunableLayer, type SparsityReport } from './prune/index.js';

export const INPUT_SIZE = 64;
export const NUM_CLASSES = 7;
export const LAYER_NAMES = ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

/** Widths of LeNet's hidden layers: the defaults, or fewer after structured compaction. */
export interface LeNetWidths {
  conv1: number;
  conv2: number;
  fc1: number;
  fc2: number;
}

export const LENET_WIDTHS: LeNetWidths = { conv1: 6, conv2: 16, fc1: 120, fc2: 84 };

export interface LeNetOptions {
  /** Masked layers (SparseNet) or plain ones (LeNet). */
  sparse?: boolean;
  seed?: number;
  widths?: LeNetWidths;
  /** Outputs of fc3, one per class. Default NUM_CLASSES (HAM10000's 7). */
  numClasses?: number;
  /** Side of the square input; fc1's input follows it. Default INPUT_SIZE (64). */
  inputSize?: number;
}

/** The smallest input side whose conv2 output is at least one pixel. */
export const MIN_INPUT_SIZE = 16;

/** Side of conv2's pooled output for a square input: ((s - 4) / 2 - 4) / 2. */
export function featureSide(inputSize = INPUT_SIZE): number {
  return Math.floor((Math.floor((inputSize - 4) / 2) - 4) / 2);
}

export class LeNet extends nn.Module {
  readonly sparse: boolean;
  readonly widths: LeNetWidths;
  readonly numClasses: number;
  readonly inputSize: number;
  readonly conv1: nn.Conv2d;
  readonly conv2: nn.Conv2d;
  readonly fc1: nn.Linear;
  readonly fc2: nn.Linear;
  readonly fc3: nn.Linear;
  private graph: LayerGraph | undefined;

  constructor(options: LeNetOptions = {}) {
    super();
    const { sparse = false, seed = 0, widths = LENET_WIDTHS, numClasses = NUM_CLASSES, inputSize = INPUT_SIZE } = options;
    if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new Error(`LeNet: numClasses must be an integer >= 2, got ${numClasses}`);
    if (!(Number.isInteger(inputSize) && inputSize >= MIN_INPUT_SIZE)) throw new Error(`LeNet: inputSize must be an integer >= ${MIN_INPUT_SIZE}, got ${inputSize}`);
    this.sparse = sparse;
    this.widths = { ...widths };
    this.numClasses = numClasses;
    this.inputSize = inputSize;
    const side = featureSide(inputSize);
    // One seed per layer, so that changing one layer's width leaves the others' initial weights alone.
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(3, widths.conv1, 5, { seed: seed * 8 + 1 }));
    this.conv2 = this.registerModule('conv2', new nn.Conv2d(widths.conv1, widths.conv2, 5, { seed: seed * 8 + 2 }));
    this.fc1 = this.registerModule('fc1', new nn.Linear(widths.conv2 * side * side, widths.fc1, { seed: seed * 8 + 3 }));
    this.fc2 = this.registerModule('fc2', new nn.Linear(widths.fc1, widths.fc2, { seed: seed * 8 + 4 }));
    this.fc3 = this.registerModule('fc3', new nn.Linear(widths.fc2, numClasses, { seed: seed * 8 + 5 }));
    if (sparse) maskLayers(this);
  }

  /** Logits [N, numClasses] for images [N, 3, inputSize, inputSize]; ReLU is fused into the conv and linear kernels, max pooling into the conv op. */
  forward(x: Tensor): Tensor {
    const expected = [3, this.inputSize, this.inputSize];
    if (x.shape.length !== 4 || x.shape.slice(1).some((d, i) => d !== expected[i])) {
      throw new Error(`LeNet: input [${x.shape}] is not [N, 3, ${this.inputSize}, ${this.inputSize}]`);
    }
    const { conv1, conv2, fc1, fc2, fc3 } = this;
    let h = conv2d(x, conv1.weight, conv1.bias, { mask: conv1.weightMask, activation: 'relu', maxPool: 2 });
    h = conv2d(h, conv2.weight, conv2.bias, { mask: conv2.weightMask, activation: 'relu', maxPool: 2 });
    h = linear(flatten(h), fc1.weight, fc1.bias, { mask: fc1.weightMask, activation: 'relu' });
    h = linear(h, fc2.weight, fc2.bias, { mask: fc2.weightMask, activation: 'relu' });
    return linear(h, fc3.weight, fc3.bias, { mask: fc3.weightMask });
  }

  /** LeNet's layer graph on its input size, traced once (the topology of an instance never changes). */
  layerGraph(): LayerGraph {
    this.graph ??= traceLayerGraph(this, [3, this.inputSize, this.inputSize]);
    return this.graph;
  }

  /** The layers as the pruners take them (weights, masks and biases read back once), as for any model. */
  prunableLayers(): Promise<PrunableLayer[]> {
    return prunableLayers(this, this.layerGraph());
  }
}

/** SparseNet: LeNet built from masked layers. */
export function sparseNet(options: Omit<LeNetOptions, 'sparse'> = {}): LeNet {
  return new LeNet({ ...options, sparse: true });
}

export interface SparsityInterpretation {
  report: SparsityReport;
  flops: FlopCount;
  /** The seed's lines per layer and for the total, then dense and effective FLOPs per image. */
  text: string;
}

/**
 * The seed's interpret_sparsity, for a model on the GPU: per layer its sparsity and zero count (weights read
 * back once), the model's totals, ShrinkBench's compression ratio, and FLOPs per image dense and effective.
 */
export async function interpretSparsity(model: LeNet): Promise<SparsityInterpretation> {
  const layers = await model.prunableLayers();
  const report = sparsityReport(layers);
  const count = flops(layers, model.layerGraph());
  const mflops = (f: number) => (f / 1e6).toFixed(2);
  const text = [
    formatSparsity(report, { withTotal: true }),
    `parameters: ${report.params.nonzero} nonzero of ${report.params.total} (compression ratio ${report.compressionRatio.toFixed(2)})`,
    `FLOPs per image: ${mflops(count.dense)} M dense, ${mflops(count.effective)} M effective (theoretical speedup ${count.theoreticalSpeedup.toFixed(2)})`,
  ].join('\n');
  return { report, flops: count, text };
}
