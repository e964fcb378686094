/**
 * What a state dict says of the LeNet it came from: the model's own entries, whether it is masked (SparseNet)
 * and its hidden widths (compacted models are narrower). No Node imports: the web page loads checkpoints with it.
 */
import type { nn } from '@sparsenet/tensor';
import { LAYER_NAMES, type LeNetWidths } from './model.js';

export interface LeNetArchitecture {
  /** Masked layers (SparseNet). */
  sparse: boolean;
  widths: LeNetWidths;
}

const MODEL_KEY = new RegExp(`^(${LAYER_NAMES.join('|')})\\.`);

/** The model's entries of a state dict (a resume checkpoint also holds optimizer moments and rewind weights). */
export function modelState(state: nn.StateDict): nn.StateDict {
  return Object.fromEntries(Object.entries(state).filter(([name]) => MODEL_KEY.test(name)));
}

/** LeNet's kind and widths read from a state dict; throws naming the file when a layer's weight is missing. */
export function lenetArchitecture(state: nn.StateDict, file: string): LeNetArchitecture {
  const outputs = (layer: string) => {
    const weight = state[`${layer}.weight`];
    if (!weight) throw new Error(`checkpoint ${file}: no '${layer}.weight'; not a LeNet/SparseNet checkpoint (it has ${Object.keys(state).slice(0, 6).join(', ') || 'no tensors'})`);
    return weight.shape[0];
  };
  const [conv1, conv2, fc1, fc2] = ['conv1', 'conv2', 'fc1', 'fc2'].map(outputs);
  outputs('fc3');
  return { sparse: Object.keys(state).some((name) => name.endsWith('.weight_mask')), widths: { conv1, conv2, fc1, fc2 } };
}
