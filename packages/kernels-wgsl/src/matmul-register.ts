/**
 * Register-blocked matmul without workgroup memory or barriers, for CPU Vulkan drivers without subgroups
 * ('register'). Each thread keeps a rows x cols block of C in vec4 accumulators (along n) and loads its own A
 * and B values from storage, one k at a time (vec4 along m or n where the layout allows; a longer loop body
 * with more live values measured slower). On lavapipe a storage load costs a loop over the SIMD lanes per
 * component while arithmetic is nearly free, so what counts is loaded values per multiply-add. Rows and
 * columns past the edge are clamped to stay inside the operands; what they compute is never stored.
 */
import { foldGrid } from './grid.js';
import { matmulBindings, matmulBuffers, matmulEpilogue, matmulOperandLoads, matmulSpec, matmulSpecKey, matmulTileIndex, type MatmulOptions, type MatmulSpec } from './matmul-spec.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';
import { lines, MatmulRegisterBlock, range } from './matmul-register-block.js';

/** Outputs per thread (rows, cols: multiples of 4 where read along m or n) and workgroup threads (x along n). */
export interface RegisterBlocking {
  rows: number;
  cols: number;
  wx: number;
  wy: number;
}

/** Measured on lavapipe over LeNet's fc1 shapes in each layout and 512^3. */
export const REGISTER_BLOCKING: RegisterBlocking = { rows: 8, cols: 8, wx: 8, wy: 8 };

/** Every thread loads its own values, one k per iteration. */
function registerProgram(s: MatmulSpec, { rows, cols, wx, wy }: RegisterBlocking): Program {
  return cachedProgram(`matmul_register_${rows}x${cols}_${wx}x${wy}_${matmulSpecKey(s)}`, () => {
    const blk = new MatmulRegisterBlock(s, rows, cols);
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

/** The program `matmulRegister` runs for this specialisation. */
export function matmulRegisterProgram(spec: MatmulSpec, blocking: RegisterBlocking = REGISTER_BLOCKING): Program {
  // One k per iteration reads operands stored along k one value at a time: bind those as scalars.
  return registerProgram({ ...spec, k4: false }, blocking);
}

/** C = op(A) @ op(B) (see matmul-spec.ts for the options) with the per-thread register kernel. */
export function matmulRegister(
  runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number,
  options: MatmulOptions = {}, blocking: RegisterBlocking = REGISTER_BLOCKING,
): void {
  // One k per iteration reads operands stored along k one value at a time: bind those as scalars.
  const tilesN = Math.ceil(n / (blocking.wx * blocking.cols));
  const tilesM = Math.ceil(m / (blocking.wy * blocking.rows));
  runner.run(matmulRegisterProgram(matmulSpec(m, n, k, options), blocking), matmulBuffers(a, b, c, options), [m, n, k, tilesN], foldGrid(tilesM * tilesN));
}
