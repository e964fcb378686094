/**
 * The zoo's other models (vgg, resnet; LeNet has its own section) in the trainer's step and in inference, by the
 * same loop as LeNet's workloads, with their FLOPs per image from their layer graphs (training counted as LeNet's 18.2 M).
 */
import { buildModel, flops, traceLayerGraph } from '@sparsenet/sparsenet';
import { syntheticBatch, timeInference, timeTraining } from './lenet.js';
import type { Table } from './table.js';
import type { TimingOptions } from './timing.js';
import { INFER_BATCH } from './workloads.js';

export const ZOO_MODELS = ['vgg', 'resnet'] as const;
const TRAIN_BATCH = 64;

const build = (name: string) => () => buildModel({ name, options: {}, masked: false }, { numClasses: 7, imageSize: 64, seed: 1 });

export async function measureZoo(table: Table, timing: TimingOptions): Promise<void> {
  for (const name of ZOO_MODELS) {
    const model = build(name)();
    const graph = traceLayerGraph(model, [3, 64, 64]);
    const flop = flops(graph.layers, graph);
    const train = await timeTraining(syntheticBatch(TRAIN_BATCH, TRAIN_BATCH), timing, { model: build(name) });
    table.add({ section: 'zoo', name: `train ${name} b${TRAIN_BATCH}`, value: train.imagesPerSecond, unit: 'img/s', note: `${train.msPerStep.toFixed(0)} ms/step; ${(flop.training / 1e6).toFixed(1)} MFLOP/img, ${((train.imagesPerSecond * flop.training) / 1e9).toFixed(2)} GFLOP/s` });
    const infer = await timeInference(model, syntheticBatch(INFER_BATCH, INFER_BATCH), timing);
    table.add({ section: 'zoo', name: `infer ${name} b${INFER_BATCH}`, value: infer.imagesPerSecond, unit: 'img/s', note: `${infer.msPerStep.toFixed(0)} ms/batch; ${(flop.dense / 1e6).toFixed(1)} MFLOP/img` });
    model.dispose();
  }
}
