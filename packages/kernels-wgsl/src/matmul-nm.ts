/**
 * y [batch, out] = x [batch, in] @ W^T (+ bias, ReLU) with W [out, in] pruned to N:M (N kept in every group of M
 * consecutive inputs, as NVIDIA's ASP compresses 2:4) and stored packed: inference for N:M-pruned linear layers.
 *
 * Format (built on the host when masks change, see `packNm`): `values` [out, in * N / M], the kept weights of each
 * row in column order, and `indices`, each kept weight's position inside its group of M in `indexBits` bits
 * (2 for M <= 4, as ASP's metadata; 4 for M <= 16, 8 for M <= 256), packed 32 / indexBits per u32 from the low
 * bits, each row starting a new u32 (`wordsPerRow`). 2:4 reads half of W's values plus 1/16 of a word per value,
 * where CSR reads two words (column, value) per nonzero.
 *
 * As matmul-csr: a workgroup owns one output row o, so the walk over its values is uniform (one load for the SIMD
 * vector on CPU drivers), and each lane multiplies every value into ROWS batch rows of its own. N and M are
 * compiled in, so the group walk unrolls over N and the index arithmetic is shifts and masks.
 */
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import { cachedProgram } from './program-cache.js';
import type { BindingKind, KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;
/** Batch rows per lane: independent accumulators for the same value. */
const ROWS = 4;

export interface NmPattern {
  n: number;
  m: number;
}

/** A weight [rows, cols] packed N:M, as the N:M kernels read it. */
export interface NmPacked {
  pattern: NmPattern;
  rows: number;
  cols: number;
  /** [rows, cols * N / M]: the kept values of each row, in column order (0 pads a group that keeps fewer than N). */
  values: Float32Array;
  /** In-group positions, indexBits each, 32 / indexBits per u32, each row from a new u32. */
  indices: Uint32Array;
  indexBits: number;
  wordsPerRow: number;
}

/** Bits of one in-group index: 2 for M <= 4 (ASP's), 4 for M <= 16, 8 for M <= 256. */
export function nmIndexBits(m: number): number {
  if (m <= 4) return 2;
  if (m <= 16) return 4;
  if (m <= 256) return 8;
  throw new Error(`N:M: M = ${m} exceeds 256 (8-bit in-group indices)`);
}

function checkPattern(op: string, { n, m }: NmPattern): void {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 1 && n < m)) throw new Error(`${op}: pattern ${n}:${m} needs integers 1 <= N < M`);
  nmIndexBits(m);
}

/**
 * Packs `weight` [rows, cols] times `mask` (0/1, optional) as N:M along cols. `name` (e.g. "layer 'fc1'") is put
 * in errors: cols not a multiple of M, or a group with more than N nonzero effective weights (a mask that is not
 * N:M). A group with fewer keeps them and pads with zero values at unused positions.
 */
export function packNm(weight: Float32Array, rows: number, cols: number, pattern: NmPattern, mask?: Float32Array | null, name = 'weight'): NmPacked {
  const op = `packNm ${name} [${rows}, ${cols}]`;
  checkPattern(op, pattern);
  const { n, m } = pattern;
  if (weight.length !== rows * cols) throw new Error(`${op}: ${weight.length} values do not fill the shape`);
  if (mask && mask.length !== weight.length) throw new Error(`${op}: mask of ${mask.length} does not match`);
  if (cols % m !== 0) throw new Error(`${op}: ${n}:${m} needs the input dimension ${cols} to be a multiple of ${m}`);
  const indexBits = nmIndexBits(m);
  const perWord = 32 / indexBits;
  const kept = (cols / m) * n;
  const wordsPerRow = Math.ceil(kept / perWord);
  const values = new Float32Array(rows * kept);
  const indices = new Uint32Array(rows * wordsPerRow);
  const positions: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols / m; g++) {
      const start = r * cols + g * m;
      positions.length = 0;
      for (let i = 0; i < m; i++) if (weight[start + i] !== 0 && !(mask && mask[start + i] === 0)) positions.push(i);
      if (positions.length > n) {
        throw new Error(`${op}: not ${n}:${m}: row ${r}, columns ${g * m}..${g * m + m - 1} keep ${positions.length} nonzero weights`);
      }
      // Pad with unused positions (value 0), so that every group names N distinct columns.
      for (let i = 0; positions.length < n; i++) if (!positions.includes(i)) positions.push(i);
      positions.sort((a, b) => a - b);
      for (let t = 0; t < n; t++) {
        const j = g * n + t;
        const i = positions[t];
        values[r * kept + j] = weight[start + i] !== 0 && !(mask && mask[start + i] === 0) ? weight[start + i] : 0;
        indices[r * wordsPerRow + Math.floor(j / perWord)] |= i << ((j % perWord) * indexBits);
      }
    }
  }
  return { pattern, rows, cols, values, indices, indexBits, wordsPerRow };
}

