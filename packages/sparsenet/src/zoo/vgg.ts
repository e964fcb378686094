/**
 * `vgg`: a small VGG-style net with BatchNorm, named as torchvision's VGG: `features` is an nn.Sequential of
 * conv 3x3 (padding 1, no bias: the BatchNorm after it has one), BatchNorm2d and ReLU, with a 2x2 max-pool
 * closing each stage; then `avgpool` (global average pooling, so any image size works) and `classifier`, one
 * linear layer. The default (16, 32, 64, 96 channels, one conv per stage) costs about 4.7x LeNet's training
 * FLOPs at 64x64.
 */
import { flatten, nn, Random, type Tensor } from '@sparsenet/tensor';
import type { BuildContext, ZooEntry } from './index.js';

export interface VggOptions {
  /** Output channels of each conv, stage by stage; a 2x2 max-pool ends every stage. */
  stages: number[][];
}

export class Vgg extends nn.Module {
  readonly features: nn.Sequential;
  readonly avgpool: nn.AdaptiveAvgPool2d;
  readonly classifier: nn.Linear;

  constructor(options: VggOptions, { numClasses, imageSize, seed }: BuildContext) {
    super();
    const { stages } = options;
    if (!stages.length || stages.some((stage) => !stage.length || stage.some((w) => !Number.isInteger(w) || w < 1))) {
      throw new Error(`zoo: vgg stages must be non-empty lists of positive channel counts, got ${JSON.stringify(stages)}`);
    }
    if (imageSize >> stages.length < 1) throw new Error(`zoo: vgg with ${stages.length} stages halves a ${imageSize}x${imageSize} image below 1 pixel`);
    const random = new Random(seed);
    const layers: nn.Module[] = [];
    let channels = 3;
    for (const stage of stages) {
      for (const width of stage) {
        layers.push(new nn.Conv2d(channels, width, 3, { padding: 1, bias: false, seed: random }), new nn.BatchNorm2d(width), new nn.ReLU());
        channels = width;
      }
      layers.push(new nn.MaxPool2d(2));
    }
    this.features = this.registerModule('features', new nn.Sequential(...layers));
    this.avgpool = this.registerModule('avgpool', new nn.AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new nn.Linear(channels, numClasses, { seed: random }));
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x))));
  }
}

export const vggEntry: ZooEntry<VggOptions> = {
  name: 'vgg',
  description: 'VGG-style: conv 3x3 + BatchNorm + ReLU, max-pool per stage, global average pooling, one linear layer',
  defaults: { stages: [[16], [32], [64], [96]] },
  build: (options, context) => new Vgg(options, context),
  compacted: ({ stages }, outputs) => {
    // features.i: each conv is followed by its BatchNorm and ReLU, each stage closed by a max-pool.
    let index = 0;
    const widths = stages.map((stage) => {
      const convs = stage.map(() => {
        const width = outputs(`features.${index}`);
        index += 3;
        return width;
      });
      index += 1;
      return convs;
    });
    return { stages: widths };
  },
};
