/**
 * What the matmul variants (matmul-register.ts, matmul-subgroup.ts, matmul-tiled.ts) and their dispatcher
 * (matmul.ts) share: the options, the specialisation (everything that changes the WGSL text) and its key, the
 * bindings, operand loads and the epilogue.
 *
 * Epilogue, in order: + bias[n], ReLU, * maskOut[m,n], then C += (accumulate) or C = the result.
 * `maskB` (B's layout as stored) multiplies B elementwise as it is loaded.
 * Linear layers use: forward y = x @ (W*M)^T + b (transB, maskB, bias, relu); input gradient
 * dx = g @ (W*M) (maskB); weight gradient dW = (g^T @ x) * M (transA, maskOut).
 */
import { LINEAR_WORKGROUP } from './grid.js';
import type { BindingKind } from './runner.js';

export interface MatmulOptions {
  /** A is stored [K,M] and used transposed. */
  transA?: boolean;
  /** B is stored [N,K] and used transposed. */
  transB?: boolean;
  /** Length N, added to every row. */
  bias?: GPUBuffer;
  relu?: boolean;
  /** 0/1 values in B's stored layout, multiplied into B as it is loaded. */
  maskB?: GPUBuffer;
  /** 0/1 values of C's shape [M,N], multiplied into the result. */
  maskOut?: GPUBuffer;
  /** C += result instead of C = result. */
  accumulate?: boolean;
}

/** Everything that changes the WGSL text of a matmul, shared by the variants. */
export interface MatmulSpec {
  transA: boolean;
  transB: boolean;
  bias: boolean;
  relu: boolean;
  maskB: boolean;
  maskOut: boolean;
  accumulate: boolean;
  /** K, M, N divisible by 4: operands contiguous along that dimension bind as array<vec4<f32>>. */
  k4: boolean;
  m4: boolean;
  n4: boolean;
}

export function matmulSpec(m: number, n: number, k: number, options: MatmulOptions): MatmulSpec {
  return {
    transA: !!options.transA,
    transB: !!options.transB,
    bias: !!options.bias,
    relu: !!options.relu,
    maskB: !!options.maskB,
    maskOut: !!options.maskOut,
    accumulate: !!options.accumulate,
    k4: k % 4 === 0,
    m4: m % 4 === 0,
    n4: n % 4 === 0,
  };
}

/** e.g. `nt_k4m4n4_bias_relu`. */
export function matmulSpecKey(s: MatmulSpec): string {
  const flags = (['bias', 'relu', 'maskB', 'maskOut', 'accumulate'] as const).filter((f) => s[f]);
  const aligned = (['k4', 'm4', 'n4'] as const).filter((f) => s[f]).join('');
  return [`${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}`, aligned || 'unaligned', ...flags].join('_');
}

/** A is contiguous along k unless transposed; B is contiguous along k only when transposed. */
export function matmulAVec4(s: MatmulSpec): boolean {
  return s.transA ? s.m4 : s.k4;
}
export function matmulBVec4(s: MatmulSpec): boolean {
  return s.transB ? s.k4 : s.n4;
}

/**
 * Uniform struct and storage bindings, in binding order: u, a, b, [maskB], [bias], [maskOut], c (at most six
 * storage buffers). Operands bind as array<vec4<f32>> where their contiguous dimension allows.
 */
export function matmulBindings(s: MatmulSpec): { declarations: string; bindings: BindingKind[] } {
  const entries: [string, boolean, BindingKind][] = [['a', matmulAVec4(s), 'read'], ['b', matmulBVec4(s), 'read']];
  if (s.maskB) entries.push(['mb', matmulBVec4(s), 'read']);
  if (s.bias) entries.push(['bias', s.n4, 'read']);
  if (s.maskOut) entries.push(['mo', s.n4, 'read']);
  entries.push(['c', s.n4, 'write']);
  const declarations = entries.map(([name, vec4, kind], i) => {
    const access = kind === 'write' ? 'read_write' : 'read';
    return `@group(0) @binding(${i + 1}) var<storage, ${access}> ${name}: array<${vec4 ? 'vec4<f32>' : 'f32'}>;`;
  });
  return {
    declarations: `struct U { M: u32, N: u32, K: u32, tilesN: u32, }\n@group(0) @binding(0) var<uniform> u: U;\n${declarations.join('\n')}`,
    bindings: ['uniform', ...entries.map((e) => e[2])],
  };
}

