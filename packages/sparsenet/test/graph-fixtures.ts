/**
 * A residual network as a user would write it with our modules, for the layer-graph tests: arbitrary module
 * names, the classifier registered first, a BatchNorm after every conv, an identity and a projected residual
 * add, a flatten with a 3x3 block per channel. Pooled is the other common head: global average pooling, Dropout. Widths are constructor options, so a compacted model is rebuilt.
 */
import { add, addRelu, beginScope, flatten, nn, noGrad, relu, Random, tensor, type Tensor } from '@sparsenet/tensor';

export interface TwigWidths {
  /** The stem and the first block's output: one group, joined by the identity add. */
  trunk: number;
  /** Inside the first block. */
  inner: number;
  /** Inside the second block. */
  widen: number;
  /** The second block's output (its right conv and its 1x1 projection). */
  out: number;
  /** The hidden linear layer. */
  hidden: number;
}

export const TWIG_WIDTHS: TwigWidths = { trunk: 6, inner: 5, widen: 7, out: 8, hidden: 10 };
/** [C, H, W] of the images Twig takes. */
export const TWIG_INPUT = [3, 12, 12];

class Bud extends nn.Module {
  readonly left: nn.Conv2d;
  readonly leftNorm: nn.BatchNorm2d;
  readonly right: nn.Conv2d;
  readonly rightNorm: nn.BatchNorm2d;
  readonly skip?: nn.Conv2d;
  readonly skipNorm?: nn.BatchNorm2d;

  constructor(inputs: number, inner: number, outputs: number, stride: number, seed: number) {
    super();
    this.left = this.registerModule('left', new nn.Conv2d(inputs, inner, 3, { stride, padding: 1, bias: false, seed }));
    this.leftNorm = this.registerModule('leftNorm', new nn.BatchNorm2d(inner));
    this.right = this.registerModule('right', new nn.Conv2d(inner, outputs, 3, { padding: 1, bias: false, seed: seed + 1 }));
    this.rightNorm = this.registerModule('rightNorm', new nn.BatchNorm2d(outputs));
    if (stride !== 1 || inputs !== outputs) {
      this.skip = this.registerModule('skip', new nn.Conv2d(inputs, outputs, 1, { stride, bias: false, seed: seed + 2 }));
      this.skipNorm = this.registerModule('skipNorm', new nn.BatchNorm2d(outputs));
    }
  }

  forward(x: Tensor): Tensor {
    const h = this.rightNorm.call(this.right.call(relu(this.leftNorm.call(this.left.call(x)))));
    // The projected block adds with the fused op, the identity block with add then relu: the graph follows both.
    return this.skip ? addRelu(h, this.skipNorm!.call(this.skip.call(x))) : relu(add(h, x));
  }
}

export class Twig extends nn.Module {
  readonly classifier: nn.Linear;
  readonly hidden: nn.Linear;
  readonly entry: nn.Conv2d;
  readonly entryNorm: nn.BatchNorm2d;
  readonly buds: nn.Sequential;

  constructor(widths: TwigWidths = TWIG_WIDTHS, seed = 0) {
    super();
    this.classifier = this.registerModule('classifier', new nn.Linear(widths.hidden, 3, { seed: seed * 10 + 1 }));
    this.hidden = this.registerModule('hidden', new nn.Linear(widths.out * 3 * 3, widths.hidden, { seed: seed * 10 + 2 }));
    this.entry = this.registerModule('entry', new nn.Conv2d(3, widths.trunk, 3, { stride: 2, padding: 1, seed: seed * 10 + 3 }));
    this.entryNorm = this.registerModule('entryNorm', new nn.BatchNorm2d(widths.trunk));
    this.buds = this.registerModule('buds', new nn.Sequential(
      new Bud(widths.trunk, widths.inner, widths.trunk, 1, seed * 10 + 4),
      new Bud(widths.trunk, widths.widen, widths.out, 2, seed * 10 + 7),
    ));
  }

  forward(x: Tensor): Tensor {
    const h = this.buds.call(relu(this.entryNorm.call(this.entry.call(x))));
    return this.classifier.call(relu(this.hidden.call(flatten(h))));
  }
}

/** Random BatchNorm affine parameters and running statistics (at their defaults a shifted channel would be 0). */
export function randomizeNorms(model: nn.Module, seed: number): void {
  const random = new Random(seed);
  for (const [, module] of model.namedModules()) {
    if (!(module instanceof nn.BatchNorm2d)) continue;
    const n = module.numFeatures;
    const values = (low: number, high: number) => ({ dtype: 'f32' as const, shape: [n], data: Float32Array.from({ length: n }, () => random.uniform(low, high)) });
    module.loadStateDict({ weight: values(0.5, 1.5), bias: values(-0.5, 0.5), running_mean: values(-0.3, 0.3), running_var: values(0.5, 2), num_batches_tracked: { dtype: 'i32', shape: [], data: new Int32Array(1) } });
  }
}

/** Seeded images in [-1, 1). */
export function randomBatch(shape: number[], seed: number): Tensor {
  const random = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random.uniform(-1, 1)), shape);
}

/** conv, BatchNorm, ReLU, Dropout, global average pooling, flatten (one feature per channel), linear. */
export class Pooled extends nn.Module {
  readonly features = this.registerModule('features', new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { seed: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Dropout(0.5), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(),
  ));
  readonly fc = this.registerModule('fc', new nn.Linear(4, 2, { seed: 2 }));

  forward(x: Tensor): Tensor {
    return this.fc.call(this.features.call(x));
  }
}

/** A model's output on x in training or evaluation mode, without gradients. */
export async function output(model: nn.Module, x: Tensor, training: boolean): Promise<Float32Array> {
  const scope = beginScope();
  try {
    model.train(training);
    return (await noGrad(() => model.call(x)).toArray()) as Float32Array;
  } finally {
    scope.end();
  }
}
