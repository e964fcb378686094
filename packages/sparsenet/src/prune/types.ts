/**
 * Host-side description of prunable layers, shared by every pruner. Pruners are pure: they read weights and masks
 * and return NEW masks, so the training code reads weights back once per pruning event and uploads the result.
 */

/** A masked conv ([out, in, kh, kw]) or linear ([out, in]) layer as read back from the device. */
export interface PrunableLayer {
  name: string;
  kind: 'conv' | 'linear';
  shape: number[];
  weight: Float32Array;
  /** 0/1, same length as weight; the effective weight is weight * mask. */
  mask: Float32Array;
  bias?: Float32Array;
  /** 0/1, one per output unit; absent means all ones. */
  biasMask?: Float32Array;
  /** A layer whose units are the model's outputs (the nearest the output in its layer graph): never structurally pruned. */
  isOutput?: boolean;
}

/** New masks for one layer, as returned by every pruner (one entry per input layer, in order). */
export interface LayerMasks {
  name: string;
  mask: Float32Array;
  /** Present exactly when the layer has a bias. */
  biasMask?: Float32Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Validates layers for `op` and throws an error naming the op, the layer and the shapes. */
export function checkLayers(op: string, layers: readonly PrunableLayer[]): void {
  const names = new Set<string>();
  for (const layer of layers) {
    const { name, kind, shape } = layer;
    if (names.has(name)) throw new Error(`${op}: layer name '${name}' appears twice`);
    names.add(name);
    const rank = kind === 'conv' ? 4 : kind === 'linear' ? 2 : -1;
    if (rank < 0) throw new Error(`${op}: layer '${name}' has unknown kind '${String(kind)}'`);
    if (shape.length !== rank || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`${op}: ${kind} layer '${name}' needs a shape of ${rank} non-negative integers, got [${shape}]`);
    }
    const n = numel(shape);
    if (layer.weight.length !== n) throw new Error(`${op}: layer '${name}' [${shape}] has ${layer.weight.length} weights, expected ${n}`);
    if (layer.mask.length !== n) throw new Error(`${op}: layer '${name}' [${shape}] has a mask of ${layer.mask.length}, expected ${n}`);
    checkBinary(op, name, 'mask', layer.mask);
    if (layer.bias && layer.bias.length !== shape[0]) {
      throw new Error(`${op}: layer '${name}' [${shape}] has ${layer.bias.length} biases, expected ${shape[0]}`);
    }
    if (layer.biasMask) {
      if (!layer.bias) throw new Error(`${op}: layer '${name}' has a bias mask but no bias`);
      if (layer.biasMask.length !== shape[0]) {
        throw new Error(`${op}: layer '${name}' [${shape}] has a bias mask of ${layer.biasMask.length}, expected ${shape[0]}`);
      }
      checkBinary(op, name, 'bias mask', layer.biasMask);
    }
  }
}

function checkBinary(op: string, name: string, what: string, mask: Float32Array): void {
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new Error(`${op}: layer '${name}' ${what}[${i}] = ${mask[i]} is not 0 or 1`);
  }
}

/** Indices of the layers named in `names` (all layers when absent); unknown names throw. */
export function selectLayers(op: string, layers: readonly PrunableLayer[], names: readonly string[] | undefined): number[] {
  if (!names) return layers.map((_, i) => i);
  return names.map((name) => {
    const index = layers.findIndex((layer) => layer.name === name);
    if (index < 0) throw new Error(`${op}: no layer named '${name}' (layers: ${layers.map((l) => l.name).join(', ')})`);
    return index;
  });
}

export function checkFraction(op: string, fraction: number): void {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`${op}: fraction must be in [0, 1], got ${fraction}`);
}

/** Python's round() (half to even), as PyTorch uses to turn an amount into a count. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Copies of the current masks, the starting point of every pruner (so results never alias the inputs). */
export function copyMasks(layers: readonly PrunableLayer[]): LayerMasks[] {
  return layers.map((layer) => ({
    name: layer.name,
    mask: layer.mask.slice(),
    biasMask: layer.bias ? (layer.biasMask?.slice() ?? new Float32Array(layer.bias.length).fill(1)) : undefined,
  }));
}

/** The layers with their masks replaced by `masks` (matched by name); weights are shared, not copied. */
export function withMasks(layers: readonly PrunableLayer[], masks: readonly LayerMasks[]): PrunableLayer[] {
  const byName = new Map(masks.map((m) => [m.name, m]));
  return layers.map((layer) => {
    const update = byName.get(layer.name);
    if (!update) return layer;
    if (update.mask.length !== layer.mask.length) {
      throw new Error(`withMasks: mask for '${layer.name}' has ${update.mask.length} entries, expected ${layer.mask.length}`);
    }
    return { ...layer, mask: update.mask, biasMask: update.biasMask ?? layer.biasMask };
  });
}

/** Number of entries whose effective value (value * mask) is nonzero. */
export function countNonzero(values: Float32Array, mask: Float32Array | undefined): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if ((mask ? values[i] * mask[i] : values[i]) !== 0) n++;
  return n;
}

/**
 * Calls visit(j) for every flat index j of unit u along `dim` of a row-major tensor of `shape` (dim 0: an output
 * filter or neuron; dim 1 of a conv: an input channel across all filters).
 */
export function forEachInUnit(shape: readonly number[], dim: number, u: number, visit: (j: number) => void): void {
  const inner = numel(shape.slice(dim + 1));
  const outer = numel(shape.slice(0, dim));
  for (let o = 0; o < outer; o++) {
    const start = (o * shape[dim] + u) * inner;
    for (let j = start; j < start + inner; j++) visit(j);
  }
}

/** values where mask is 1 and +0 where it is 0 (never -0 or NaN from multiplying), as a new array. */
export function applyMask(values: Float32Array, mask: Float32Array | undefined): Float32Array {
  return mask ? values.map((v, i) => (mask[i] === 0 ? 0 : v)) : values.slice();
}
