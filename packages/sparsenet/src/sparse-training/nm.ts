/**
 * N:M sparsity (2:4 by default, as NVIDIA's ASP): in every group of M consecutive weights along a layer's input
 * dimension (a linear row's `in`, a conv filter's `in * kh * kw` in PyTorch's [out, in, kh, kw] order, the
 * reduction dimension of the layer's matrix product), the N of largest magnitude stay. A layer whose input
 * dimension is not a multiple of M cannot be split into groups: it stays dense with a warning naming it (as ASP
 * does), and naming such a layer explicitly is an error.
 *
 * Gradual N:M: a pruning event of target sparsity s keeps round(M (1 - s)) per group, clamped to [N, M], among
 * the weights the mask already keeps; so a schedule from 0 to 1 - N/M (gradual, iterative) steps the kept count
 * per group down from M to N (2:4: 4, 3, 2), and one-shot at 1 - N/M goes straight to N.
 */
import type { Pruner } from '../prune/registry.js';
import type { LayerMasks, PrunableLayer } from '../prune/types.js';

export interface NmPattern {
  n: number;
  m: number;
}

/** Parses `N:M` (1 <= N < M); `flag` names the option in errors. */
export function parseNmPattern(text: string, flag = '--nm'): NmPattern {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`${flag} must look like N:M (e.g. 2:4), got '${text}'`);
  const [n, m] = [Number(match[1]), Number(match[2])];
  if (!(n >= 1 && n < m)) throw new Error(`${flag} ${text}: N must be at least 1 and below M`);
  return { n, m };
}

/** The length of one row of a layer's input dimension: in (linear) or in * kh * kw (conv). */
export function inputDimension(layer: Pick<PrunableLayer, 'shape'>): number {
  return layer.shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * The N:M mask of one layer's weights: in each group of M along the input dimension, the N largest |w| among the
 * weights the current mask keeps (ties to the lower index); a group with fewer than N kept weights keeps those.
 */
export function nmMask(layer: PrunableLayer, { n, m }: NmPattern): Float32Array {
  const row = inputDimension(layer);
  if (row % m !== 0) throw new Error(`N:M ${n}:${m}: layer '${layer.name}' [${layer.shape}] has an input dimension of ${row}, not a multiple of ${m}`);
  const mask = new Float32Array(layer.weight.length);
  const order = Array.from({ length: m }, (_, i) => i);
  for (let start = 0; start < layer.weight.length; start += m) {
    const score = (i: number) => (layer.mask[start + i] === 0 ? -1 : Math.abs(layer.weight[start + i]));
    order.sort((a, b) => score(b) - score(a) || a - b);
    for (let k = 0; k < n; k++) if (score(order[k]) >= 0) mask[start + order[k]] = 1;
  }
  return mask;
}

/** The weights kept per group of M at a pruning event of target `sparsity`: round(M (1 - sparsity)), within [N, M]. */
export function nmKeptPerGroup({ n, m }: NmPattern, sparsity: number): number {
  return Math.min(m, Math.max(n, Math.round(m * (1 - sparsity))));
}

/** The names in a comma-separated --nm-layers list ('' = none given: every layer M divides). */
export function nmLayerNames(text: string): string[] | undefined {
  const names = text.split(',').map((n) => n.trim()).filter(Boolean);
  return names.length ? names : undefined;
}

/**
 * Checks `names` (--nm-layers) against the layers and the pattern: each must exist and have an input dimension M
 * divides. Returns the layers left dense (those M does not divide, when no names are given).
 */
export function checkNmLayers(layers: readonly Pick<PrunableLayer, 'name' | 'shape'>[], pattern: NmPattern, names?: readonly string[]): string[] {
  const known = new Set(layers.map((l) => l.name));
  for (const name of names ?? []) {
    if (!known.has(name)) throw new Error(`--nm-layers: no prunable layer '${name}' (layers: ${[...known].join(', ')})`);
    const layer = layers.find((l) => l.name === name)!;
    const row = inputDimension(layer);
    if (row % pattern.m !== 0) throw new Error(`--nm-layers: layer '${name}' [${layer.shape}] was named, but its input dimension ${row} is not a multiple of ${pattern.m} (--nm ${pattern.n}:${pattern.m})`);
  }
  return names ? [] : layers.filter((l) => inputDimension(l) % pattern.m !== 0).map((l) => l.name);
}

/**
 * N:M masks for `layers`: those named (default: every layer whose input dimension M divides) keep `kept` per group
 * of M (default N: the pattern itself), the others keep their masks. Returns the masks and the names of the layers
 * left dense for want of divisibility.
 */
export function nmLayerMasks(layers: readonly PrunableLayer[], pattern: NmPattern, names?: readonly string[], kept = pattern.n): { masks: LayerMasks[]; skipped: string[] } {
  const skipped = checkNmLayers(layers, pattern, names);
  const masks = layers.map((layer): LayerMasks => {
    const chosen = names ? names.includes(layer.name) : !skipped.includes(layer.name);
    const mask = chosen ? nmMask(layer, { n: kept, m: pattern.m }) : Float32Array.from(layer.mask);
    return { name: layer.name, mask, ...(layer.bias ? { biasMask: layer.biasMask ? Float32Array.from(layer.biasMask) : new Float32Array(layer.bias.length).fill(1) } : {}) };
  });
  return { masks, skipped };
}

/**
 * N:M as a registered pruner: `nm` the pattern N:M, `nmLayers` a comma-separated list or '' for every layer M
 * divides (the option names are the training flags --nm and --nm-layers). The event's sparsity sets the kept count
 * per group (nmKeptPerGroup): 1 - N/M or more gives N:M.
 */
export const nmPruner: Pruner = {
  name: 'nm',
  help: 'N:M sparsity (NVIDIA ASP): the N largest |w| of every M along the input dimension; layers M does not divide stay dense',
  options: [
    { name: 'nm', help: 'N:M, e.g. 2:4', default: '2:4' },
    { name: 'nmLayers', help: "comma-separated layer names, or '' for every layer whose input dimension M divides", default: '' },
  ],
  computeMasks: (layers, { options, sparsity, log }) => {
    const pattern = parseNmPattern(options.nm, '--nm');
    const kept = nmKeptPerGroup(pattern, sparsity);
    const { masks, skipped } = nmLayerMasks(layers, pattern, nmLayerNames(options.nmLayers), kept);
    if (skipped.length) {
      const dims = skipped.map((name) => `${name} (${inputDimension(layers.find((l) => l.name === name)!)})`).join(', ');
      log?.(`pruner nm: ${pattern.n}:${pattern.m} leaves ${dims} dense: input dimension not a multiple of ${pattern.m}`);
    }
    return masks;
  },
};
