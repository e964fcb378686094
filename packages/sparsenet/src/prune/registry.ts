/**
 * Pruners by name. A pruner follows the contract of PyTorch's torch/nn/utils/prune.py: from the layers' weights
 * and their current masks it computes new masks (one per layer, in order) and never revives a pruned weight.
 * A new criterion is one file defining a `Pruner` and one line in BUILT_IN (or `registerPruner` from outside),
 * plus its test; the training loop, the CLIs and the sweep find it by name.
 */
import type { nn } from '@sparsenet/tensor';
import type { Batch } from '../data/index.js';
import type { LayerGraph } from './graph.js';
import { structuredPruner } from './structured.js';
import type { LayerMasks, PrunableLayer } from './types.js';
import { magnitudePruner, randomPruner } from './unstructured.js';
import { nmPruner } from '../sparse-training/nm.js';
import { graspPruner } from '../sparse-training/grasp.js';
import { snipPruner } from '../sparse-training/snip.js';
import { synflowPruner } from '../sparse-training/synflow.js';

export interface PrunerOption {
  name: string;
  help: string;
  default: string;
  /** The values it takes, when they are a fixed few (checked by computeMasks). */
  choices?: readonly string[];
}

export interface PruneContext {
  /** Target sparsity of this pruning event (the pruners' `fraction`). */
  sparsity: number;
  /** Seed of this event's random choices. */
  seed: number;
  /** The model's layer graph: groups, consumers and the output layer (traceLayerGraph). */
  graph?: LayerGraph;
  /** The pruner's options by name, every declared option present (defaults filled in by computeMasks). */
  options: Record<string, string>;
  /** Warnings a pruner has for the user (e.g. layers it had to leave alone), one line each. */
  log?: (line: string) => void;
  /** A scoring pruner's scores (its `score` step's result, one per weight of each layer): the lowest go. */
  scores?: readonly Float32Array[];
}

/** What a scoring step reads besides the layers: the model itself and a few training batches. */
export interface ScoreContext extends PruneContext {
  model: nn.Module;
  graph: LayerGraph;
  /** Training batches (--score-batches) for data-driven scores; data-free pruners ignore them. */
  batches: readonly Pick<Batch, 'x' | 'y' | 'shape'>[];
}

export interface Pruner {
  name: string;
  help: string;
  options: readonly PrunerOption[];
  computeMasks(layers: readonly PrunableLayer[], context: PruneContext): LayerMasks[];
  /**
   * Pruners that rank weights by the model's behaviour (SNIP, GraSP, SynFlow) declare this step: run on the model
   * before computeMasks (computeScores), it returns one score per weight of each layer, which computeMasks gets
   * as `context.scores`. It must leave the model as it found it.
   */
  score?(layers: readonly PrunableLayer[], context: ScoreContext): Promise<Float32Array[]>;
}

const BUILT_IN: readonly Pruner[] = [magnitudePruner, randomPruner, structuredPruner, nmPruner, snipPruner, graspPruner, synflowPruner];
const registry = new Map(BUILT_IN.map((pruner) => [pruner.name, pruner]));

export function registerPruner(pruner: Pruner): void {
  if (registry.has(pruner.name)) throw new Error(`registerPruner: a pruner named '${pruner.name}' is already registered`);
  registry.set(pruner.name, pruner);
}

export function prunerNames(): string[] {
  return [...registry.keys()];
}

export function getPruner(name: string): Pruner {
  const pruner = registry.get(name);
  if (!pruner) throw new Error(`no pruner named '${name}' (pruners: ${prunerNames().join(', ')})`);
  return pruner;
}

/**
 * The masks pruner `name` computes with `options` (missing ones take their defaults; unknown options and values
 * outside their choices throw naming the pruner), checked against the contract: one mask per layer, of its shape,
 * pruning only weights the current mask keeps.
 */
export function computeMasks(name: string, layers: readonly PrunableLayer[], context: Omit<PruneContext, 'options'> & { options?: GivenOptions }): LayerMasks[] {
  const pruner = getPruner(name);
  const options = resolveOptions(pruner, context.options);
  const masks = pruner.computeMasks(layers, { ...context, options });
  if (masks.length !== layers.length) throw new Error(`pruner '${name}': returned ${masks.length} masks for ${layers.length} layers`);
  masks.forEach((m, i) => {
    const layer = layers[i];
    if (m.name !== layer.name || m.mask.length !== layer.mask.length) {
      throw new Error(`pruner '${name}': mask ${i} is '${m.name}' with ${m.mask.length} entries, layer ${i} is '${layer.name}' [${layer.shape}] (${layer.mask.length})`);
    }
    const revived = m.mask.findIndex((v, j) => v !== 0 && layer.mask[j] === 0);
    if (revived >= 0) throw new Error(`pruner '${name}': revives weight ${revived} of '${layer.name}', which the current mask prunes`);
  });
  return masks;
}

type GivenOptions = Record<string, string | undefined>;

/** The pruner's options with defaults filled in; unknown options and values outside their choices throw naming the pruner. */
function resolveOptions(pruner: Pruner, given: GivenOptions = {}): Record<string, string> {
  for (const key of Object.keys(given)) {
    if (!pruner.options.some((o) => o.name === key)) throw new Error(`pruner '${pruner.name}': unknown option '${key}' (options: ${pruner.options.map((o) => o.name).join(', ') || 'none'})`);
  }
  const options = Object.fromEntries(pruner.options.map((o) => [o.name, given[o.name] ?? o.default]));
  for (const o of pruner.options) {
    if (o.choices && !o.choices.includes(options[o.name])) throw new Error(`pruner '${pruner.name}': --${o.name} takes ${o.choices.join(', ')}, got '${options[o.name]}'`);
  }
  return options;
}

/**
 * The scores of pruner `name` for `layers` from its scoring step, or undefined when it has none (magnitude,
 * random, ...). Checked: one score per weight of each layer.
 */
export async function computeScores(name: string, layers: readonly PrunableLayer[], context: Omit<ScoreContext, 'options'> & { options?: GivenOptions }): Promise<Float32Array[] | undefined> {
  const pruner = getPruner(name);
  const options = resolveOptions(pruner, context.options);
  if (!pruner.score) return undefined;
  const scores = await pruner.score(layers, { ...context, options });
  if (scores.length !== layers.length || scores.some((s, i) => s.length !== layers[i].weight.length)) {
    throw new Error(`pruner '${name}': scored [${scores.map((s) => s.length)}] weights for layers of [${layers.map((l) => l.weight.length)}]`);
  }
  return scores;
}
