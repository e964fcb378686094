/**
 * Register-blocked matmuls without workgroup memory or barriers, for CPU Vulkan drivers. Each thread keeps a
 * rows x cols block of C in vec4 accumulators (along n) and streams its rows of op(A) and columns of op(B)
 * from storage. On lavapipe a storage load costs a loop over the SIMD lanes per component while arithmetic
 * is nearly free, so what counts is loaded values per multiply-add:
 *   - 'register': every thread loads its own A and B values, one k at a time (vec4 along m or n where
 *     the layout allows; a longer loop body with more live values measured slower).
 *   - 'subgroup': the lanes of a subgroup own different rows but share the same columns; each B value is
 *     loaded by one lane and reaches the others by subgroupBroadcast (a register shuffle), four k at a time,
 *     which cuts B loads by the subgroup size. Needs the 'subgroups' feature and a fixed subgroup size.
 * The WGSL is generated unrolled (named accumulators) so that no driver has to unroll loops or promote
 * arrays to registers. Rows and columns past the edge are clamped to stay inside the operands; what they
 * compute is never stored.
 */
import { matmulEpilogue, matmulBindings, matmulProgram, matmulBuffers, matmulSpec, matmulOperandLoads, matmulSpecKey, matmulTileIndex, matmulAVec4, matmulBVec4, type MatmulOptions, type MatmulSpec } from './matmul.js';
import { foldGrid } from './grid.js';
import type { KernelRunner, Program } from './runner.js';

/** Outputs per thread (rows, cols: multiples of 4 where read along m or n) and workgroup threads (x along n). */
export interface RegisterBlocking {
  rows: number;
  cols: number;
  wx: number;
  wy: number;
}

/** Outputs per lane (rows x cols) and subgroups per workgroup; cols must be a multiple of the subgroup size. */
export interface SubgroupBlocking {
  rows: number;
  cols: number;
  subgroups: number;
}

/** Measured on lavapipe over LeNet's fc1 shapes in each layout and 512^3. */
export const REGISTER_BLOCKING: RegisterBlocking = { rows: 8, cols: 8, wx: 8, wy: 8 };
/** With A read along k; read along m (transA), a lane's rows come in vec4 groups. */
export const SUBGROUP_BLOCKING: SubgroupBlocking = { rows: 2, cols: 16, subgroups: 8 };
export const SUBGROUP_BLOCKING_TRANSPOSED_A: SubgroupBlocking = { rows: 4, cols: 16, subgroups: 4 };

