/**
 * Evaluation and records: after each epoch the model is evaluated on validation and test and its sparsity read,
 * giving the epoch's record and log lines; at the end, the final model's record. Any nn.Module.
 */
import { memory, type nn } from '@sparsenet/tensor';
import type { ImageDataset, Normalization } from '../data/index.js';
import { prunableLayers, sparsityReport, type LayerGraph, type SparsityReport } from '../prune/index.js';
import type { RunMetadata } from '../run-metadata.js';
import { evaluate } from './evaluate.js';
import { formatMetric, type ClassificationMetrics } from './metrics.js';
import type { EpochRecord, FinalRecord } from './run-files.js';
import type { EpochTraining } from './steps.js';

export interface EpochEvaluation {
  record: EpochRecord;
  /** Validation metrics, which choose the best checkpoint. */
  val: ClassificationMetrics;
  /** The metrics line, then per-class test recall (and, for a masked model, per-layer sparsity). */
  lines: string[];
}

export interface EpochContext {
  epoch: number;
  step: number;
  lr: number;
  masked: boolean;
  evalBatchSize: number;
  /** Class names in label order. */
  classes: readonly string[];
  normalization: Normalization;
  graph: LayerGraph;
}

export async function evaluateEpoch(model: nn.Module, data: Record<'val' | 'test', ImageDataset>, training: EpochTraining, context: EpochContext): Promise<EpochEvaluation> {
  const options = { batchSize: context.evalBatchSize, normalization: context.normalization };
  const val = await evaluate(model, data.val, options);
  const test = await evaluate(model, data.test, options);
  const sparsity = sparsityReport(await prunableLayers(model, context.graph));
  const { classes } = context;
  const { trainLoss, trainAccuracy, seconds } = training;
  const record: EpochRecord = {
    epoch: context.epoch, step: context.step, lr: context.lr, trainLoss, trainAccuracy, seconds, imagesPerSecond: training.images / seconds,
    valLoss: val.loss, valAccuracy: val.accuracy, valBalancedAccuracy: val.balancedAccuracy,
    testLoss: test.loss, testAccuracy: test.accuracy, testBalancedAccuracy: test.balancedAccuracy,
    testRecall: Object.fromEntries(classes.map((c, i) => [c, test.recall[i]])), testConfusion: test.confusion,
    sparsity: sparsity.total.sparsity, layerSparsity: Object.fromEntries(sparsity.layers.map((l) => [l.name, l.sparsity])),
    gpuLiveBytes: memory().liveBytes,
  };
  const recall = classes.map((c, i) => `${c} ${formatMetric(test.recall[i], 3)}`).join(' ');
  const layerSparsity = context.masked ? ` | sparsity ${sparsity.layers.map((l) => `${l.name} ${l.sparsity.toFixed(3)}`).join(' ')}` : '';
  const lines = [
    `epoch ${record.epoch}: train loss ${trainLoss.toFixed(4)} acc ${trainAccuracy.toFixed(4)} | val acc ${val.accuracy.toFixed(4)} bal ${val.balancedAccuracy.toFixed(4)} | test loss ${test.loss.toFixed(4)} acc ${test.accuracy.toFixed(4)} bal ${test.balancedAccuracy.toFixed(4)} | sparsity ${sparsity.total.sparsity.toFixed(3)} | ${record.imagesPerSecond.toFixed(0)} img/s`,
    `  test recall ${recall}${layerSparsity}`,
  ];
  return { record, val, lines };
}

export function finalRecord(test: ClassificationMetrics, report: SparsityReport, dataset: ImageDataset, device: string, history: readonly EpochRecord[], run: RunMetadata): FinalRecord {
  return {
    testAccuracy: test.accuracy,
    testBalancedAccuracy: test.balancedAccuracy,
    testLoss: test.loss,
    testRecall: Object.fromEntries(run.classes.map((c, i) => [c, test.recall[i]])),
    testConfusion: test.confusion,
    testImages: dataset.count,
    sparsity: report.total.sparsity,
    layerSparsity: Object.fromEntries(report.layers.map((l) => [l.name, l.sparsity])),
    trainSeconds: history.reduce((s, r) => s + r.seconds, 0),
    device,
    classes: [...run.classes],
    numClasses: run.classes.length,
  };
}
