/**
 * Evaluation: the model's logits for a whole dataset, batch by batch without gradients, gathered into one GPU
 * buffer and read back once (one synchronisation per evaluation, not per batch).
 */
import { beginScope, empty, nn, noGrad, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import { gatherBatch, type ImageDataset, type Normalization } from '../data/index.js';
import type { SparseLeNet, SparseModel } from '../sparse-model.js';
import { classificationMetrics, type ClassificationMetrics } from './metrics.js';

/** Any model (run in evaluation mode), or its weights packed for the sparse kernels. */
export type InferenceModel = nn.Module | SparseLeNet | SparseModel;

export async function predictLogits(model: InferenceModel, dataset: ImageDataset, options: { batchSize?: number; normalization?: Normalization } = {}): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 256;
  const n = dataset.count;
  const classes = dataset.classes.length;
  if (n === 0) return new Float32Array(0);
  const all = empty([n, classes], 'f32', 'evaluation logits');
  const { runner } = runtime();
  const wasTraining = model instanceof nn.Module && model.training;
  if (model instanceof nn.Module) model.eval();
  try {
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const indices = Int32Array.from({ length: count }, (_, i) => start + i);
      const scope = beginScope();
      try {
        const x: Tensor = tensor(gatherBatch(dataset, indices, { normalization: options.normalization }), [count, 3, dataset.size, dataset.size]);
        const logits = noGrad(() => model.forward(x));
        if (logits.shape[1] !== classes) throw new Error(`predictLogits: the model gives ${logits.shape[1]} logits per image, the data set has ${classes} classes (${dataset.classes.join(', ')})`);
        runner.copy(logits.buffer, 0, all.buffer, start * classes * 4, count * classes * 4);
      } finally {
        scope.end();
      }
    }
    return (await all.toArray({ checkFinite: true })) as Float32Array;
  } finally {
    all.dispose();
    if (model instanceof nn.Module) model.train(wasTraining);
  }
}

export async function evaluate(model: InferenceModel, dataset: ImageDataset, options: { batchSize?: number; normalization?: Normalization } = {}): Promise<ClassificationMetrics> {
  const logits = await predictLogits(model, dataset, options);
  return classificationMetrics(logits, dataset.labels, dataset.classes.length);
}
