/**
 * N:M sparsity (2:4 by default, as NVIDIA's ASP): in every group of M consecutive weights along a layer's input
 * dimension (a linear row's `in`, a conv filter's `in * kh * kw` in PyTorch's [out, in, kh, kw] order, the
 * reduction dimension of the layer's matrix product), the N of largest magnitude stay. A layer whose input
 * dimension is not a multiple of M cannot be split into groups: it stays dense with a warning naming it (as ASP
 * does), and naming such a layer explicitly is an error.
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

/**
 * N:M masks for `layers`: those named (default: every layer whose input dimension M divides) get the pattern,
 * the others keep their masks. Returns the masks and the names of the layers left dense for want of divisibility.
 */
export function nmLayerMasks(layers: readonly PrunableLayer[], pattern: NmPattern, names?: readonly string[]): { masks: LayerMasks[]; skipped: string[] } {
  const known = new Set(layers.map((l) => l.name));
  for (const name of names ?? []) {
    if (!known.has(name)) throw new Error(`N:M: no prunable layer '${name}' (layers: ${[...known].join(', ')})`);
    const layer = layers.find((l) => l.name === name)!;
    const row = inputDimension(layer);
    if (row % pattern.m !== 0) throw new Error(`N:M ${pattern.n}:${pattern.m}: layer '${name}' [${layer.shape}] was named, but its input dimension ${row} is not a multiple of ${pattern.m}`);
  }
  const skipped: string[] = [];
  const masks = layers.map((layer): LayerMasks => {
    const chosen = names ? names.includes(layer.name) : inputDimension(layer) % pattern.m === 0;
    if (!names && !chosen) skipped.push(layer.name);
    const mask = chosen ? nmMask(layer, pattern) : Float32Array.from(layer.mask);
    return { name: layer.name, mask, ...(layer.bias ? { biasMask: layer.biasMask ? Float32Array.from(layer.biasMask) : new Float32Array(layer.bias.length).fill(1) } : {}) };
  });
  return { masks, skipped };
}

/** N:M as a registered pruner: `pattern` N:M, `layers` a comma-separated list or '' for every layer M divides. */
export const nmPruner: Pruner = {
  name: 'nm',
  help: 'N:M sparsity (NVIDIA ASP): the N largest |w| of every M along the input dimension; layers M does not divide stay dense',
  options: [
    { name: 'pattern', help: 'N:M, e.g. 2:4', default: '2:4' },
    { name: 'layers', help: "comma-separated layer names, or '' for every layer whose input dimension M divides", default: '' },
  ],
  computeMasks: (layers, { options, log }) => {
    const pattern = parseNmPattern(options.pattern, 'pruner nm: pattern');
    const names = options.layers ? options.layers.split(',').map((n) => n.trim()) : undefined;
    const { masks, skipped } = nmLayerMasks(layers, pattern, names);
    if (skipped.length) {
      const dims = skipped.map((name) => `${name} (${inputDimension(layers.find((l) => l.name === name)!)})`).join(', ');
      log?.(`pruner nm: ${pattern.n}:${pattern.m} leaves ${dims} dense: input dimension not a multiple of ${pattern.m}`);
    }
    return masks;
  },
};
