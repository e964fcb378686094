/**
 * A LeNet or SparseNet from a .safetensors checkpoint's bytes, as packages/sparsenet's loadCheckpointModel
 * builds it from a file: the model's entries of the state dict, masks detected by their `.weight_mask` keys,
 * hidden widths read from the weight shapes (so compacted models load too).
 */
import { nn, safetensors } from '@sparsenet/tensor';
import { LAYER_NAMES, LeNet, type LeNetWidths } from '../../packages/sparsenet/src/model.js';

export interface LoadedCheckpoint {
  model: LeNet;
  state: nn.StateDict;
  metadata: Record<string, string>;
  sparse: boolean;
  widths: LeNetWidths;
}

const MODEL_KEY = new RegExp(`^(${LAYER_NAMES.join('|')})\\.`);

export function loadCheckpoint(bytes: Uint8Array, source: string): LoadedCheckpoint {
  let decoded: safetensors.Safetensors;
  try {
    decoded = safetensors.decode(bytes);
  } catch (error) {
    throw new Error(`checkpoint ${source}: not a valid safetensors file (${(error as Error).message})`);
  }
  const all = nn.stateDictFromSafetensors(decoded.tensors);
  const state = Object.fromEntries(Object.entries(all).filter(([name]) => MODEL_KEY.test(name)));
  const outputs = (layer: string) => {
    const weight = state[`${layer}.weight`];
    if (!weight) throw new Error(`checkpoint ${source}: no '${layer}.weight'; not a LeNet/SparseNet checkpoint`);
    return weight.shape[0];
  };
  const widths: LeNetWidths = { conv1: outputs('conv1'), conv2: outputs('conv2'), fc1: outputs('fc1'), fc2: outputs('fc2') };
  outputs('fc3');
  const sparse = Object.keys(state).some((name) => name.endsWith('.weight_mask'));
  const model = new LeNet({ sparse, widths });
  try {
    model.loadStateDict(state);
  } catch (error) {
    model.dispose();
    throw new Error(`checkpoint ${source}: ${(error as Error).message}`);
  }
  return { model, state, metadata: decoded.metadata, sparse, widths };
}

