/**
 * Workgroup-memory tiled matmul, the usual GPU kernel: 16x16 threads stage a 64x16 tile of op(A) and a
 * 16x64 tile of op(B) in workgroup memory (one vec4 load of each per thread), then each thread accumulates a
 * 4x4 block of C from them. Loads past K read as zero; rows and columns past M and N are clamped and their
 * results dropped by the epilogue.
 */
import { foldGrid } from './grid.js';
import { matmulAVec4, matmulBindings, matmulBuffers, matmulBVec4, matmulEpilogue, matmulOperandLoads, matmulSpec, matmulSpecKey, matmulTileIndex, type MatmulOptions, type MatmulSpec } from './matmul-spec.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

const TILE = 64;
const TILE_K = 16;
const THREADS = 16;

/** The program `matmulTiled` runs for this specialisation. */
export function matmulTiledProgram(spec: MatmulSpec): Program {
  return cachedProgram(`matmul_tiled_${matmulSpecKey(spec)}`, () => build(spec));
}

/** WGSL `fn ${name}(o, k)`: four values from element offset o, read along k (zero past K) or along m/n. */
function tileLoad(name: 'a' | 'b', alongK: boolean, vec4: boolean): string {
  // Read along m or n, the four values share one k; read along k with K % 4 == 0, they are all in or all out.
  if (!alongK || vec4) return `fn ${name}Tile(o: u32, k: u32) -> vec4<f32> { return select(vec4<f32>(0.0), load${name.toUpperCase()}4(o), k < u.K); }`;
  const one = (j: number) => `select(0.0, load${name.toUpperCase()}1(o + ${j}u), k + ${j}u < u.K)`;
  return `fn ${name}Tile(o: u32, k: u32) -> vec4<f32> { return vec4<f32>(${[0, 1, 2, 3].map(one).join(', ')}); }`;
}

function build(s: MatmulSpec): Omit<Program, 'key'> {
  const { declarations, bindings } = matmulBindings(s);
  const groups = TILE / 4;
  // Each thread loads one vec4 of each tile: along k (4 consecutive k of one row/column) or along m/n
  // (4 consecutive rows/columns at one k), and scatters it into the k-major tile of vec4 groups.
  const stage = (name: 'a' | 'b', alongK: boolean, vec4: boolean, extent: string, first: string) => {
    const tile = name === 'a' ? 'tileA' : 'tileB';
    const clamp = vec4 ? `${extent} - 4u` : `${extent} - 1u`;
    return alongK
      ? `{
      let line = t >> 2u;
      let kq = (t & 3u) * 4u;
      let v = ${name}Tile(min(${first} + line, ${extent} - 1u) * u.K + k0 + kq, k0 + kq);
      for (var j = 0u; j < 4u; j++) { ${tile}[(kq + j) * ${groups}u + (line >> 2u)][line & 3u] = v[j]; }
    }`
      : `{
      let kk = t / ${groups}u;
      let group = t % ${groups}u;
      ${tile}[kk * ${groups}u + group] = ${name}Tile((k0 + kk) * ${extent} + min(${first} + group * 4u, ${clamp}), k0 + kk);
    }`;
  };
  const wgsl = /* wgsl */ `
${declarations}
${matmulOperandLoads(s)}
${tileLoad('a', !s.transA, matmulAVec4(s))}
${tileLoad('b', s.transB, matmulBVec4(s))}
${matmulEpilogue(s)}

// k-major tiles of vec4 groups: tileA[kk * ${groups} + rowGroup], tileB[kk * ${groups} + colGroup].
var<workgroup> tileA: array<vec4<f32>, ${TILE_K * groups}>;
var<workgroup> tileB: array<vec4<f32>, ${TILE_K * groups}>;

@compute @workgroup_size(${THREADS}, ${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  ${matmulTileIndex(TILE)}
  let rowBase = tileM * ${TILE}u;
  let colBase = tileN * ${TILE}u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < u.K; k0 += ${TILE_K}u) {
    ${stage('a', !s.transA, matmulAVec4(s), 'u.M', 'rowBase')}
    ${stage('b', s.transB, matmulBVec4(s), 'u.N', 'colBase')}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TILE_K}u; kk++) {
      let a = tileA[kk * ${groups}u + local.y];
      let b = tileB[kk * ${groups}u + local.x];
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    store4(rowBase + local.y * 4u + i, colBase + local.x * 4u, acc[i]);
  }
}`;
  return { wgsl, bindings };
}

/** C = op(A) @ op(B) (see matmul-spec.ts for the options) with the workgroup-memory tiled kernel. */
export function matmulTiled(runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number, options: MatmulOptions = {}): void {
  const tilesN = Math.ceil(n / TILE);
  const tilesM = Math.ceil(m / TILE);
  runner.run(matmulTiledProgram(matmulSpec(m, n, k, options)), matmulBuffers(a, b, c, options), [m, n, k, tilesN], foldGrid(tilesM * tilesN));
}
