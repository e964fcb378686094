/**
 * Structured pruning: whole conv filters (dim 0), conv input channels (dim 1) or linear neurons (rows), ranked by
 * the L1 or L2 norm of their masked weights; the smallest go, ties lowest index first.
 *
 * `fraction` is the target fraction of units pruned in EACH selected group: afterwards exactly
 * round(fraction * units) units are fully masked (Python rounding), counting units already fully masked; only
 * units still alive are ranked and nothing is revived. The output layer (isOutput) is never pruned.
 *
 * - 'filters' (default: every group of non-output convs) and 'neurons' (every group of non-output linears): with
 *   the model's layer graph (graph.ts), a unit is a channel of a group: filter c of every producer (the layers a
 *   residual add joins), ranked by the sum of their norms, as DepGraph ranks a group. When a BatchNorm shifts the
 *   group's channels, a pruned channel is not zero where it is read, so every consumer's input c is masked too.
 *   Without a graph each layer is its own group (a LeNet-shaped stack). A pruned unit's bias is masked with it,
 *   as is the bias of any unit found fully masked.
 * - 'channels' (default layers: every non-output conv but those reading the model's input, or without a graph
 *   the first conv in the list): masks input channel c of layer k across all its filters. Layer k's bias is
 *   untouched; the producing filter keeps its mask here, and compaction removes it (and its bias) along with the
 *   channel once no layer reads it.
 */
import { inputBlock, type LayerGraph } from './graph.js';
import type { Pruner } from './registry.js';
import { checkFraction, checkLayers, copyMasks, forEachInUnit, numel, roundHalfEven, selectLayers, withMasks, type LayerMasks, type PrunableLayer } from './types.js';

export type StructuredMode = 'filters' | 'channels' | 'neurons';
export const STRUCTURED_MODES: readonly StructuredMode[] = ['filters', 'channels', 'neurons'];

/** The structures of a --structure list, in order; an unknown or repeated one is an error naming the flag. */
export function parseStructures(text: string): StructuredMode[] {
  const items = text.split(',').map((item) => item.trim());
  for (const item of items) {
    if (!(STRUCTURED_MODES as readonly string[]).includes(item)) throw new Error(`structured: --structure takes ${STRUCTURED_MODES.join(', ')} or a comma-separated list of them, got '${text}'`);
  }
  if (new Set(items).size !== items.length) throw new Error(`structured: --structure lists a structure twice: '${text}'`);
  return items as StructuredMode[];
}

export interface StructuredOptions {
  mode: StructuredMode;
  /** Target fraction of filters / channels / neurons pruned in each selected group (or layer, for channels). */
  fraction: number;
  /** Importance of a unit: 'l1' (default, as Li et al. 2017) or 'l2' norm of its masked weights. */
  norm?: 'l1' | 'l2';
  /** Names of the layers to prune (defaults above; a named producer brings its whole group); the output layer and wrong kinds are refused. */
  layers?: readonly string[];
  /** The model's layer graph (traceLayerGraph); without it each layer is its own group and nothing else reads it. */
  graph?: LayerGraph;
}

export const structuredPruner: Pruner = {
  name: 'structured',
  help: 'whole filters, channels or neurons with the smallest norms go, channel groups across residual adds together',
  options: [
    { name: 'structure', help: 'filters, channels or neurons, or a comma-separated list of them pruned in turn', default: 'filters' },
    { name: 'norm', help: 'the importance of a unit: the l1 or l2 norm of its weights', default: 'l1', choices: ['l1', 'l2'] },
  ],
  computeMasks(layers, { sparsity, graph, options }) {
    let pruned: readonly PrunableLayer[] = layers;
    let masks = copyMasks(layers);
    for (const mode of parseStructures(options.structure)) {
      masks = structuredPrune(pruned, { mode, fraction: sparsity, norm: options.norm as 'l1' | 'l2', graph });
      pruned = withMasks(pruned, masks);
    }
    return masks;
  },
};

/** A group as the pruner uses it: indices into the layer list. */
interface UnitGroup {
  producers: number[];
  /** Layers reading the channels, each weight seen as [out, channels, features per channel]. */
  consumers: { index: number; view: number[] }[];
  maskConsumers: boolean;
  fixed: 'input' | 'output' | null;
}

