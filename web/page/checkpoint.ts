/**
 * A LeNet or SparseNet from a .safetensors checkpoint's bytes, as packages/sparsenet's loadCheckpointModel
 * builds it from a file (the same modelState and lenetArchitecture: masks detected by their `.weight_mask`
 * keys, hidden widths read from the weight shapes, so compacted models load too; classes, image size and
 * normalisation from its run metadata).
 */
import { nn, safetensors } from '@sparsenet/tensor';
import { LeNet, type LeNetWidths } from '../../packages/sparsenet/src/model.js';
import { lenetArchitecture, modelState } from '../../packages/sparsenet/src/model-state.js';
import { decodeRunMetadata, type RunMetadata } from '../../packages/sparsenet/src/run-metadata.js';

export interface LoadedCheckpoint {
  model: LeNet;
  state: nn.StateDict;
  metadata: Record<string, string>;
  sparse: boolean;
  widths: LeNetWidths;
  run: RunMetadata;
}

export function loadCheckpoint(bytes: Uint8Array, source: string): LoadedCheckpoint {
  let decoded: safetensors.Safetensors;
  try {
    decoded = safetensors.decode(bytes);
  } catch (error) {
    throw new Error(`checkpoint ${source}: not a valid safetensors file (${(error as Error).message})`);
  }
  const state = modelState(nn.stateDictFromSafetensors(decoded.tensors));
  const { sparse, widths } = lenetArchitecture(state, source);
  const run = decodeRunMetadata(decoded.metadata, source, sparse);
  const model = new LeNet({ sparse, widths, numClasses: run.classes.length, inputSize: run.imageSize });
  try {
    model.loadStateDict(state);
  } catch (error) {
    model.dispose();
    throw new Error(`checkpoint ${source}: ${(error as Error).message}`);
  }
  return { model, state, metadata: decoded.metadata, sparse, widths, run };
}
