/**
 * Any zoo model from a .safetensors checkpoint's bytes, as packages/sparsenet's loadCheckpointModel builds it
 * from a file (the same rebuildModel: the architecture from the run metadata; older files are LeNet, masked
 * when they hold masks, widths read from the weight shapes, so compacted models load too).
 */
import { nn, safetensors } from '@sparsenet/tensor';
import { rebuildModel, type RebuiltModel } from '../../packages/sparsenet/src/model-state.js';

export interface LoadedCheckpoint extends RebuiltModel {
  metadata: Record<string, string>;
}

export function loadCheckpoint(bytes: Uint8Array, source: string): LoadedCheckpoint {
  let decoded: safetensors.Safetensors;
  try {
    decoded = safetensors.decode(bytes);
  } catch (error) {
    throw new Error(`checkpoint ${source}: not a valid safetensors file (${(error as Error).message})`);
  }
  return { ...rebuildModel(nn.stateDictFromSafetensors(decoded.tensors), decoded.metadata, source), metadata: decoded.metadata };
}
