/**
 * Any zoo model rebuilt from a checkpoint alone: the architecture comes from its run metadata (older files are
 * LeNet, masked when they hold masks, widths read from the shapes), and the tensors load strictly. The
 * sparsity accounting works on the checkpoint's tensors on the host, with no device.
 */
import { getDevice, type nn } from '@sparsenet/tensor';
import { checkpointRun, modelState, rebuildModel } from '../model-state.js';
import { sparsityReport, type SparsityLayer, type SparsityReport } from '../prune/index.js';
import type { RunMetadata } from '../run-metadata.js';
import { readCheckpoint } from '../train/checkpoint.js';

/** Per conv or linear layer (a 4-d or 2-d `.weight` beside which nothing says otherwise): the weight with its masks. */
export function sparsityLayers(state: nn.StateDict): SparsityLayer[] {
  const f32 = (name: string) => state[name]?.data as Float32Array | undefined;
  const layers = Object.keys(state).filter((name) => name.endsWith('.weight') && (state[name].shape.length === 4 || state[name].shape.length === 2)).map((name) => name.slice(0, -'.weight'.length));
  return layers.map((name) => ({
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

export interface CheckpointModel {
  model: nn.Module;
  /** The run metadata: architecture (with every option), classes, image size, normalisation. */
  run: RunMetadata;
  /** The model's tensors as saved. */
  state: nn.StateDict;
  metadata: Record<string, string>;
}

/** A checkpoint's tensors, metadata and run metadata, read on the host (no model, no device). */
export function readCheckpointRun(file: string): { state: nn.StateDict; metadata: Record<string, string>; run: RunMetadata } {
  const { state, metadata } = readCheckpoint(file);
  return { state, metadata, run: checkpointRun(modelState(state, metadata), metadata, file) };
}

/** Reads a checkpoint and loads it into a model of its architecture on the device. */
export async function loadCheckpointModel(file: string): Promise<CheckpointModel> {
  const checkpoint = readCheckpoint(file);
  await getDevice();
  return { ...rebuildModel(checkpoint.state, checkpoint.metadata, file), metadata: checkpoint.metadata };
}
