/**
 * y [batch, out] = x [batch, in] @ W^T (+ bias, ReLU) with W [out, in] pruned and stored in CSR by output
 * row: inference for linear layers whose masks come from unstructured pruning, where no block of W is all
 * zero but most entries are. Only the nonzeros are read and multiplied, so time falls with density.
 *
 * Format (built on the host when masks change, see `packCsrRows`): `rowStart` [out + 1] u32 offsets into
 * `entries`, one vec2<u32> per nonzero: (column, bitcast of the value). A workgroup owns one output row
 * (feature) o, so its walk over o's entries is uniform: every lane reads the same entry (one load for the
 * SIMD vector on CPU drivers, a broadcast on GPUs) and multiplies it into ROWS batch rows of its own.
 */
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import { cachedProgram } from './program-cache.js';
import type { BindingKind, KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;
/** Batch rows per lane: independent accumulators for the same entry. */
const ROWS = 4;

export interface MatmulCsrOptions {
  /** [out], added before the activation. */
  bias?: GPUBuffer | null;
  relu?: boolean;
}

/** A CSR matrix as the kernel reads it. */
export interface CsrRows {
  rowStart: Uint32Array;
  /** Pairs (column, f32 bits of the value). */
  entries: Uint32Array;
  nonzeros: number;
}

/**
 * CSR of `values` [rows, cols] times `mask` (0/1, optional): entries whose product is zero are dropped, so
 * a weight that is zero without being masked is skipped too.
 */
export function packCsrRows(values: Float32Array, rows: number, cols: number, mask?: Float32Array | null): CsrRows {
  if (values.length !== rows * cols) throw new Error(`packCsrRows: ${values.length} values do not fill [${rows}, ${cols}]`);
  if (mask && mask.length !== values.length) throw new Error(`packCsrRows: mask of ${mask.length} does not match [${rows}, ${cols}]`);
  const rowStart = new Uint32Array(rows + 1);
  const pairs: number[] = [];
  const bits = new Uint32Array(1);
  const f32 = new Float32Array(bits.buffer);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = mask && mask[r * cols + c] === 0 ? 0 : values[r * cols + c];
      if (v === 0) continue;
      f32[0] = v;
      pairs.push(c, bits[0]);
    }
    rowStart[r + 1] = pairs.length / 2;
  }
  return { rowStart, entries: Uint32Array.from(pairs), nonzeros: pairs.length / 2 };
}

/** The program `matmulCsr` runs with these options (the sizes are all in uniforms). */
export function matmulCsrProgram(options: MatmulCsrOptions = {}): Program {
  const bias = !!options.bias;
  const relu = !!options.relu;
  return cachedProgram(`matmul_csr_r${ROWS}${bias ? '_bias' : ''}${relu ? '_relu' : ''}`, () => build(bias, relu));
}

function build(bias: boolean, relu: boolean): Omit<Program, 'key'> {
  const rows = Array.from({ length: ROWS }, (_, i) => i);
  const bindings: BindingKind[] = ['uniform', 'read', 'read', 'read', ...(bias ? (['read'] as BindingKind[]) : []), 'write'];
  const wgsl = /* wgsl */ `
struct U { batch: u32, inF: u32, outF: u32, rowGroups: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rowStart: array<u32>;
@group(0) @binding(3) var<storage, read> entries: array<vec2<u32>>;
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
  let end = rowStart[o + 1u];
  for (var e = rowStart[o]; e < end; e++) {
    let entry = entries[e];
    let w = bitcast<f32>(entry.y);
    ${rows.map((i) => `a${i} = fma(x[x${i} + entry.x], w, a${i});`).join('\n    ')}
  }
  let b = ${bias ? 'bias[o]' : '0.0'};
  ${rows.map((i) => `if (r0 + ${i * WORKGROUP}u < u.batch) { out[(r0 + ${i * WORKGROUP}u) * u.outF + o] = ${relu ? `max(a${i} + b, 0.0)` : `a${i} + b`}; }`).join('\n  ')}
}`;
  return { wgsl, bindings };
}

/** out [batch, outF] = x [batch, inF] @ W^T with W's CSR in `rowStart` [outF + 1] and `entries`. */
export function matmulCsr(
  runner: KernelRunner, x: GPUBuffer, rowStart: GPUBuffer, entries: GPUBuffer, out: GPUBuffer,
  batch: number, inFeatures: number, outFeatures: number, options: MatmulCsrOptions = {},
): void {
  if (![batch, inFeatures, outFeatures].every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`matmul_csr: invalid shape batch=${batch} in=${inFeatures} out=${outFeatures}`);
  }
  const rowGroups = Math.ceil(batch / (WORKGROUP * ROWS));
  const buffers = [x, rowStart, entries, ...(options.bias ? [options.bias] : []), out];
  runner.run(matmulCsrProgram(options), buffers, [batch, inFeatures, outFeatures, rowGroups], foldGrid(rowGroups * outFeatures));
}
