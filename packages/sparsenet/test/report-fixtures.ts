/** A tiny real run folder for the report, eval and predict tests: one epoch of SparseNet, pruned at the start. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDevice, runtime } from '@sparsenet/tensor';
import { DEFAULT_TRAIN_CONFIG, train, type TrainResult } from '@sparsenet/sparsenet';

export const TINY_LIMIT = 300;

export async function trainTinyRun(prefix: string): Promise<TrainResult> {
  await getDevice();
  // Fixed kernel variants: nothing is queued for tuning, which would take most of the run's time.
  runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
  const out = join(mkdtempSync(join(tmpdir(), prefix)), 'run');
  return train(
    {
      ...DEFAULT_TRAIN_CONFIG,
      model: 'sparsenet',
      pruner: 'magnitude',
      sparsity: 0.5,
      pruneStart: 0,
      limit: TINY_LIMIT,
      epochs: 1,
      batchSize: 32,
      out,
      report: false,
    },
    { log: () => {} },
  );
}