const XYZW = ['x', 'y', 'z', 'w'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (items: string[], pad = '  ') => items.join(`\n${pad}`);

/**
 * The subgroup size the subgroup variant builds for: the device's fixed size where it divides the 16 shared
 * columns (CPU drivers have 4 or 8); null without the subgroups feature, or with a varying or larger size.
 */
export function matmulSubgroupSize(device: GPUDevice): number | null {
  if (!device.features.has('subgroups')) return null;
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const size = info?.subgroupMinSize;
  if (!size || size !== info?.subgroupMaxSize) return null;
  return [SUBGROUP_BLOCKING, SUBGROUP_BLOCKING_TRANSPOSED_A].every((b) => b.cols % size === 0) ? size : null;
}

/** How a thread (or lane) reads its rows of op(A), its fixed offsets, and the FMAs of one step of k. */
class Block {
  readonly aAlongK: boolean;
  readonly bAlongK: boolean;
  readonly groups: number;

  constructor(
    readonly s: MatmulSpec,
    readonly rows: number,
    readonly cols: number,
  ) {
    // A is read along k (stored [M,K]) or along m (stored [K,M], transA); B along n (stored [K,N]) or
    // along k (stored [N,K], transB).
    this.aAlongK = !s.transA;
    this.bAlongK = s.transB;
    this.groups = cols / 4;
    if (!this.aAlongK && rows % 4) throw new Error(`matmul: ${rows} rows per thread must be a multiple of 4 when A is transposed`);
    if (cols % 4) throw new Error(`matmul: ${cols} columns per thread must be a multiple of 4`);
  }

  /** Element offsets of this thread's rows, fixed for the whole loop (vec4 groups clamp as a whole). */
  aOffsets(): string[] {
    const clamp = matmulAVec4(this.s) ? 'u.M - 4u' : 'u.M - 1u';
    return this.aAlongK
      ? range(this.rows).map((i) => `let aRow${i} = min(row0 + ${i}u, u.M - 1u) * u.K;`)
      : range(this.rows / 4).map((g) => `let aCol${g} = min(row0 + ${4 * g}u, ${clamp});`);
  }

  /** Loads of A for a step of `width` k from k: four k at once (vec4 along k) or one. */
  aLoads(width: 1 | 4): string[] {
    if (this.aAlongK) return range(this.rows).map((i) => `let a${i} = ${width === 4 ? 'loadA4' : 'loadA1'}(aRow${i} + k);`);
    return range(width).flatMap((kk) => range(this.rows / 4).map((g) => `let a${kk}_${g} = loadA4((k + ${kk}u) * u.M + aCol${g});`));
  }

  /** A's value at row i and step kk. */
  aValue(i: number, kk: number, width: 1 | 4): string {
    if (this.aAlongK) return width === 4 ? `a${i}.${XYZW[kk]}` : `a${i}`;
    return `a${kk}_${i >> 2}.${XYZW[i & 3]}`;
  }

  fmas(width: 1 | 4, bVector: (g: number, kk: number) => string): string[] {
    return range(width).flatMap((kk) =>
      range(this.rows).flatMap((i) =>
        range(this.groups).map((g) => `acc${i}_${g} = fma(vec4<f32>(${this.aValue(i, kk, width)}), ${bVector(g, kk)}, acc${i}_${g});`),
      ),
    );
  }

  accumulators(): string[] {
    return range(this.rows).flatMap((i) => range(this.groups).map((g) => `var acc${i}_${g} = vec4<f32>(0.0);`));
  }

  stores(): string[] {
    return range(this.rows).flatMap((i) => range(this.groups).map((g) => `store4(row0 + ${i}u, col0 + ${4 * g}u, acc${i}_${g});`));
  }

  /** Clamp bound for the first column of a vec4 group of B read along n. */
  get bGroupClamp(): string {
    return matmulBVec4(this.s) ? 'u.N - 4u' : 'u.N - 1u';
  }
}

/** Every thread loads its own values, one k per iteration. */
function registerProgram(s: MatmulSpec, { rows, cols, wx, wy }: RegisterBlocking): Program {
  return matmulProgram(`matmul_register_${rows}x${cols}_${wx}x${wy}_${matmulSpecKey(s)}`, () => {
    const blk = new Block(s, rows, cols);
    const bOffsets = blk.bAlongK
      ? range(cols).map((j) => `let bRow${j} = min(col0 + ${j}u, u.N - 1u) * u.K;`)
      : range(blk.groups).map((g) => `let bCol${g} = min(col0 + ${4 * g}u, ${blk.bGroupClamp});`);
    const bLoads = blk.bAlongK
      ? range(cols).map((j) => `let b${j} = loadB1(bRow${j} + k);`)
      : range(blk.groups).map((g) => `let b${g} = loadB4(k * u.N + bCol${g});`);
    const bVector = (g: number) => (blk.bAlongK ? `vec4<f32>(${range(4).map((j) => `b${4 * g + j}`).join(', ')})` : `b${g}`);
    const { declarations, bindings } = matmulBindings(s);
    const wgsl = /* wgsl */ `
${declarations}
${matmulOperandLoads(s)}
${matmulEpilogue(s)}

@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  ${matmulTileIndex(wy * rows)}
  let row0 = tileM * ${wy * rows}u + local.y * ${rows}u;
  let col0 = tileN * ${wx * cols}u + local.x * ${cols}u;
  ${lines([...blk.aOffsets(), ...bOffsets])}
  ${lines(blk.accumulators())}
  for (var k = 0u; k < u.K; k++) {
    ${lines([...blk.aLoads(1), ...bLoads, ...blk.fmas(1, bVector)], '    ')}
  }
  ${lines(blk.stores())}
}`;
    return { wgsl, bindings };
  });
}

/**
 * Lanes own `rows` rows each and share the subgroup's `cols` columns. A step of four k needs 4 * cols
 * values of B, i.e. `cols` vec4 slots; slot q = h * SG + lane is loaded by that lane as its h-th load:
 * along n, slot q holds columns 4(q % G).. at k + q / G (G = cols / 4); along k, column q at k..k+3.
 */
function subgroupProgram(s: MatmulSpec, sg: number, { rows, cols, subgroups }: SubgroupBlocking): Program {
  return matmulProgram(`matmul_subgroup${sg}_${rows}x${cols}_${subgroups}_${matmulSpecKey(s)}`, () => {
    const blk = new Block(s, rows, cols);
    const G = blk.groups;
    const H = cols / sg;
    if (!Number.isInteger(H)) throw new Error(`matmul: ${cols} columns per subgroup are not a multiple of the subgroup size ${sg}`);
    const slot = (q: number) => `bs${Math.floor(q / sg)}`;
    const lane = (q: number) => `${q % sg}u`;
    const bOffsets = range(H).flatMap((h) =>
      blk.bAlongK
        ? [`let bRow${h} = min(col0 + ${h ? `${h * sg}u + ` : ''}lane, u.N - 1u) * u.K;`]
        : [`let q${h} = ${h ? `${h * sg}u + ` : ''}lane;`, `let bK${h} = q${h} / ${G}u;`, `let bCol${h} = min(col0 + 4u * (q${h} % ${G}u), ${blk.bGroupClamp});`],
    );
    // Step of four k: one vec4 per slot, then broadcasts.
    const bLoads4 = range(H).map((h) => (blk.bAlongK ? `let bs${h} = loadB4(bRow${h} + k);` : `let bs${h} = loadB4((k + bK${h}) * u.N + bCol${h});`));
    const bShared4 = blk.bAlongK
      ? range(cols).map((j) => `let b${j} = subgroupBroadcast(${slot(j)}, ${lane(j)});`)
      : range(4).flatMap((kk) => range(G).map((g) => `let b${kk}_${g} = subgroupBroadcast(${slot(kk * G + g)}, ${lane(kk * G + g)});`));
    const bVector4 = (g: number, kk: number) =>
      blk.bAlongK ? `vec4<f32>(${range(4).map((j) => `b${4 * g + j}.${XYZW[kk]}`).join(', ')})` : `b${kk}_${g}`;
    // Step of one k (the tail when K % 4 != 0): slot q holds column q (along k) or the group q % G (along n).
    const bLoads1 = range(H).map((h) => (blk.bAlongK ? `let bs${h} = loadB1(bRow${h} + k);` : `let bs${h} = loadB4(k * u.N + bCol${h});`));
    const bShared1 = blk.bAlongK
      ? range(cols).map((j) => `let b${j} = subgroupBroadcast(${slot(j)}, ${lane(j)});`)
      : range(G).map((g) => `let b${g} = subgroupBroadcast(${slot(g)}, ${lane(g)});`);
    const bVector1 = (g: number) => (blk.bAlongK ? `vec4<f32>(${range(4).map((j) => `b${4 * g + j}`).join(', ')})` : `b${g}`);
    const tail = s.k4
      ? ''
      : `for (var k = u.K & ~3u; k < u.K; k++) {
    ${lines([...blk.aLoads(1), ...bLoads1, ...bShared1, ...blk.fmas(1, bVector1)], '    ')}
  }`;
    const { declarations, bindings } = matmulBindings(s);
    const wgsl = /* wgsl */ `
enable subgroups;
${declarations}
${matmulOperandLoads(s)}
${matmulEpilogue(s)}

// Subgroups are taken to be ${sg} consecutive invocations, as CPU drivers form them.
@compute @workgroup_size(${sg}, ${subgroups})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) index: u32, @builtin(subgroup_invocation_id) lane: u32) {
  ${matmulTileIndex(sg * rows)}
  let row0 = tileM * ${sg * rows}u + lane * ${rows}u;
  let col0 = tileN * ${subgroups * cols}u + (index / ${sg}u) * ${cols}u;
  ${lines([...blk.aOffsets(), ...bOffsets])}
  ${lines(blk.accumulators())}
  for (var k = 0u; k + 3u < u.K; k += 4u) {
    ${lines([...blk.aLoads(4), ...bLoads4, ...bShared4, ...blk.fmas(4, bVector4)], '    ')}
  }
  ${tail}
  ${lines(blk.stores())}
}`;
    return { wgsl, bindings };
  });
}

/** C = op(A) @ op(B) (see matmul.ts for the options) with the per-thread register kernel. */
export function matmulRegister(
  runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number,
  options: MatmulOptions = {}, blocking: RegisterBlocking = REGISTER_BLOCKING,
): void {
  // One k per iteration reads operands stored along k one value at a time: bind those as scalars.
  const spec = { ...matmulSpec(m, n, k, options), k4: false };
  const tilesN = Math.ceil(n / (blocking.wx * blocking.cols));
  const tilesM = Math.ceil(m / (blocking.wy * blocking.rows));
  runner.run(registerProgram(spec, blocking), matmulBuffers(a, b, c, options), [m, n, k, tilesN], foldGrid(tilesM * tilesN));
}

/** C = op(A) @ op(B) (see matmul.ts for the options) with the subgroup-sharing register kernel. */
export function matmulSubgroup(
  runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number,
  options: MatmulOptions = {}, blocking: SubgroupBlocking = options.transA ? SUBGROUP_BLOCKING_TRANSPOSED_A : SUBGROUP_BLOCKING,
): void {
  const sg = matmulSubgroupSize(runner.device);
  if (sg === null) throw new Error('matmul: the subgroup variant needs the subgroups feature with a fixed subgroup size');
  const tilesN = Math.ceil(n / (blocking.subgroups * blocking.cols));
  const tilesM = Math.ceil(m / (sg * blocking.rows));
  runner.run(subgroupProgram(matmulSpec(m, n, k, options), sg, blocking), matmulBuffers(a, b, c, options), [m, n, k, tilesN], foldGrid(tilesM * tilesN));
}
