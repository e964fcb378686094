/**
 * `resnet`: a CIFAR-style ResNet (He et al. 2016, section 4.2) named as torchvision's: a 3x3 stem `conv1`/`bn1`,
 * stages `layer1`, `layer2`, ... of BasicBlocks (`conv1`, `bn1`, `conv2`, `bn2`, and `downsample`, a 1x1
 * projection and its BatchNorm, where the shape changes), global average pooling `avgpool` and one linear
 * layer `fc`. The default (stem of stride 2, one block per stage, widths 16/32/64) costs about 4.1x LeNet's
 * training FLOPs at 64x64; `resnet20` is the CIFAR ResNet-20 (three blocks per stage, stem of stride 1), about
 * 54x LeNet at 64x64. A structured-pruned ResNet compacts into a narrower one of the same options: its stage widths
 * are its residual groups' (the stem's is the first stage's: they are summed), each block's inner width (conv1's
 * filters) is given in `blocks`.
 */
import { addRelu, flatten, nn, Random, relu, type Tensor } from '@sparsenet/tensor';
import type { BuildContext, ZooEntry } from './index.js';

export interface ResNetOptions {
  /** Channels of each stage; every stage after the first halves the resolution. */
  widths: number[];
  /** Per stage, its number of BasicBlocks (each as wide inside as the stage), or each block's inner width (conv1's filters). */
  blocks: (number | number[])[];
  /** Stride of the stem's conv (2 quarters the cost of every later layer at 64x64). */
  stemStride: number;
}

export class BasicBlock extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly conv2: nn.Conv2d;
  readonly bn2: nn.BatchNorm2d;
  readonly downsample: nn.Sequential | null;

  constructor(inChannels: number, channels: number, stride: number, random: Random, inner = channels) {
    super();
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(inChannels, inner, 3, { stride, padding: 1, bias: false, seed: random }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(inner));
    this.conv2 = this.registerModule('conv2', new nn.Conv2d(inner, channels, 3, { padding: 1, bias: false, seed: random }));
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(channels));
    this.downsample = stride !== 1 || inChannels !== channels
      ? this.registerModule('downsample', new nn.Sequential(new nn.Conv2d(inChannels, channels, 1, { stride, bias: false, seed: random }), new nn.BatchNorm2d(channels)))
      : null;
  }

  forward(x: Tensor): Tensor {
    const h = relu(this.bn1.call(this.conv1.call(x)));
    const shortcut = this.downsample ? this.downsample.call(x) : x;
    return addRelu(this.bn2.call(this.conv2.call(h)), shortcut);
  }
}

export class ResNet extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly stages: nn.Sequential[];
  readonly avgpool: nn.AdaptiveAvgPool2d;
  readonly fc: nn.Linear;

  constructor(options: ResNetOptions, { numClasses, imageSize, seed }: BuildContext) {
    super();
    const { widths, blocks, stemStride } = options;
    const isPositive = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
    const positive = (values: unknown[]) => values.length > 0 && values.every(isPositive);
    if (!positive(widths) || !blocks.every((b) => isPositive(b) || (Array.isArray(b) && positive(b))) || widths.length !== blocks.length) {
      throw new Error(`zoo: resnet needs as many positive widths as block counts (or lists of inner widths), got widths ${JSON.stringify(widths)} and blocks ${JSON.stringify(blocks)}`);
    }
    if (!Number.isInteger(stemStride) || stemStride < 1) throw new Error(`zoo: resnet stemStride must be a positive integer, got ${stemStride}`);
    if (Math.ceil(imageSize / stemStride) >> (widths.length - 1) < 1) throw new Error(`zoo: resnet with ${widths.length} stages and stem stride ${stemStride} shrinks a ${imageSize}x${imageSize} image below 1 pixel`);
    const random = new Random(seed);
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(3, widths[0], 3, { stride: stemStride, padding: 1, bias: false, seed: random }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(widths[0]));
    let channels = widths[0];
    this.stages = widths.map((width, s) => {
      const stage = blocks[s];
      const inner = typeof stage === 'number' ? new Array<number>(stage).fill(width) : stage;
      const layer = inner.map((w, b) => new BasicBlock(b === 0 ? channels : width, width, b === 0 && s > 0 ? 2 : 1, random, w));
      channels = width;
      return this.registerModule(`layer${s + 1}`, new nn.Sequential(...layer));
    });
    this.avgpool = this.registerModule('avgpool', new nn.AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new nn.Linear(channels, numClasses, { seed: random }));
  }

  forward(x: Tensor): Tensor {
    let h = relu(this.bn1.call(this.conv1.call(x)));
    for (const stage of this.stages) h = stage.call(h);
    return this.fc.call(flatten(this.avgpool.call(h)));
  }
}

/** Stage widths from each stage's last conv2 (its residual group), inner widths from each block's conv1. */
function compactedResNet(options: ResNetOptions, outputs: (layer: string) => number): ResNetOptions {
  const counts = options.blocks.map((stage) => (typeof stage === 'number' ? stage : stage.length));
  return {
    ...options,
    widths: counts.map((count, s) => outputs(`layer${s + 1}.${count - 1}.conv2`)),
    blocks: counts.map((count, s) => Array.from({ length: count }, (_, b) => outputs(`layer${s + 1}.${b}.conv1`))),
  };
}

export const resnetEntry: ZooEntry<ResNetOptions> = {
  name: 'resnet',
  description: 'CIFAR-style ResNet: stride-2 stem, 3 stages of BasicBlocks (1, 1, 1; widths 16/32/64), global average pooling, one linear layer',
  defaults: { widths: [16, 32, 64], blocks: [1, 1, 1], stemStride: 2 },
  build: (options, context) => new ResNet(options, context),
  compacted: compactedResNet,
};

export const resnet20Entry: ZooEntry<ResNetOptions> = {
  name: 'resnet20',
  description: 'CIFAR ResNet-20: stride-1 stem, 3 blocks per stage (about 54x LeNet at 64x64: hours per epoch here)',
  defaults: { widths: [16, 32, 64], blocks: [3, 3, 3], stemStride: 1 },
  build: (options, context) => new ResNet(options, context),
  compacted: compactedResNet,
};
