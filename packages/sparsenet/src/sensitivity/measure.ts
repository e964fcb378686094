/**
 * Sensitivity analysis (as Distiller's and NNI's): each prunable layer of a trained model pruned alone to each of
 * a list of sparsities and evaluated as it is, without fine-tuning; the unpruned model's metrics are the
 * reference. Unstructured: the layer's smallest |w| go (magnitude, layer scope). Structured: that fraction of the
 * units of one channel group goes (the filters or neurons of its producers, through the layer graph, with the
 * consumers' inputs where a BatchNorm shifts them), or of one conv's input channels.
 *
 * Pruning here zeroes the pruned weights and biases in the model itself (for the forward the same as masking
 * them, with no new kernels to compile), and every layer it touched gets its weights back before the next
 * measurement; the masks of a masked model are left as they are.
 */
import type { nn } from '@sparsenet/tensor';
import { magnitudePrune, prunableLayers, structuredPrune, type LayerGraph, type LayerMasks, type PrunableLayer, type StructuredMode } from '../prune/index.js';
import { applyMask } from '../prune/types.js';
import type { ClassificationMetrics } from '../train/metrics.js';

export const DEFAULT_SENSITIVITIES: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

export interface SensitivityMetrics {
  accuracy: number;
  balancedAccuracy: number;
  loss: number;
}

export interface SensitivityRow extends SensitivityMetrics {
  /** The layer (magnitude, channels), or a channel group's producers joined by '+' (filters, neurons). */
  layer: string;
  /** 'magnitude', or the structure: 'filters', 'neurons', 'channels'. */
  method: 'magnitude' | StructuredMode;
  /** The fraction asked: of the layer's weights (magnitude), or of the group's or layer's units (structured). */
  sparsity: number;
  /** Weights of the row's layers (the group's producers), and how many of them are zero once pruned. */
  weights: number;
  zeros: number;
}

export interface SensitivityResult {
  /** The unpruned model. */
  dense: SensitivityMetrics;
  rows: SensitivityRow[];
}

export interface SensitivityOptions {
  /** Sparsities to measure, each in (0, 1); default 10%, 20%, ..., 90%, 95%. */
  sparsities?: readonly number[];
  /** Structured analysis with these structures; absent: magnitude per layer. */
  structures?: readonly StructuredMode[];
  /** One line per measurement. */
  log?: (line: string) => void;
}

/** The sparsities of a --sparsities list, ascending; each must be a number in (0, 1), none twice. */
export function checkSparsities(sparsities: readonly number[]): number[] {
  if (!sparsities.length) throw new Error('sensitivity: --sparsities is empty');
  for (const s of sparsities) if (!(s > 0 && s < 1)) throw new Error(`sensitivity: --sparsities takes numbers in (0, 1), got ${s}`);
  const sorted = [...sparsities].sort((a, b) => a - b);
  if (sorted.some((s, i) => i > 0 && s === sorted[i - 1])) throw new Error(`sensitivity: --sparsities lists a sparsity twice: ${sparsities.join(',')}`);
  return sorted;
}

/** What one row prunes: its label, the layers it is counted on, and its masks at a fraction. */
interface Unit {
  label: string;
  method: SensitivityRow['method'];
  counted: number[];
  prune(fraction: number): LayerMasks[];
}

/** The units to prune alone: every layer for magnitude; every prunable group (or conv, for channels) per structure. */
function units(layers: readonly PrunableLayer[], graph: LayerGraph, structures: readonly StructuredMode[] | undefined): Unit[] {
  const index = new Map(layers.map((layer, i) => [layer.name, i]));
  if (!structures) {
    return layers.map((layer, i) => ({ label: layer.name, method: 'magnitude', counted: [i], prune: (fraction) => magnitudePrune(layers, { fraction, scope: 'layer', layers: [layer.name] }) }));
  }
  return structures.flatMap((mode): Unit[] => {
    const kind = mode === 'neurons' ? 'linear' : 'conv';
    if (mode === 'channels') {
      const readsInput = (name: string) => graph.groups[graph.layers.find((l) => l.name === name)!.input.group].fixed === 'input';
      return layers.flatMap((layer, i) => (layer.kind === 'conv' && !layer.isOutput && !readsInput(layer.name) ? [{ label: layer.name, method: mode, counted: [i], prune: (fraction: number) => structuredPrune(layers, { mode, fraction, graph, layers: [layer.name] }) }] : []));
    }
    return graph.groups.flatMap((group) => {
      const producers = group.producers.map((name) => index.get(name)!);
      if (!producers.length || group.fixed || producers.some((i) => layers[i].kind !== kind || layers[i].isOutput)) return [];
      return [{ label: group.producers.join('+'), method: mode, counted: producers, prune: (fraction: number) => structuredPrune(layers, { mode, fraction, graph, layers: [group.producers[0]] }) }];
    });
  });
}

