/**
 * Checkpoints as safetensors, written to a temporary file and renamed. Model checkpoints (final, best) hold the
 * state dict of any model under PyTorch's names: `conv1.weight` (already times its mask), `conv1.bias`,
 * `conv1.weight_mask`, `layer1.0.bn1.running_mean`, ..., so the matching model of pytorch/zoo.py loads them with
 * strict=False; the run metadata (architecture, classes, image size, normalisation) rides under `sparsenet.run`.
 * The resume checkpoint (last) adds the optimizer's moments (`__optimizer__.`), the rewinding weights
 * (`__rewind__.`) and the loop's state in the metadata.
 */
import { readFileSync } from 'node:fs';
import { nn, optim, safetensors } from '@sparsenet/tensor';
import { writeFileAtomic } from '@sparsenet/viz';
import { modelState, trainingNamespaces } from '../model-state.js';
import type { SavedWeights } from '../prune/index.js';
import { encodeRunMetadata, type RunMetadata } from '../run-metadata.js';

/** A model checkpoint: the state dict, `metadata`, and the run's metadata under `sparsenet.run`. */
export async function saveModel(path: string, model: nn.Module, run: RunMetadata, metadata: Record<string, string>): Promise<void> {
  writeFileAtomic(path, await model.saveSafetensors({ ...metadata, ...encodeRunMetadata(run) }));
}

/** Reads a model checkpoint's tensors and metadata, with an error naming the file when it is not one. */
export function readCheckpoint(path: string): { state: nn.StateDict; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`checkpoint ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const { tensors, metadata } = safetensors.decode(bytes);
    return { state: nn.stateDictFromSafetensors(tensors), metadata };
  } catch (error) {
    throw new Error(`checkpoint ${path}: not a valid safetensors file (${(error as Error).message})`);
  }
}

export interface TrainingState<Loop> {
  optimizer: optim.OptimizerState;
  rewind: SavedWeights[] | null;
  loop: Loop;
}

/**
 * The resume checkpoint: model, optimizer moments (`__optimizer__.<i>.<name>`), rewinding weights
 * (`__rewind__.<layer>.weight`), loop state; `metadata` must hold the run metadata (it names the namespaces).
 */
export async function saveTrainingState<Loop>(path: string, model: nn.Module, optimizer: optim.Optimizer, rewind: SavedWeights[] | null, loop: Loop, metadata: Record<string, string>): Promise<void> {
  const { optimizer: OPTIM_PREFIX, rewind: REWIND_PREFIX } = trainingNamespaces(metadata);
  const tensors: Record<string, safetensors.SafetensorsEntry> = {};
  for (const [name, { dtype, shape, data }] of Object.entries(await model.stateDict())) {
    if (name.startsWith(OPTIM_PREFIX) || name.startsWith(REWIND_PREFIX)) throw new Error(`saveTrainingState ${path}: the model's '${name}' would read back as optimizer or rewind state; rename that module`);
    tensors[name] = { dtype: dtype === 'f32' ? 'F32' : 'I32', shape, data };
  }
  const { state } = await optimizer.stateDict();
  const steps = state.map((s) => s?.step ?? 0);
  state.forEach((s, i) => {
    for (const [name, data] of Object.entries(s?.tensors ?? {})) tensors[`${OPTIM_PREFIX}${i}.${name}`] = { dtype: 'F32', shape: [data.length], data };
  });
  for (const w of rewind ?? []) {
    tensors[`${REWIND_PREFIX}${w.name}.weight`] = { dtype: 'F32', shape: [w.weight.length], data: w.weight };
    if (w.bias) tensors[`${REWIND_PREFIX}${w.name}.bias`] = { dtype: 'F32', shape: [w.bias.length], data: w.bias };
  }
  const training = { loop: JSON.stringify(loop), optimizerSteps: JSON.stringify(steps), rewind: JSON.stringify((rewind ?? []).map((w) => w.name)) };
  writeFileAtomic(path, safetensors.encode(tensors, { ...metadata, ...training }));
}

export function loadTrainingState<Loop>(path: string, model: nn.Module): TrainingState<Loop> {
  const { state, metadata } = readCheckpoint(path);
  const { optimizer: OPTIM_PREFIX, rewind: REWIND_PREFIX } = trainingNamespaces(metadata);
  const optimizerTensors = new Map<number, Record<string, Float32Array>>();
  const rewindTensors = new Map<string, Float32Array>();
  for (const [name, entry] of Object.entries(state)) {
    if (name.startsWith(OPTIM_PREFIX)) {
      const [index, stateName] = name.slice(OPTIM_PREFIX.length).split('.');
      const slot = optimizerTensors.get(Number(index)) ?? {};
      slot[stateName] = entry.data as Float32Array;
      optimizerTensors.set(Number(index), slot);
    } else if (name.startsWith(REWIND_PREFIX)) rewindTensors.set(name.slice(REWIND_PREFIX.length), entry.data as Float32Array);
  }
  try {
    model.loadStateDict(modelState(state, metadata));
  } catch (error) {
    throw new Error(`checkpoint ${path}: ${(error as Error).message}`);
  }
  let steps: number[];
  let loop: Loop;
  let rewindNames: string[];
  try {
    steps = JSON.parse(metadata.optimizerSteps);
    loop = JSON.parse(metadata.loop);
    rewindNames = JSON.parse(metadata.rewind);
  } catch {
    throw new Error(`checkpoint ${path}: its metadata lacks the training state (is it a model checkpoint rather than last.safetensors?)`);
  }
  const optimizer = { state: steps.map((step, i) => (step > 0 ? { step, tensors: optimizerTensors.get(i) ?? {} } : null)) };
  const rewind = rewindNames.length
    ? rewindNames.map((name) => ({ name, weight: rewindTensors.get(`${name}.weight`)!, bias: rewindTensors.get(`${name}.bias`) }))
    : null;
  return { optimizer, rewind, loop };
}
