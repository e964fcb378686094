/**
 * plan.json: a sparsity per layer, {"conv1": 0.42, "fc1": 0.97, ...}, by the layers' dotted names. Training takes
 * it with `--pruner magnitude --sparsity-plan plan.json` (each named layer pruned by magnitude to its own target;
 * a layer the plan does not name stays dense). Reading checks it against the model's layers: an unknown layer,
 * or a sparsity that is not a number in [0, 1), is an error naming the file and the layer.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@sparsenet/viz';
import type { LayerGraph } from '../prune/index.js';
import { numel } from '../prune/types.js';
import type { SparsityPlan } from './plan.js';

export interface ReadPlan {
  plan: SparsityPlan;
  /** Overall sparsity of the plan over all of the model's prunable layers, weighted by their sizes. */
  overall: number;
}

/** Reads and checks `file` against the layers of `graph`. */
export function readSparsityPlan(file: string, graph: LayerGraph): ReadPlan {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`--sparsity-plan ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`--sparsity-plan ${file}: must be a JSON object {layer: sparsity}`);
  const sizes = new Map(graph.layers.map((layer) => [layer.name, numel(layer.shape)]));
  const plan: SparsityPlan = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!sizes.has(name)) throw new Error(`--sparsity-plan ${file}: no prunable layer '${name}' in this model (layers: ${[...sizes.keys()].join(', ')})`);
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new Error(`--sparsity-plan ${file}: layer '${name}' has sparsity ${JSON.stringify(value)}, which must be a number in [0, 1)`);
    plan[name] = value;
  }
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const pruned = Object.entries(plan).reduce((a, [name, s]) => a + s * sizes.get(name)!, 0);
  return { plan, overall: pruned / total };
}

export function writeSparsityPlan(file: string, plan: SparsityPlan): void {
  writeFileAtomic(file, `${JSON.stringify(plan, null, 2)}\n`);
}
