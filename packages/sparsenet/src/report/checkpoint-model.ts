/**
 * A LeNet or SparseNet rebuilt from a checkpoint alone: masks are detected by their `.weight_mask` keys and the
 * hidden widths by the weight shapes, so compacted (narrower) models load as well as the default ones. The
 * sparsity accounting works on the checkpoint's tensors on the host, with no device.
 */
import { getDevice, type nn } from '@sparsenet/tensor';
import { LAYER_NAMES, LeNet } from '../model.js';
import { lenetArchitecture, modelState, type LeNetArchitecture } from '../model-state.js';
import { decodeRunMetadata, type RunMetadata } from '../run-metadata.js';
import { sparsityReport, type SparsityLayer, type SparsityReport } from '../prune/index.js';
import { readCheckpoint } from '../train/checkpoint.js';

/** Per layer: the weight with its masks, as sparsityReport takes them. */
export function sparsityLayers(state: nn.StateDict): SparsityLayer[] {
  const f32 = (name: string) => state[name]?.data as Float32Array | undefined;
  return LAYER_NAMES.filter((name) => state[`${name}.weight`]).map((name) => ({
    name,
    weight: f32(`${name}.weight`)!,
    mask: f32(`${name}.weight_mask`),
    bias: f32(`${name}.bias`),
    biasMask: f32(`${name}.bias_mask`),
  }));
}

export function checkpointSparsity(state: nn.StateDict): SparsityReport {
  return sparsityReport(sparsityLayers(state));
}

export interface CheckpointModel extends LeNetArchitecture {
  model: LeNet;
  /** The model's tensors as saved. */
  state: nn.StateDict;
  metadata: Record<string, string>;
  /** The run's classes, image size, normalisation and layout (legacy checkpoints: HAM10000's). */
  run: RunMetadata;
}

/** Reads a checkpoint and loads it into a LeNet of its kind, widths, class count and input size on the device. */
export async function loadCheckpointModel(file: string): Promise<CheckpointModel> {
  const checkpoint = readCheckpoint(file);
  const state = modelState(checkpoint.state);
  const architecture = lenetArchitecture(state, file);
  const run = decodeRunMetadata(checkpoint.metadata, file, architecture.sparse);
  await getDevice();
  const model = new LeNet({ ...architecture, numClasses: run.classes.length, inputSize: run.imageSize });
  try {
    model.loadStateDict(state);
  } catch (error) {
    model.dispose();
    throw new Error(`checkpoint ${file}: ${(error as Error).message}`);
  }
  return { ...architecture, model, state, metadata: checkpoint.metadata, run };
}

/** "SparseNet (conv1 6, conv2 16, fc1 120, fc2 84)". */
export function describeArchitecture({ sparse, widths }: LeNetArchitecture): string {
  return `${sparse ? 'SparseNet' : 'LeNet'} (${Object.entries(widths).map(([k, v]) => `${k} ${v}`).join(', ')})`;
}
