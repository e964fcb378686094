/**
 * Register-blocked matmul sharing B through subgroup broadcasts ('subgroup'), the fastest on CPU drivers that
 * expose subgroups (lavapipe, subgroup size 8). The lanes of a subgroup own different rows but share the
 * same columns; each B value is loaded by one lane and reaches the others by subgroupBroadcast (a register
 * shuffle), four k at a time, which cuts B loads by the subgroup size. Needs the 'subgroups' feature and a
 * fixed subgroup size. No workgroup memory: on CPU drivers a barrier is a coroutine switch.
 */
import { foldGrid } from './grid.js';
import { matmulBindings, matmulBuffers, matmulEpilogue, matmulOperandLoads, matmulSpec, matmulSpecKey, matmulTileIndex, type MatmulOptions, type MatmulSpec } from './matmul-spec.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';
import { lines, MatmulRegisterBlock, range, XYZW } from './matmul-register-block.js';

/** Outputs per lane (rows x cols) and subgroups per workgroup; cols must be a multiple of the subgroup size. */
export interface SubgroupBlocking {
  rows: number;
  cols: number;
  subgroups: number;
}

/** With A read along k; read along m (transA), a lane's rows come in vec4 groups. */
export const SUBGROUP_BLOCKING: SubgroupBlocking = { rows: 2, cols: 16, subgroups: 8 };
export const SUBGROUP_BLOCKING_TRANSPOSED_A: SubgroupBlocking = { rows: 4, cols: 16, subgroups: 4 };

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

/**
 * Lanes own `rows` rows each and share the subgroup's `cols` columns. A step of four k needs 4 * cols
 * values of B, i.e. `cols` vec4 slots; slot q = h * SG + lane is loaded by that lane as its h-th load:
 * along n, slot q holds columns 4(q % G).. at k + q / G (G = cols / 4); along k, column q at k..k+3.
 */
function subgroupProgram(s: MatmulSpec, sg: number, { rows, cols, subgroups }: SubgroupBlocking): Program {
  return cachedProgram(`matmul_subgroup${sg}_${rows}x${cols}_${subgroups}_${matmulSpecKey(s)}`, () => {
    const blk = new MatmulRegisterBlock(s, rows, cols);
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

function subgroupSizeOf(device: GPUDevice): number {
  const sg = matmulSubgroupSize(device);
  if (sg === null) throw new Error('matmul: the subgroup variant needs the subgroups feature with a fixed subgroup size');
  return sg;
}

/** The blocking `matmulSubgroup` uses by default: A read along m (transA) wants its rows in vec4 groups. */
function defaultBlocking(transA: boolean | undefined): SubgroupBlocking {
  return transA ? SUBGROUP_BLOCKING_TRANSPOSED_A : SUBGROUP_BLOCKING;
}

/** The program `matmulSubgroup` runs on this device for this specialisation. */
export function matmulSubgroupProgram(device: GPUDevice, spec: MatmulSpec, blocking: SubgroupBlocking = defaultBlocking(spec.transA)): Program {
  return subgroupProgram(spec, subgroupSizeOf(device), blocking);
}

/** C = op(A) @ op(B) (see matmul-spec.ts for the options) with the subgroup-sharing register kernel. */
export function matmulSubgroup(
  runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number,
  options: MatmulOptions = {}, blocking: SubgroupBlocking = defaultBlocking(options.transA),
): void {
  const tilesN = Math.ceil(n / (blocking.subgroups * blocking.cols));
  const tilesM = Math.ceil(m / (subgroupSizeOf(runner.device) * blocking.rows));
  runner.run(matmulSubgroupProgram(runner.device, matmulSpec(m, n, k, options), blocking), matmulBuffers(a, b, c, options), [m, n, k, tilesN], foldGrid(tilesM * tilesN));
}
