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
 * The kernel walks the groups of M, unrolled over the N values of each; N and M are compiled in, so the index
 * arithmetic is shifts, masks and constant divisions. Two layouts (MATMUL_NM_LAYOUTS) suit large and small
 * batches. Tried and dropped (slower against CSR in `npm run bench -- --only nm` on lavapipe, 2 to 3x, though not
 * A/B'd one at a time on the loaded host): reading x^T so that lanes load a value's inputs as one vector (each
 * lane walking its own row of x reuses a cache line for several values), and walking a whole u32 of indices at a
 * time, unrolled over its 16 values.
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

/**
 * How lanes cover the product. 'rows': a workgroup per output o and 256 batch rows, the walk over o's values
 * uniform (one load per SIMD vector on CPU drivers), as matmul-csr's; for large batches. 'outputs':
 * a lane per output and ROWS batch rows per workgroup, each lane walking its own row (gathers); for small batches,
 * where 'rows' would leave all but one lane of 64 idle.
 */
export const MATMUL_NM_LAYOUTS = ['rows', 'outputs'] as const;
export type MatmulNmLayout = (typeof MATMUL_NM_LAYOUTS)[number];
/** The default layout is 'rows' from this batch size on (the bench measures batch 1, where 'outputs' wins, and 256, where 'rows' does; the crossover between them is a guess). */
export const MATMUL_NM_ROWS_FROM_BATCH = 64;

export interface MatmulNmOptions {
  /** [out], added before the activation. */
  bias?: GPUBuffer | null;
  relu?: boolean;
  /** Default: 'rows' from MATMUL_NM_ROWS_FROM_BATCH on, else 'outputs'. */
  layout?: MatmulNmLayout;
}

/** The layout matmulNm takes when none is given. */
export function matmulNmDefaultLayout(batch: number): MatmulNmLayout {
  return batch >= MATMUL_NM_ROWS_FROM_BATCH ? 'rows' : 'outputs';
}

/** The program `matmulNm` runs for this pattern, layout and these options (the sizes are all in uniforms). */
export function matmulNmProgram(pattern: NmPattern, layout: MatmulNmLayout, options: MatmulNmOptions = {}): Program {
  checkPattern('matmul_nm', pattern);
  if (!MATMUL_NM_LAYOUTS.includes(layout)) throw new Error(`matmul_nm: unknown layout '${layout}' (layouts: ${MATMUL_NM_LAYOUTS.join(', ')})`);
  const bias = !!options.bias;
  const relu = !!options.relu;
  return cachedProgram(`matmul_nm_${pattern.n}of${pattern.m}_${layout}_r${ROWS}${bias ? '_bias' : ''}${relu ? '_relu' : ''}`, () => build(pattern, layout, bias, relu));
}

/** WGSL of kept value j's position in its group, read from `indices` at the row's `wordBase` (conv2d-nm's walk too). */
export function nmIndexWgsl(indexBits: number, j: string): string {
  const perWord = 32 / indexBits;
  return `(indices[wordBase + (${j}) / ${perWord}u] >> (((${j}) % ${perWord}u) * ${indexBits}u)) & ${(1 << indexBits) - 1}u`;
}

function build({ n, m }: NmPattern, layout: MatmulNmLayout, bias: boolean, relu: boolean): Omit<Program, 'key'> {
  const rows = Array.from({ length: ROWS }, (_, i) => i);
  const bits = nmIndexBits(m);
  const fmas = rows.map((i) => `a${i} = fma(x[x${i} + c], w, a${i});`).join('\n      ');
  const packed = nmPackedBindings(bias);
  const bindings = packed.bindings;
  // Per lane: its output o (oc clamped to a real one) and its batch rows r_i (xi clamped to a real one).
  const lanes = layout === 'rows'
    ? `let o = g / u.blocks;
  if (o >= u.outF) { return; }
  let oc = o;
  let rowBase = (g - o * u.blocks) * ${WORKGROUP * ROWS}u + lid;
  ${rows.map((i) => `let r${i} = rowBase + ${i * WORKGROUP}u;`).join('\n  ')}`
    : `let og = g / u.blocks;
  let o = og * ${WORKGROUP}u + lid;
  let oc = min(o, u.outF - 1u);
  let rowBase = (g - og * u.blocks) * ${ROWS}u;
  ${rows.map((i) => `let r${i} = rowBase + ${i}u;`).join('\n  ')}`;
  const wgsl = /* wgsl */ `
struct U { batch: u32, inF: u32, outF: u32, blocks: u32, wordsPerRow: u32, kept: u32, }
${packed.wgsl}
@compute @workgroup_size(${WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  let g = ${LINEAR_WORKGROUP};
  ${lanes}
  // Rows past the batch read the last row and store nothing.
  ${rows.map((i) => `let x${i} = min(r${i}, u.batch - 1u) * u.inF; var a${i} = 0.0;`).join('\n  ')}
  let valueBase = oc * u.kept;
  let wordBase = oc * u.wordsPerRow;
  for (var gi = 0u; gi < u.inF / ${m}u; gi++) {
    ${Array.from({ length: n }, (_, t) => `{
      let j = gi * ${n}u + ${t}u;
      let c = gi * ${m}u + (${nmIndexWgsl(bits, 'j')});
      let w = values[valueBase + j];
      ${fmas}
    }`).join('\n    ')}
  }
  if (o >= u.outF) { return; }
  let b = ${bias ? 'bias[o]' : '0.0'};
  ${rows.map((i) => `if (r${i} < u.batch) { out[r${i} * u.outF + o] = ${relu ? `max(a${i} + b, 0.0)` : `a${i} + b`}; }`).join('\n  ')}
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
  const layout = options.layout ?? matmulNmDefaultLayout(batch);
  const kept = (inFeatures / pattern.m) * pattern.n;
  const wordsPerRow = Math.ceil((kept * nmIndexBits(pattern.m)) / 32);
  const blocks = layout === 'rows' ? Math.ceil(batch / (WORKGROUP * ROWS)) : Math.ceil(batch / ROWS);
  const workgroups = layout === 'rows' ? outFeatures * blocks : Math.ceil(outFeatures / WORKGROUP) * blocks;
  const buffers = [x, values, indices, ...(options.bias ? [options.bias] : []), out];
  runner.run(matmulNmProgram(pattern, layout, options), buffers, [batch, inFeatures, outFeatures, blocks, wordsPerRow, kept], foldGrid(workgroups));
}

/** The bindings of a kernel on N:M-packed weights (shared by matmul_nm and conv2d_nm): the uniform u, input x,
 * values and indices (packNm), the optional bias, and out; their WGSL declarations and kinds. */
export function nmPackedBindings(bias: boolean): { wgsl: string; bindings: BindingKind[] } {
  const wgsl = `@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;
${bias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 5 : 4}) var<storage, read_write> out: array<f32>;`;
  return { wgsl, bindings: ['uniform', 'read', 'read', 'read', ...(bias ? (['read'] as BindingKind[]) : []), 'write'] };
}
