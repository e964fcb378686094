/**
 * Which entries of a checkpoint are the model's, and the model rebuilt from them: the architecture comes from
 * the run metadata (`sparsenet.run`; older files are LeNet, masked when they hold masks). A resume checkpoint
 * also holds the optimizer's moments and the rewinding weights, under `__optimizer__.` and `__rewind__.`, which
 * no module of the zoo or of torchvision is named (saveTrainingState refuses a model that has such a name).
 * Files written before run metadata existed used `optimizer.` and `rewind.`, which a LeNet's names never start
 * with. No Node imports: the web page loads checkpoints with it.
 */
import type { nn } from '@sparsenet/tensor';
import { LAYER_NAMES, type LeNetWidths } from './model.js';
import { decodeRunMetadata, RUN_METADATA_KEY, type ArchitectureSpec, type RunMetadata } from './run-metadata.js';
import { buildModel, describeArchitecture, fullSpec } from './zoo/index.js';

export const OPTIMIZER_NAMESPACE = '__optimizer__.';
export const REWIND_NAMESPACE = '__rewind__.';
const LEGACY_NAMESPACES = ['optimizer.', 'rewind.'] as const;

/** The optimizer and rewind namespaces of a checkpoint with this metadata (the legacy ones for old files). */
export function trainingNamespaces(metadata: Record<string, string>): { optimizer: string; rewind: string } {
  return RUN_METADATA_KEY in metadata ? { optimizer: OPTIMIZER_NAMESPACE, rewind: REWIND_NAMESPACE } : { optimizer: LEGACY_NAMESPACES[0], rewind: LEGACY_NAMESPACES[1] };
}

/** The model's entries of a checkpoint's state dict (without optimizer moments and rewind weights). */
export function modelState(state: nn.StateDict, metadata: Record<string, string>): nn.StateDict {
  const { optimizer, rewind } = trainingNamespaces(metadata);
  return Object.fromEntries(Object.entries(state).filter(([name]) => !name.startsWith(optimizer) && !name.startsWith(rewind)));
}

/**
 * A LeNet's hidden widths read from its weight shapes (a compacted LeNet is narrower), for checkpoints whose run
 * metadata does not record them; throws naming the file when a layer's weight is missing.
 */
export function lenetWidths(state: nn.StateDict, file: string): LeNetWidths {
  const outputs = (layer: string) => {
    const weight = state[`${layer}.weight`];
    if (!weight) throw new Error(`checkpoint ${file}: no '${layer}.weight'; not a LeNet/SparseNet checkpoint (it has ${Object.keys(state).slice(0, 6).join(', ') || 'no tensors'})`);
    return weight.shape[0];
  };
  const [conv1, conv2, fc1, fc2] = LAYER_NAMES.map(outputs);
  return { conv1, conv2, fc1, fc2 };
}

export interface RebuiltModel {
  model: nn.Module;
  /** The run metadata, its architecture with every option (a legacy LeNet's widths read from its shapes). */
  run: RunMetadata;
  /** The model's tensors as saved. */
  state: nn.StateDict;
}

/**
 * The model of a checkpoint's tensors and metadata, built from its run metadata and loaded strictly: tensors
 * of another architecture are an error naming `source`, the architecture and each layer's shapes.
 */
export function rebuildModel(tensors: nn.StateDict, metadata: Record<string, string>, source: string): RebuiltModel {
  const state = modelState(tensors, metadata);
  const run = checkpointRun(state, metadata, source);
  return { model: loadInto(run.architecture, run, state, source), run, state };
}

/**
 * The run metadata of a checkpoint of model tensors `state`: its own, or the legacy LeNet's (masked when it
 * holds masks); a LeNet's widths, when the metadata lacks them, are read from the weight shapes.
 */
export function checkpointRun(state: nn.StateDict, metadata: Record<string, string>, source: string): RunMetadata {
  const run = decodeRunMetadata(metadata, source, Object.keys(state).some((name) => name.endsWith('.weight_mask')));
  const { architecture } = run;
  if (architecture.name !== 'lenet' || 'widths' in architecture.options) return run;
  return { ...run, architecture: { ...architecture, options: { ...architecture.options, widths: lenetWidths(state, source) } } };
}

/**
 * A fresh model of `architecture` holding `state`; throws naming `source`, the architecture and the tensors that
 * differ: for another architecture the first missing and unexpected names with their shapes, for the same one
 * with other widths each size mismatch.
 */
export function loadInto(architecture: ArchitectureSpec, run: Pick<RunMetadata, 'classes' | 'imageSize'>, state: nn.StateDict, source: string, options: { strict?: boolean } = {}): nn.Module {
  const model = buildModel(architecture, { numClasses: run.classes.length, imageSize: run.imageSize, seed: 0 });
  try {
    const own = new Map([...model.namedParameters(), ...model.namedBuffers()].map(([name, t]) => [name, t.shape]));
    const missing = [...own].filter(([name]) => !(name in state));
    const unexpected = (options.strict ?? true) ? Object.entries(state).filter(([name]) => !own.has(name)).map(([name, e]): [string, readonly number[]] => [name, e.shape]) : [];
    const first = (entries: [string, readonly number[]][]) => entries.slice(0, 3).map(([name, shape]) => `'${name}' [${shape}]`).join(', ') + (entries.length > 3 ? ', ...' : '');
    if (missing.length && (options.strict ?? true)) {
      throw new Error(`${missing.length} of its ${own.size} tensors are missing (${first(missing)})${unexpected.length ? `, and ${unexpected.length} tensors are not its (${first(unexpected)})` : ''}`);
    }
    model.loadStateDict(state, options);
  } catch (error) {
    model.dispose();
    throw new Error(`checkpoint ${source} does not fit ${describeArchitecture(fullSpec(architecture))} for ${run.classes.length} classes at ${run.imageSize}x${run.imageSize}: ${(error as Error).message}`);
  }
  return model;
}
