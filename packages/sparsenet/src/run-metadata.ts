/**
 * What a run's model and inputs are: the one owner of the facts that config.json, every checkpoint's metadata,
 * eval, predict, report and the web page must agree on (architecture, classes, image size, normalisation, the
 * data layout that was read). A checkpoint carries it as JSON under the metadata key `sparsenet.run`; files from
 * before it existed (LeNet on HAM10000, 64x64, (x - 0.5) / 0.5) read as that. No Node imports: the web page
 * rebuilds models with it.
 */
import { CLASSES } from './data/classes.js';
import { DEFAULT_NORMALIZATION, CHANNELS, type Normalization } from './data/normalization.js';

/** The metadata key a checkpoint stores the run's metadata under. */
export const RUN_METADATA_KEY = 'sparsenet.run';
export const RUN_METADATA_VERSION = 1;

/** A zoo architecture by name with its options (widths, depth, ...), as `--arch` and the zoo take them. */
export interface ArchitectureSpec {
  name: string;
  /** Architecture-specific options, JSON-serialisable; the zoo fills in its defaults. */
  options: Record<string, unknown>;
  /** Masked layers (`weight_mask`/`bias_mask` buffers), so pruners can act on it. */
  masked: boolean;
}

export interface RunMetadata {
  version: number;
  architecture: ArchitectureSpec;
  /** Class names in label order: label i is classes[i]. */
  classes: string[];
  /** Square input side in pixels. */
  imageSize: number;
  /** Input channels (RGB). */
  channels: number;
  normalization: Normalization;
  /** The data layout the run read ('ham10000', 'split-folders', 'class-folders', 'csv'), or null when unknown. */
  layout: string | null;
}

/** The metadata of every run before this module: LeNet on the seven HAM10000 classes at 64x64, inputs (x - 0.5) / 0.5. */
export function legacyRunMetadata(masked: boolean): RunMetadata {
  return {
    version: RUN_METADATA_VERSION,
    architecture: { name: 'lenet', options: {}, masked },
    classes: [...CLASSES],
    imageSize: 64,
    channels: CHANNELS,
    normalization: { mean: [...DEFAULT_NORMALIZATION.mean], std: [...DEFAULT_NORMALIZATION.std] },
    layout: 'ham10000',
  };
}

/** Throws naming `source` and the field when `meta` is not a complete, consistent RunMetadata. */
export function checkRunMetadata(meta: RunMetadata, source: string): RunMetadata {
  const fail = (message: string): never => {
    throw new Error(`${source}: run metadata ${message}`);
  };
  if (typeof meta !== 'object' || meta === null) fail('is not an object');
  if (meta.version !== RUN_METADATA_VERSION) fail(`has version ${meta.version}; this sparsenet reads version ${RUN_METADATA_VERSION}`);
  const arch = meta.architecture;
  if (!arch || typeof arch.name !== 'string' || !arch.name) fail('has no architecture name');
  if (typeof arch.options !== 'object' || arch.options === null) fail(`architecture '${arch.name}' has no options object`);
  if (typeof arch.masked !== 'boolean') fail(`architecture '${arch.name}' does not say whether it is masked`);
  if (!Array.isArray(meta.classes) || meta.classes.length < 2 || meta.classes.some((c) => typeof c !== 'string' || !c)) fail(`needs at least 2 named classes, got ${JSON.stringify(meta.classes)}`);
  if (new Set(meta.classes).size !== meta.classes.length) fail(`names a class twice: ${JSON.stringify(meta.classes)}`);
  if (!Number.isInteger(meta.imageSize) || meta.imageSize < 1) fail(`has image size ${meta.imageSize}`);
  if (meta.channels !== CHANNELS) fail(`has ${meta.channels} channels; models take ${CHANNELS} (RGB)`);
  const { mean, std } = meta.normalization ?? {};
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== CHANNELS || std.length !== CHANNELS || std.some((s) => !(s > 0))) {
    fail(`needs ${CHANNELS} means and ${CHANNELS} positive stds, got ${JSON.stringify(meta.normalization)}`);
  }
  return meta;
}

/** The checkpoint metadata entry for `meta` (merge it into the file's other metadata). */
export function encodeRunMetadata(meta: RunMetadata): Record<string, string> {
  return { [RUN_METADATA_KEY]: JSON.stringify(checkRunMetadata(meta, 'encodeRunMetadata')) };
}

/**
 * The run metadata of a checkpoint's metadata: its `sparsenet.run` entry, or, for a checkpoint from before it
 * existed, the legacy LeNet's (masked when the state dict holds masks). `file` names the checkpoint in errors.
 */
export function decodeRunMetadata(metadata: Record<string, string>, file: string, hasMasks: boolean): RunMetadata {
  const text = metadata[RUN_METADATA_KEY];
  if (text === undefined) return legacyRunMetadata(hasMasks);
  let parsed: RunMetadata;
  try {
    parsed = JSON.parse(text) as RunMetadata;
  } catch (error) {
    throw new Error(`checkpoint ${file}: its '${RUN_METADATA_KEY}' metadata is not JSON (${(error as Error).message})`);
  }
  return checkRunMetadata(parsed, `checkpoint ${file}`);
}