export function matmulBuffers(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, options: MatmulOptions): GPUBuffer[] {
  return [a, b, options.maskB, options.bias, options.maskOut, c].filter((x): x is GPUBuffer => x !== undefined);
}

/**
 * WGSL helpers reading operands by element offset: `loadA4(o)`/`loadB4(o)` give the four consecutive values from
 * element o (o a multiple of 4 when the operand binds as vec4), `loadA1(o)`/`loadB1(o)` one value (scalar bindings
 * only). B's loads apply maskB.
 */
export function matmulOperandLoads(s: MatmulSpec): string {
  const four = (x: string, vec4: boolean) =>
    vec4 ? `${x}[o >> 2u]` : `vec4<f32>(${x}[o], ${x}[o + 1u], ${x}[o + 2u], ${x}[o + 3u])`;
  const masked = (f: (x: string) => string) => (s.maskB ? `${f('b')} * ${f('mb')}` : f('b'));
  const lines = [
    `fn loadA4(o: u32) -> vec4<f32> { return ${four('a', matmulAVec4(s))}; }`,
    `fn loadB4(o: u32) -> vec4<f32> { return ${masked((x) => four(x, matmulBVec4(s)))}; }`,
  ];
  if (!matmulAVec4(s)) lines.push('fn loadA1(o: u32) -> f32 { return a[o]; }');
  if (!matmulBVec4(s)) lines.push(`fn loadB1(o: u32) -> f32 { return ${masked((x) => `${x}[o]`)}; }`);
  return lines.join('\n');
}

/**
 * WGSL `store4(row, col, acc)`: applies the epilogue to C[row, col..col+3] and stores the columns inside C
 * (rows and columns past the edge are dropped, so threads may compute on clamped, repeated data).
 */
export function matmulEpilogue(s: MatmulSpec): string {
  const steps = (v: string, o: string, col: string) =>
    [
      s.bias ? `${v} += bias[${col}];` : '',
      s.relu ? `${v} = max(${v}, ${s.n4 ? 'vec4<f32>(0.0)' : '0.0'});` : '',
      s.maskOut ? `${v} *= mo[${o}];` : '',
      `c[${o}] = ${s.accumulate ? `c[${o}] + ` : ''}${v};`,
    ].filter(Boolean).join('\n  ');
  if (s.n4) {
    return `fn store4(row: u32, col: u32, acc: vec4<f32>) {
  if (row >= u.M || col >= u.N) { return; }
  let o = (row * u.N + col) >> 2u;
  var v = acc;
  ${steps('v', 'o', 'col >> 2u')}
}`;
  }
  return `fn store1(row: u32, col: u32, acc: f32) {
  if (col >= u.N) { return; }
  let o = row * u.N + col;
  var v = acc;
  ${steps('v', 'o', 'col')}
}
fn store4(row: u32, col: u32, acc: vec4<f32>) {
  if (row >= u.M) { return; }
  store1(row, col, acc.x);
  store1(row, col + 1u, acc.y);
  store1(row, col + 2u, acc.z);
  store1(row, col + 3u, acc.w);
}`;
}

/** WGSL lines placing a workgroup on its output tile of a folded grid: `tileM`, `tileN` (or returning). */
export function matmulTileIndex(tileRows: number): string {
  return `let tile = ${LINEAR_WORKGROUP};
  let tileM = tile / u.tilesN;
  let tileN = tile - tileM * u.tilesN;
  if (tileM * ${tileRows}u >= u.M) { return; }`;
}
