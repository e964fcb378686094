/**
 * The data of a training run in one call: the data set in its layout, its parts, the normalisation (measured on
 * the training part with --normalize dataset) and the run's metadata (classes, image size, normalisation,
 * layout) that config.json and every checkpoint carry.
 */
import { CHANNELS, DEFAULT_NORMALIZATION, loadSplits, measureNormalization, type LoadedSplits, type Normalization } from '../data/index.js';
import { RUN_METADATA_VERSION, type RunMetadata } from '../run-metadata.js';
import { architectureSpec, type TrainConfig } from './config.js';

export interface RunData extends LoadedSplits {
  normalization: Normalization;
  run: RunMetadata;
}

export async function loadRunData(config: TrainConfig, log: (line: string) => void): Promise<RunData> {
  const data = await loadSplits({
    dir: config.data ?? undefined,
    layout: config.layout === 'auto' ? undefined : config.layout,
    size: config.imageSize,
    limit: config.limit ?? undefined,
    split: { seed: config.seed },
    onWarning: log,
  });
  if (data.train.count === 0) throw new Error(`train: the training part of ${data.dir} is empty`);
  const missing = data.classes.filter((_, c) => !data.train.labels.includes(c));
  if (missing.length) log(`data: no training image of class${missing.length > 1 ? 'es' : ''} ${missing.join(', ')} in ${data.dir}`);
  const normalization = config.normalize === 'dataset' ? measureNormalization(data.train.images) : DEFAULT_NORMALIZATION;
  const run: RunMetadata = {
    version: RUN_METADATA_VERSION,
    architecture: architectureSpec(config),
    classes: [...data.classes],
    imageSize: config.imageSize,
    channels: CHANNELS,
    normalization: { mean: [...normalization.mean], std: [...normalization.std] },
    layout: data.layout,
  };
  return { ...data, normalization, run };
}
