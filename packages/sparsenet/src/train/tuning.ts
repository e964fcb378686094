/**
 * Kernel tuning before training: every batch shape of the run runs once (training batches with backward,
 * evaluation batches without), with no update, so that each kernel meets its shapes; then the queued kernel
 * variants are measured once. Buffers (BatchNorm's running statistics) are put back afterwards, so tuning
 * leaves the model exactly as it found it.
 */
import { beginScope, crossEntropy, labels, noGrad, runtime, tensor, type nn } from '@sparsenet/tensor';
import { gatherBatch, type ImageDataset } from '../data/index.js';

export async function tuneKernels(model: nn.Module, data: Record<'train' | 'val' | 'test', ImageDataset>, batchSizes: { train: number; eval: number }, log: (line: string) => void): Promise<void> {
  const { tuner } = runtime().runner;
  const buffers = await Promise.all(model.namedBuffers().map(async ([name, t]): Promise<[string, nn.TensorData]> => [name, { dtype: t.dtype, shape: [...t.shape], data: await t.toArray() }]));
  const sizes = (count: number, batch: number) => [...new Set([Math.min(batch, count), count % batch].filter((n) => n > 0))];
  const run = (n: number, withGrad: boolean) => {
    const scope = beginScope();
    try {
      const indices = Int32Array.from({ length: n }, (_, i) => i);
      const x = tensor(gatherBatch(data.train, indices), [n, 3, data.train.size, data.train.size]);
      if (!withGrad) return void noGrad(() => model.forward(x));
      crossEntropy(model.forward(x), labels(data.train.labels.subarray(0, n))).backward();
      for (const p of model.parameters()) {
        p.grad?.dispose();
        p.grad = null;
      }
    } finally {
      scope.end();
    }
  };
  const wasTraining = model.training;
  model.train();
  for (const n of sizes(data.train.count, batchSizes.train)) run(n, true);
  model.eval();
  for (const n of new Set([...sizes(data.val.count, batchSizes.eval), ...sizes(data.test.count, batchSizes.eval)])) run(Math.min(n, data.train.count), false);
  model.train(wasTraining);
  model.loadStateDict(Object.fromEntries(buffers), { strict: false });
  if (tuner.pendingCount) {
    const started = performance.now();
    const report = await tuner.tunePending();
    log(`kernel tuning: measured the variants of ${report.size} kernel shapes in ${((performance.now() - started) / 1000).toFixed(1)} s (choices in tuning.json)`);
  }
}
