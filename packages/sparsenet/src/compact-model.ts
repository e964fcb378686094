/**
 * A structured-pruned zoo model compacted into the narrower model of the same architecture: the layer graph's
 * compaction (prune/compact.ts) gives each layer's kept units, the zoo entry the options of a model that wide
 * (recorded in its checkpoint's run metadata, so rebuildModel builds it again), and the sliced state dict
 * (BatchNorm's statistics included) its weights: its outputs are the masked model's. No Node imports: the web
 * page may compact too.
 */
import type { nn } from '@sparsenet/tensor';
import { compactLayers, compactStateDict, prunableLayers, type Compaction, type LayerGraph, type PrunableLayer } from './prune/index.js';
import type { ArchitectureSpec } from './run-metadata.js';
import { buildModel, describeArchitecture, resolveOptions, zooEntry, type BuildContext } from './zoo/index.js';

export interface CompactedModel {
  model: nn.Module;
  /** The narrower architecture, every option filled in: what its checkpoint's run metadata records. */
  architecture: ArchitectureSpec;
  compaction: Compaction;
}

/**
 * The narrower model of `architecture` (the zoo model `model` is, traced as `graph`) with `model`'s outputs;
 * `layers` are its prunable layers when already read back. Throws naming the layer and its shape when a layer
 * has no unit left, and the architectures when the compacted weights do not load.
 */
export async function compactModel(
  model: nn.Module, graph: LayerGraph, architecture: ArchitectureSpec, context: BuildContext, layers?: readonly PrunableLayer[],
): Promise<CompactedModel> {
  const op = 'compactModel';
  const compaction = compactLayers(layers ?? (await prunableLayers(model, graph)), graph, op);
  const compact = new Map(compaction.layers.map((layer) => [layer.name, layer]));
  const outputs = (name: string): number => {
    const layer = compact.get(name);
    if (!layer) throw new Error(`${op}: ${architecture.name} has no layer '${name}' in its layer graph (layers: ${[...compact.keys()].join(', ')})`);
    if (layer.shape[0] === 0) throw new Error(`${op}: layer '${name}' [${layer.originalShape}] has no units left after compaction ([${layer.shape}]); nothing to build`);
    return layer.shape[0];
  };
  const options = zooEntry(architecture.name).compacted(resolveOptions(architecture.name, architecture.options), outputs);
  const narrow: ArchitectureSpec = { ...architecture, options };
  const small = buildModel(narrow, context);
  try {
    small.loadStateDict(compactStateDict(await model.stateDict(), compaction));
  } catch (error) {
    small.dispose();
    throw new Error(`${op}: the compacted weights do not fit ${describeArchitecture(narrow)}: ${(error as Error).message}`);
  }
  return { model: small, architecture: narrow, compaction };
}
