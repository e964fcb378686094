/**
 * Structured pruning: whole conv filters (dim 0), conv input channels (dim 1) or linear neurons (rows), ranked by
 * the L1 or L2 norm of their masked weights; the smallest go, ties lowest index first.
 *
 * `fraction` is the target fraction of units pruned in EACH selected layer: afterwards exactly
 * round(fraction * units) units are fully masked (Python rounding), counting units already fully masked; only
 * units still alive are ranked and nothing is revived. The output layer (isOutput) is never pruned.
 *
 * - 'filters' (default layers: every non-output conv) and 'neurons' (every non-output linear): a pruned unit's
 *   bias is masked with it, as is the bias of any unit found fully masked.
 * - 'channels' (default layers: every non-output conv except the first conv in the list, whose inputs are the
 *   image's channels): masks input channel c of layer k across all its filters. Layer k's bias is untouched; the
 *   producing filter c of layer k-1 keeps its mask here, and compactLeNet removes it (and its bias) along with
 *   the channel, since its output is no longer read.
 */
import { checkFraction, checkLayers, copyMasks, forEachInUnit, roundHalfEven, selectLayers, type LayerMasks, type PrunableLayer } from './types.js';

export type StructuredMode = 'filters' | 'channels' | 'neurons';

export interface StructuredOptions {
  mode: StructuredMode;
  /** Target fraction of filters / channels / neurons pruned in each selected layer. */
  fraction: number;
  /** Importance of a unit: 'l1' (default, as Li et al. 2017) or 'l2' norm of its masked weights. */
  norm?: 'l1' | 'l2';
  /** Names of the layers to prune (defaults above); the output layer and wrong kinds are refused. */
  layers?: readonly string[];
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
  const firstConv = layers.findIndex((layer) => layer.kind === 'conv');
  const selected = options.layers
    ? selectLayers(op, layers, options.layers)
    : layers.flatMap((layer, i) => (layer.kind === kind && !layer.isOutput && !(mode === 'channels' && i === firstConv) ? [i] : []));
  const masks = copyMasks(layers);
  const dim = mode === 'channels' ? 1 : 0;
  for (const i of selected) {
    const { name, shape, weight, mask } = layers[i];
    if (layers[i].kind !== kind) throw new Error(`${op}: mode '${mode}' prunes ${kind} layers, but '${name}' [${shape}] is ${layers[i].kind}`);
    if (layers[i].isOutput) throw new Error(`${op}: '${name}' is the output layer, which is never structurally pruned`);
    const units = shape[dim];
    const newMask = masks[i].mask;
    const alive: number[] = [];
    const importance = new Float64Array(units);
    for (let u = 0; u < units; u++) {
      let isAlive = false;
      let sum = 0;
      forEachInUnit(shape, dim, u, (j) => {
        if (mask[j] === 0) return;
        isAlive = true;
        const w = weight[j];
        sum += norm === 'l1' ? Math.abs(w) : w * w;
      });
      importance[u] = norm === 'l1' ? sum : Math.sqrt(sum);
      if (isAlive) alive.push(u);
    }
    const need = roundHalfEven(options.fraction * units) - (units - alive.length);
    alive.sort((a, b) => importance[a] - importance[b] || a - b);
    for (const u of alive.slice(0, Math.max(0, need))) forEachInUnit(shape, dim, u, (j) => (newMask[j] = 0));
    const biasMask = masks[i].biasMask;
    if (dim === 0 && biasMask) {
      for (let u = 0; u < units; u++) {
        let isDead = true;
        forEachInUnit(shape, 0, u, (j) => (isDead &&= newMask[j] === 0));
        if (isDead) biasMask[u] = 0;
      }
    }
  }
  return masks;
}
