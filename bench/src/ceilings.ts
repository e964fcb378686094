/**
 * Ceilings measured in the same run as the kernels they judge: an FMA-throughput kernel that never touches
 * memory in its loop (GFLOP/s ceiling) and a large shader copy (GB/s ceiling). Bench-only programs.
 *
 * On lavapipe a shader invocation is one lane of an 8-wide SIMD vector; a scalar f32 chain occupies one vector
 * register, and about eight independent chains hide the FMA latency. vec4 chains measured about half as fast
 * (2.5x below the subgroup matmul, so not a ceiling), and so do more than 12 chains (register spills), so
 * the FMA ceiling is the best of 8 and 12 scalar chains. Likewise the copy ceiling is the best of two
 * shapes (one vec4 per thread, four contiguous vec4 per thread); a copyBufferToBuffer is reported beside it,
 * being what the memory system gives without a shader.
 */
import { type KernelRunner, type Program } from '@sparsenet/kernels-wgsl';
import { empty } from '@sparsenet/tensor';
import { timeBlocks } from './timing.js';

const FMA_THREADS = 64 * 1024;
const FMA_WORKGROUP = 64;
/** About this many FMAs per thread, as chains x iterations. */
const FMA_PER_THREAD = 4096;
const fmaIterations = (chains: number) => Math.round(FMA_PER_THREAD / chains);

function fmaProgram(chains: number): Program {
  const each = (line: (i: number) => string, sep = '\n  ') => Array.from({ length: chains }, (_, i) => line(i)).join(sep);
  return {
    key: `bench_fma_${chains}`,
    bindings: ['uniform', 'write'],
    // The result is stored so that nothing is elided; the chains converge to 1.0, never to denormals.
    wgsl: /* wgsl */ `
struct U { n: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${FMA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= u.n) { return; }
  ${each((c) => `var a${c} = f32(i) * 1e-9 + ${c}.0;`)}
  let m = 0.999;
  let c = 0.001;
  for (var k = 0u; k < ${fmaIterations(chains)}u; k++) {
    ${each((c) => `a${c} = fma(a${c}, m, c);`, '\n    ')}
  }
  out[i] = ${each((c) => `a${c}`, ' + ')};
}`,
  };
}

function copyProgram(perThread: number): Program {
  return {
    key: `bench_copy_${perThread}`,
    bindings: ['uniform', 'read', 'write'],
    wgsl: /* wgsl */ `
struct U { n: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var j = 0u; j < ${perThread}u; j++) {
    let i = gid.x * ${perThread}u + j;
    if (i < u.n) { y[i] = x[i]; }
  }
}`,
  };
}

export interface Ceilings {
  /** GFLOP/s of the best FMA kernel. */
  gflops: number;
  /** GB/s (bytes read plus written) of the best shader copy. */
  gbs: number;
  /** GB/s of copyBufferToBuffer on the same buffers. */
  memcpyGbs: number;
}

export async function fmaCeiling(runner: KernelRunner): Promise<number> {
  const out = empty([FMA_THREADS]);
  let best = 0;
  for (const chains of [8, 12]) {
    const program = fmaProgram(chains);
    const ms = await timeBlocks(runner, () => runner.run(program, [out.buffer], [FMA_THREADS], [FMA_THREADS / FMA_WORKGROUP, 1, 1]), { perBlock: 3 });
    best = Math.max(best, (FMA_THREADS * fmaIterations(chains) * chains * 2) / (ms * 1e6));
  }
  out.dispose();
  return best;
}

/** GB/s of a 64 MiB copy, counting bytes read plus bytes written: the best shader, and copyBufferToBuffer. */
export async function copyCeiling(runner: KernelRunner): Promise<{ shader: number; memcpy: number }> {
  const floats = 16 * 1024 * 1024;
  const bytes = 2 * floats * 4;
  const x = empty([floats]);
  const y = empty([floats]);
  const vec4s = floats / 4;
  let shader = 0;
  for (const perThread of [1, 4]) {
    const program = copyProgram(perThread);
    const ms = await timeBlocks(runner, () => runner.run(program, [x.buffer, y.buffer], [vec4s], [Math.ceil(vec4s / perThread / 256), 1, 1]), { perBlock: 3 });
    shader = Math.max(shader, bytes / (ms * 1e6));
  }
  const ms = await timeBlocks(runner, () => runner.copy(x.buffer, 0, y.buffer, 0, floats * 4), { perBlock: 3 });
  x.dispose();
  y.dispose();
  return { shader, memcpy: bytes / (ms * 1e6) };
}

export async function measureCeilings(runner: KernelRunner): Promise<Ceilings> {
  const gflops = await fmaCeiling(runner);
  const copy = await copyCeiling(runner);
  return { gflops, gbs: copy.shader, memcpyGbs: copy.memcpy };
}