/**
 * Measures every unit at every sparsity with `evaluateModel` (e.g. accuracy on the validation part), restoring the
 * model's weights after each; `graph` is the model's layer graph (traceLayerGraph).
 */
export async function measureSensitivity(model: nn.Module, graph: LayerGraph, evaluateModel: (model: nn.Module) => Promise<ClassificationMetrics>, options: SensitivityOptions = {}): Promise<SensitivityResult> {
  const sparsities = checkSparsities(options.sparsities ?? DEFAULT_SENSITIVITIES);
  const log = options.log ?? (() => {});
  const layers = await prunableLayers(model, graph);
  const metricsOf = async (): Promise<SensitivityMetrics> => {
    const m = await evaluateModel(model);
    return { accuracy: m.accuracy, balancedAccuracy: m.balancedAccuracy, loss: m.loss };
  };
  const dense = await metricsOf();
  log(`sensitivity: unpruned: accuracy ${dense.accuracy.toFixed(4)}, balanced accuracy ${dense.balancedAccuracy.toFixed(4)}, loss ${dense.loss.toFixed(4)}`);
  const todo = units(layers, graph, options.structures);
  if (!todo.length) throw new Error(`sensitivity: no layer of this model can be pruned by ${options.structures?.join(', ')} (layers: ${layers.map((l) => `${l.name} (${l.kind}${l.isOutput ? ', output' : ''})`).join(', ')})`);
  const rows: SensitivityRow[] = [];
  for (const [u, unit] of todo.entries()) {
    for (const sparsity of sparsities) {
      const masks = unit.prune(sparsity);
      const changed = masks.flatMap((m, i) => (differs(m.mask, layers[i].mask) || differs(m.biasMask, layers[i].biasMask) ? [i] : []));
      loadWeights(model, changed.map((i) => ({ layer: layers[i], weight: applyMask(layers[i].weight, masks[i].mask), bias: layers[i].bias && applyMask(layers[i].bias!, masks[i].biasMask) })));
      let metrics: SensitivityMetrics;
      try {
        metrics = await metricsOf();
      } finally {
        loadWeights(model, changed.map((i) => ({ layer: layers[i], weight: layers[i].weight, bias: layers[i].bias })));
      }
      const weights = unit.counted.reduce((a, i) => a + layers[i].weight.length, 0);
      const zeros = unit.counted.reduce((a, i) => a + masks[i].mask.reduce((z, v, j) => z + (v === 0 || layers[i].weight[j] === 0 ? 1 : 0), 0), 0);
      rows.push({ layer: unit.label, method: unit.method, sparsity, weights, zeros, ...metrics });
      log(`sensitivity [${u + 1}/${todo.length}] ${unit.label} (${unit.method}) at ${(sparsity * 100).toFixed(0)}%: accuracy ${metrics.accuracy.toFixed(4)} (drop ${(dense.accuracy - metrics.accuracy).toFixed(4)})`);
    }
  }
  return { dense, rows };
}

/** Whether a new mask prunes anything the current one keeps (an absent mask keeps everything). */
function differs(next: Float32Array | undefined, current: Float32Array | undefined): boolean {
  return next !== undefined && next.some((v, j) => v !== (current ? current[j] : 1));
}

/** Writes weights (and biases) of the given layers to the model by their dotted names. */
function loadWeights(model: nn.Module, entries: { layer: PrunableLayer; weight: Float32Array; bias?: Float32Array }[]): void {
  const state: nn.StateDict = {};
  for (const { layer, weight, bias } of entries) {
    state[`${layer.name}.weight`] = { dtype: 'f32', shape: layer.shape, data: weight };
    if (bias) state[`${layer.name}.bias`] = { dtype: 'f32', shape: [bias.length], data: bias };
  }
  model.loadStateDict(state, { strict: false });
}