/** The dense [rows, cols] weight a packed one stands for (the inverse of packNm on N:M data). */
export function unpackNm(packed: NmPacked): Float32Array {
  const { rows, cols, values, indices, indexBits, wordsPerRow, pattern } = packed;
  const { n, m } = pattern;
  const perWord = 32 / indexBits;
  const kept = (cols / m) * n;
  const dense = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < kept; j++) {
      const i = (indices[r * wordsPerRow + Math.floor(j / perWord)] >>> ((j % perWord) * indexBits)) & ((1 << indexBits) - 1);
      dense[r * cols + Math.floor(j / n) * m + i] = values[r * kept + j];
    }
  }
  return dense;
}

export interface MatmulNmOptions {
  /** [out], added before the activation. */
  bias?: GPUBuffer | null;
  relu?: boolean;
}

/** The program `matmulNm` runs for this pattern and these options (the sizes are all in uniforms). */
export function matmulNmProgram(pattern: NmPattern, options: MatmulNmOptions = {}): Program {
  checkPattern('matmul_nm', pattern);
  const bias = !!options.bias;
  const relu = !!options.relu;
  return cachedProgram(`matmul_nm_${pattern.n}of${pattern.m}_r${ROWS}${bias ? '_bias' : ''}${relu ? '_relu' : ''}`, () => build(pattern, bias, relu));
}

/** WGSL of kept value j's position in its group, read from `indices` at the row's `wordBase` (conv2d-nm reads the same). */
export function nmIndexWgsl(indexBits: number, j: string): string {
  const perWord = 32 / indexBits;
  return `(indices[wordBase + (${j}) / ${perWord}u] >> (((${j}) % ${perWord}u) * ${indexBits}u)) & ${(1 << indexBits) - 1}u`;
}

function build({ n, m }: NmPattern, bias: boolean, relu: boolean): Omit<Program, 'key'> {
  const rows = Array.from({ length: ROWS }, (_, i) => i);
  const taps = Array.from({ length: n }, (_, t) => t);
  const bindings: BindingKind[] = ['uniform', 'read', 'read', 'read', ...(bias ? (['read'] as BindingKind[]) : []), 'write'];
  const wgsl = /* wgsl */ `
struct U { batch: u32, inF: u32, outF: u32, rowGroups: u32, wordsPerRow: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;
${bias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 5 : 4}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  let g = ${LINEAR_WORKGROUP};
  let o = g / u.rowGroups;
  if (o >= u.outF) { return; }
  let r0 = (g - o * u.rowGroups) * ${WORKGROUP * ROWS}u + lid;
  // Rows past the batch read the last row and store nothing.
  ${rows.map((i) => `let x${i} = min(r0 + ${i * WORKGROUP}u, u.batch - 1u) * u.inF; var a${i} = 0.0;`).join('\n  ')}
  let groups = u.inF / ${m}u;
  let valueBase = o * groups * ${n}u;
  let wordBase = o * u.wordsPerRow;
  for (var gi = 0u; gi < groups; gi++) {
    ${taps.map((t) => `{
      let j = gi * ${n}u + ${t}u;
      let c = gi * ${m}u + (${nmIndexWgsl(nmIndexBits(m), 'j')});
      let w = values[valueBase + j];
      ${rows.map((i) => `a${i} = fma(x[x${i} + c], w, a${i});`).join('\n      ')}
    }`).join('\n    ')}
  }
  let b = ${bias ? 'bias[o]' : '0.0'};
  ${rows.map((i) => `if (r0 + ${i * WORKGROUP}u < u.batch) { out[(r0 + ${i * WORKGROUP}u) * u.outF + o] = ${relu ? `max(a${i} + b, 0.0)` : `a${i} + b`}; }`).join('\n  ')}
}`;
  return { wgsl, bindings };
}

/** out [batch, outF] = x [batch, inF] @ W^T with W [outF, inF] packed N:M in `values` and `indices` (see packNm). */
export function matmulNm(
  runner: KernelRunner, x: GPUBuffer, values: GPUBuffer, indices: GPUBuffer, out: GPUBuffer,
  batch: number, inFeatures: number, outFeatures: number, pattern: NmPattern, options: MatmulNmOptions = {},
): void {
  if (![batch, inFeatures, outFeatures].every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`matmul_nm: invalid shape batch=${batch} in=${inFeatures} out=${outFeatures}`);
  }
  if (inFeatures % pattern.m !== 0) throw new Error(`matmul_nm: in=${inFeatures} is not a multiple of M=${pattern.m} (${pattern.n}:${pattern.m})`);
  const wordsPerRow = Math.ceil(((inFeatures / pattern.m) * pattern.n * nmIndexBits(pattern.m)) / 32);
  const rowGroups = Math.ceil(batch / (WORKGROUP * ROWS));
  const buffers = [x, values, indices, ...(options.bias ? [options.bias] : []), out];
  runner.run(matmulNmProgram(pattern, options), buffers, [batch, inFeatures, outFeatures, rowGroups, wordsPerRow], foldGrid(rowGroups * outFeatures));
}