export function structuredPrune(layers: readonly PrunableLayer[], options: StructuredOptions): LayerMasks[] {
  const op = 'structuredPrune';
  checkLayers(op, layers);
  checkFraction(op, options.fraction);
  const { mode } = options;
  const norm = options.norm ?? 'l1';
  if (mode !== 'filters' && mode !== 'channels' && mode !== 'neurons') throw new Error(`${op}: unknown mode '${String(mode)}'`);
  if (norm !== 'l1' && norm !== 'l2') throw new Error(`${op}: norm must be 'l1' or 'l2', got '${String(norm)}'`);
  const kind = mode === 'neurons' ? 'linear' : 'conv';
  const { groups, groupOf, readsInput } = unitGroups(op, layers, options.graph);
  const masks = copyMasks(layers);
  const refuse = (i: number) => {
    const { name, shape } = layers[i];
    if (layers[i].kind !== kind) throw new Error(`${op}: mode '${mode}' prunes ${kind} layers, but '${name}' [${shape}] is ${layers[i].kind}`);
    if (layers[i].isOutput || groups[groupOf[i]].fixed === 'output') throw new Error(`${op}: '${name}' is the output layer, which is never structurally pruned`);
  };
  if (mode === 'channels') {
    const selected = options.layers
      ? selectLayers(op, layers, options.layers)
      : layers.flatMap((layer, i) => (layer.kind === 'conv' && !layer.isOutput && !readsInput[i] ? [i] : []));
    for (const i of selected) {
      refuse(i);
      pruneUnits(layers, [i], 1, options.fraction, norm, masks);
    }
    return masks;
  }
  const selectedGroups = options.layers
    ? selectLayers(op, layers, options.layers).map((i) => (refuse(i), groupOf[i]))
    : groups.flatMap((group, g) => (group.producers.length && !group.fixed && group.producers.every((i) => layers[i].kind === kind && !layers[i].isOutput) ? [g] : []));
  for (const g of new Set(selectedGroups)) {
    const group = groups[g];
    if (group.fixed === 'input') throw new Error(`${op}: the outputs of ${group.producers.map((i) => `'${layers[i].name}'`).join(', ')} are added to the model's input, whose channels are never pruned`);
    const pruned = pruneUnits(layers, group.producers, 0, options.fraction, norm, masks);
    if (group.maskConsumers) {
      for (const { index, view } of group.consumers) for (const u of pruned) forEachInUnit(view, 1, u, (j) => (masks[index].mask[j] = 0));
    }
    for (const i of group.producers) {
      const biasMask = masks[i].biasMask;
      if (!biasMask) continue;
      for (let u = 0; u < layers[i].shape[0]; u++) {
        let isDead = true;
        forEachInUnit(layers[i].shape, 0, u, (j) => (isDead &&= masks[i].mask[j] === 0));
        if (isDead) biasMask[u] = 0;
      }
    }
  }
  return masks;
}

/**
 * Masks round(fraction * units) - (units already empty) of the alive units along `dim` shared by `members`,
 * smallest summed norm first; returns the units pruned now.
 */
function pruneUnits(layers: readonly PrunableLayer[], members: number[], dim: number, fraction: number, norm: 'l1' | 'l2', masks: LayerMasks[]): number[] {
  const units = layers[members[0]].shape[dim];
  const alive: number[] = [];
  const importance = new Float64Array(units);
  for (let u = 0; u < units; u++) {
    let isAlive = false;
    for (const i of members) {
      const { shape, weight, mask } = layers[i];
      let sum = 0;
      forEachInUnit(shape, dim, u, (j) => {
        if (mask[j] === 0) return;
        isAlive = true;
        sum += norm === 'l1' ? Math.abs(weight[j]) : weight[j] * weight[j];
      });
      importance[u] += norm === 'l1' ? sum : Math.sqrt(sum);
    }
    if (isAlive) alive.push(u);
  }
  const need = roundHalfEven(fraction * units) - (units - alive.length);
  alive.sort((a, b) => importance[a] - importance[b] || a - b);
  const pruned = alive.slice(0, Math.max(0, need));
  for (const i of members) for (const u of pruned) forEachInUnit(layers[i].shape, dim, u, (j) => (masks[i].mask[j] = 0));
  return pruned;
}

/**
 * The groups of `layers`: the graph's (every layer of the graph must be in the list, and only those), or one per
 * layer without a graph. Also each layer's output group and whether it reads the model's input.
 */
function unitGroups(op: string, layers: readonly PrunableLayer[], graph: LayerGraph | undefined): { groups: UnitGroup[]; groupOf: number[]; readsInput: boolean[] } {
  if (!graph) {
    const firstConv = layers.findIndex((layer) => layer.kind === 'conv');
    return {
      groups: layers.map((layer, i) => ({ producers: [i], consumers: [], maskConsumers: false, fixed: layer.isOutput ? 'output' : null })),
      groupOf: layers.map((_, i) => i),
      readsInput: layers.map((_, i) => i === firstConv),
    };
  }
  const index = new Map(layers.map((layer, i) => [layer.name, i]));
  const missing = graph.layers.filter((node) => !index.has(node.name)).map((node) => node.name);
  const extra = layers.filter((layer) => !graph.layers.some((node) => node.name === layer.name)).map((layer) => layer.name);
  if (missing.length || extra.length) {
    throw new Error(`${op}: the layers do not match the layer graph (${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `not in the graph: ${extra.join(', ')}` : ''].filter(Boolean).join('; ')})`);
  }
  const nodes = layers.map((layer) => graph.layers.find((node) => node.name === layer.name)!);
  nodes.forEach((node, i) => {
    if (node.shape.join() !== layers[i].shape.join()) throw new Error(`${op}: layer '${node.name}' is [${layers[i].shape}] but the graph has [${node.shape}]`);
  });
  return {
    groups: graph.groups.map((group) => ({
      producers: group.producers.map((name) => index.get(name)!),
      consumers: group.consumers.map((name) => {
        const i = index.get(name)!;
        const block = inputBlock(nodes[i], layers[i].shape);
        return { index: i, view: [layers[i].shape[0], numel(layers[i].shape.slice(1)) / block, block] };
      }),
      maskConsumers: !group.zeroWhenPruned,
      fixed: group.fixed,
    })),
    groupOf: nodes.map((node) => node.output),
    readsInput: nodes.map((node) => graph.groups[node.input.group].fixed === 'input'),
  };
}
