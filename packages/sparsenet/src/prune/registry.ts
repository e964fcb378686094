/**
 * Pruners by name. A pruner follows the contract of PyTorch's torch/nn/utils/prune.py: from the layers' weights
 * and their current masks it computes new masks (one per layer, in order) and never revives a pruned weight.
 * A new criterion is one file defining a `Pruner` and one line in BUILT_IN (or `registerPruner` from outside),
 * plus its test; the training loop, the CLIs and the sweep find it by name.
 */
import type { LayerGraph } from './graph.js';
import { structuredPruner } from './structured.js';
import type { LayerMasks, PrunableLayer } from './types.js';
import { magnitudePruner, randomPruner } from './unstructured.js';
import { nmPruner } from '../sparse-training/nm.js';

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
}

export interface Pruner {
  name: string;
  help: string;
  options: readonly PrunerOption[];
  computeMasks(layers: readonly PrunableLayer[], context: PruneContext): LayerMasks[];
}

const BUILT_IN: readonly Pruner[] = [magnitudePruner, randomPruner, structuredPruner, nmPruner];
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
export function computeMasks(name: string, layers: readonly PrunableLayer[], context: Omit<PruneContext, 'options'> & { options?: Record<string, string | undefined> }): LayerMasks[] {
  const pruner = getPruner(name);
  const given = context.options ?? {};
  for (const key of Object.keys(given)) {
    if (!pruner.options.some((o) => o.name === key)) throw new Error(`pruner '${name}': unknown option '${key}' (options: ${pruner.options.map((o) => o.name).join(', ') || 'none'})`);
  }
  const options = Object.fromEntries(pruner.options.map((o) => [o.name, given[o.name] ?? o.default]));
  for (const o of pruner.options) {
    if (o.choices && !o.choices.includes(options[o.name])) throw new Error(`pruner '${name}': --${o.name} takes ${o.choices.join(', ')}, got '${options[o.name]}'`);
  }
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
