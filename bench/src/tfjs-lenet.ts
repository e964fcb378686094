/**
 * Our LeNet in TensorFlow.js ops (no tfjs-layers needed): the same layers and shapes, in NHWC as TF.js's
 * conv2d wants (filters [kh, kw, in, out]); trained with tf.train.adam and softmax cross-entropy. Each step
 * uploads the same host batch as ours (transposed to NHWC once, beforehand) and keeps its loss or logits on
 * the device; `sync` is the block's one readback.
 */
import type * as tfTypes from '@tensorflow/tfjs-core';
import { INPUT_SIZE, NUM_CLASSES, featureSide, LENET_WIDTHS } from '@sparsenet/sparsenet';
import { Random } from '@sparsenet/tensor';
import type { HostBatch } from './lenet.js';

export type TfModule = typeof tfTypes;

export interface TfjsLeNet {
  trainStep(): void;
  inferStep(): void;
  sync(): Promise<unknown>;
  dispose(): void;
}

/** NCHW to NHWC on the host. */
function toNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h * w; i++) out[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
  return out;
}

export function tfjsLeNet(tf: TfModule, batch: HostBatch): TfjsLeNet {
  const random = new Random(7);
  // PyTorch's default init bound (Kaiming uniform with a = sqrt(5)): 1 / sqrt(fan_in).
  const param = (shape: number[], fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.variable(tf.tensor(Float32Array.from({ length: size }, () => random.uniform(-bound, bound)), shape));
  };
  const { conv1: c1, conv2: c2, fc1: f1, fc2: f2 } = LENET_WIDTHS;
  const flat = c2 * featureSide() ** 2;
  const weights = {
    conv1: param([5, 5, 3, c1], 3 * 25), conv1b: param([c1], 3 * 25),
    conv2: param([5, 5, c1, c2], c1 * 25), conv2b: param([c2], c1 * 25),
    fc1: param([flat, f1], flat), fc1b: param([f1], flat),
    fc2: param([f1, f2], f1), fc2b: param([f2], f1),
    fc3: param([f2, NUM_CLASSES], f2), fc3b: param([NUM_CLASSES], f2),
  };
  const optimizer = tf.train.adam(1e-3);
  const xHost = toNhwc(batch.x, batch.n, 3, INPUT_SIZE, INPUT_SIZE);
  const forward = (x: tfTypes.Tensor4D): tfTypes.Tensor2D => {
    const conv = (h: tfTypes.Tensor4D, w: tfTypes.Variable, b: tfTypes.Variable) =>
      tf.maxPool(tf.relu(tf.add(tf.conv2d(h, w as tfTypes.Tensor4D, 1, 'valid'), b)) as tfTypes.Tensor4D, 2, 2, 'valid');
    const dense = (f: tfTypes.Tensor2D, w: tfTypes.Variable, b: tfTypes.Variable) => tf.add(tf.matMul(f, w as tfTypes.Tensor2D), b) as tfTypes.Tensor2D;
    const h = conv(conv(x, weights.conv1, weights.conv1b), weights.conv2, weights.conv2b);
    const f = tf.reshape(h, [batch.n, flat]) as tfTypes.Tensor2D;
    return dense(tf.relu(dense(tf.relu(dense(f, weights.fc1, weights.fc1b)), weights.fc2, weights.fc2b)), weights.fc3, weights.fc3b);
  };
  let last: tfTypes.Tensor | null = null;
  const keep = (t: tfTypes.Tensor | null) => {
    last?.dispose();
    last = t;
  };
  return {
    trainStep() {
      keep(tf.tidy(() => {
        const x = tf.tensor4d(xHost, [batch.n, INPUT_SIZE, INPUT_SIZE, 3]);
        const y = tf.oneHot(tf.tensor1d(batch.y, 'int32'), NUM_CLASSES);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as tfTypes.Scalar, true)!;
      }));
    },
    inferStep() {
      keep(tf.tidy(() => forward(tf.tensor4d(xHost, [batch.n, INPUT_SIZE, INPUT_SIZE, 3]))));
    },
    async sync() {
      return last?.data();
    },
    dispose() {
      keep(null);
      optimizer.dispose();
      Object.values(weights).forEach((w) => w.dispose());
    },
  };
}
