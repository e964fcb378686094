/**
 * Where each weight of a layer lands in a tiled picture: conv weights [out, in, kh, kw] as an out x in grid of
 * kh x kw kernels with a one-cell gap between kernels, linear weights [out, in] as a matrix (rows = outputs).
 * A layer with more weights than `maxCells` is reduced: a conv layer to one cell per kernel, then (like a
 * linear layer) to one cell per factor x factor block. Coordinates are in cell units, y downwards.
 */
import { shapeText } from './format.js';

export interface TiledCell {
  /** The first output and input index the cell covers (and its kernel row and column in full mode). */
  out: number;
  in: number;
  ky: number;
  kx: number;
  x: number;
  y: number;
  /** Mean of the values in the cell (full mode: the value itself); |w| first when `absolute`. */
  value: number;
  /** Share of the cell's weights that the mask keeps (1 without a mask). */
  kept: number;
  count: number;
}

export interface Tiling {
  /** 'full': a cell per weight; 'kernel': a cell per (block of) kernel(s); 'block': per block of weights. */
  mode: 'full' | 'kernel' | 'block';
  /** Outputs and inputs per cell side (1 in full mode and when whole kernels fit). */
  factor: number;
  out: number;
  inputs: number;
  kh: number;
  kw: number;
  /** Extent in cell units. */
  width: number;
  height: number;
  /** Cell units from one kernel (or cell) to the next, across and down. */
  strideX: number;
  strideY: number;
  cells: TiledCell[];
}

/** Checks a weight shape and that `values` (and `mask`) hold it; names `fn`, the shape and the lengths. */
export function checkWeightShape(fn: string, values: ArrayLike<number>, shape: readonly number[], mask?: ArrayLike<number>): void {
  const valid = (shape.length === 2 || shape.length === 4) && shape.every((d) => Number.isInteger(d) && d > 0);
  if (!valid) throw new Error(`${fn}: shape ${shapeText(shape)} must be [out,in] or [out,in,kh,kw]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new Error(`${fn}: ${values.length} values but shape ${shapeText(shape)} holds ${size}`);
  if (mask && mask.length !== size) throw new Error(`${fn}: mask has ${mask.length} values but shape ${shapeText(shape)} holds ${size}`);
}

/** Lays out `values` (optionally |values|, optionally masked: pruned weights count as 0) as cells. */
export function tileWeights(values: ArrayLike<number>, shape: readonly number[], options: { mask?: ArrayLike<number>; absolute?: boolean; maxCells: number }): Tiling {
  const [out, inputs] = shape;
  const conv = shape.length === 4;
  const [kh, kw] = conv ? [shape[2], shape[3]] : [1, 1];
  const per = kh * kw;
  const at = (k: number) => {
    const kept = options.mask ? options.mask[k] !== 0 : true;
    const v = kept ? values[k] : 0;
    return { v: options.absolute ? Math.abs(v) : v, kept };
  };
  if (out * inputs * per <= options.maxCells) {
    const gap = per > 1 ? 1 : 0;
    const cells: TiledCell[] = [];
    for (let o = 0, k = 0; o < out; o++) {
      for (let i = 0; i < inputs; i++) {
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++, k++) {
            const { v, kept } = at(k);
            cells.push({ out: o, in: i, ky, kx, x: i * (kw + gap) + kx, y: o * (kh + gap) + ky, value: v, kept: kept ? 1 : 0, count: 1 });
          }
        }
      }
    }
    return { mode: 'full', factor: 1, out, inputs, kh, kw, width: inputs * (kw + gap) - gap, height: out * (kh + gap) - gap, strideX: kw + gap, strideY: kh + gap, cells };
  }
  // One cell per factor x factor block of kernels (conv) or weights (linear), the smallest factor that fits.
  let factor = conv ? 1 : 2;
  while (Math.ceil(out / factor) * Math.ceil(inputs / factor) > options.maxCells) factor++;
  const rows = Math.ceil(out / factor);
  const cols = Math.ceil(inputs / factor);
  const sum = new Float64Array(rows * cols);
  const keptIn = new Float64Array(rows * cols);
  const count = new Float64Array(rows * cols);
  for (let k = 0; k < out * inputs * per; k++) {
    const kernel = Math.floor(k / per);
    const c = Math.floor(Math.floor(kernel / inputs) / factor) * cols + Math.floor((kernel % inputs) / factor);
    const { v, kept } = at(k);
    sum[c] += v;
    count[c]++;
    if (kept) keptIn[c]++;
  }
  const cells: TiledCell[] = [];
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) {
      const c = r * cols + col;
      cells.push({ out: r * factor, in: col * factor, ky: 0, kx: 0, x: col, y: r, value: sum[c] / count[c], kept: keptIn[c] / count[c], count: count[c] });
    }
  }
  return { mode: conv ? 'kernel' : 'block', factor, out, inputs, kh, kw, width: cols, height: rows, strideX: 1, strideY: 1, cells };
}
