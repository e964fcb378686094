/**
 * The run's model: the zoo model its run metadata describes (architecture from --arch, --arch-options and
 * --model; the data's classes and image size), and --init's weights loaded into it.
 */
import type { nn } from '@sparsenet/tensor';
import { modelState } from '../model-state.js';
import { decodeRunMetadata, type RunMetadata } from '../run-metadata.js';
import { buildModel, describeArchitecture } from '../zoo/index.js';
import { readCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';

/**
 * A fresh model of the run's architecture, seeded by --seed; with --init (and not resuming), holding that
 * checkpoint's weights. A checkpoint of another architecture is an error naming both and the shapes that
 * differ; a dense checkpoint leaves a masked model's all-ones masks in place.
 */
export function buildRunModel(config: TrainConfig, run: RunMetadata): nn.Module {
  const model = buildModel(run.architecture, { numClasses: run.classes.length, imageSize: run.imageSize, seed: config.seed });
  if (!config.init || config.resume) return model;
  try {
    const { state, metadata } = readCheckpoint(config.init);
    const weights = modelState(state, metadata);
    const from = decodeRunMetadata(metadata, config.init, Object.keys(weights).some((name) => name.endsWith('.weight_mask')));
    if (from.architecture.name !== run.architecture.name) {
      throw new Error(`the checkpoint is a ${describeArchitecture(from.architecture)}, this run a ${describeArchitecture(run.architecture)} (--arch ${config.arch})`);
    }
    const missing = model.namedParameters().map(([name]) => name).filter((name) => !(name in weights));
    if (missing.length) throw new Error(`the checkpoint lacks ${missing.join(', ')}`);
    try {
      model.loadStateDict(weights, { strict: false });
    } catch (error) {
      throw new Error(`it does not fit ${describeArchitecture(run.architecture)}: ${(error as Error).message}`);
    }
    return model;
  } catch (error) {
    model.dispose();
    throw new Error(`train --init ${config.init}: ${(error as Error).message}`);
  }
}
