/**
 * C[M,N] = op(A) @ op(B) with an epilogue (matmul-spec.ts), row-major f32, op = identity or transpose, on the
 * variant the runner's tuner picks for this adapter and shape:
 *   - 'subgroup' (matmul-subgroup.ts): register blocks whose B values are loaded once per subgroup and
 *     shared by broadcasts; the fastest on CPU drivers that expose subgroups (lavapipe, subgroup size 8).
 *   - 'register' (matmul-register.ts): register blocks, every value loaded per thread; CPU drivers without
 *     subgroups. Neither uses workgroup memory: on CPU drivers a barrier is a coroutine switch.
 *   - 'tiled' (matmul-tiled.ts): workgroup-memory tiles, the usual choice on real GPUs.
 */
import { BufferUsage } from './flags.js';
import { matmulRegister, matmulRegisterProgram } from './matmul-register.js';
import { matmulSpec, type MatmulOptions, type MatmulSpec } from './matmul-spec.js';
import { matmulSubgroup, matmulSubgroupProgram, matmulSubgroupSize } from './matmul-subgroup.js';
import { matmulTiled, matmulTiledProgram } from './matmul-tiled.js';
import type { KernelRunner, Program } from './runner.js';
import { tuneRequest, type TuneRequest } from './tuner.js';

export const MATMUL_VARIANTS = ['subgroup', 'register', 'tiled'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

/** The variants this device can run: 'subgroup' needs the subgroups feature and a fixed subgroup size. */
export function matmulVariants(device: GPUDevice): MatmulVariant[] {
  return MATMUL_VARIANTS.filter((v) => v !== 'subgroup' || matmulSubgroupSize(device) !== null);
}

/** The program `variant` runs on this device for this specialisation (see `matmulSpec`). */
export function matmulVariantProgram(variant: MatmulVariant, device: GPUDevice, spec: MatmulSpec): Program {
  if (variant === 'subgroup') return matmulSubgroupProgram(device, spec);
  if (variant === 'register') return matmulRegisterProgram(spec);
  return matmulTiledProgram(spec);
}

/** The tuner's shape key: sizes, layout and every epilogue flag compiled into the WGSL, e.g. '64x2704x120:nt+bias+relu'. */
export function matmulTuningShape(m: number, n: number, k: number, spec: MatmulSpec): string {
  const flags = (['bias', 'relu', 'maskB', 'maskOut', 'accumulate'] as const).filter((f) => spec[f]);
  return `${m}x${k}x${n}:${spec.transA ? 't' : 'n'}${spec.transB ? 't' : 'n'}${flags.map((f) => `+${f}`).join('')}`;
}

/**
 * C = op(A) @ op(B) with the options' epilogue, on the variant the tuner picks for this adapter and shape;
 * until measured: on CPU adapters the subgroup variant where it runs, else the register one; on GPUs tiled.
 */
export function matmul(runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number, options: MatmulOptions = {}): void {
  checkMatmulShape(m, n, k);
  const spec = matmulSpec(m, n, k, options);
  const shape = matmulTuningShape(m, n, k, spec);
  const variants = matmulVariants(runner.device);
  const heuristic: MatmulVariant = !isCpuAdapter(runner.device) ? 'tiled' : variants.includes('subgroup') ? 'subgroup' : 'register';
  const variant = runner.tuner.choose('matmul', shape, variants, heuristic, () => matmulTuneRequest(runner, shape, variants, m, n, k, spec));
  runMatmulVariant(variant, runner, a, b, c, m, n, k, options);
}

export function runMatmulVariant(variant: MatmulVariant, runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, m: number, n: number, k: number, options: MatmulOptions = {}): void {
  checkMatmulShape(m, n, k);
  if (variant === 'subgroup') matmulSubgroup(runner, a, b, c, m, n, k, options);
  else if (variant === 'register') matmulRegister(runner, a, b, c, m, n, k, options);
  else matmulTiled(runner, a, b, c, m, n, k, options);
}

function checkMatmulShape(m: number, n: number, k: number): void {
  if (![m, n, k].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`matmul: invalid shape M=${m} N=${n} K=${k}`);
}

/** CPU Vulkan drivers report themselves in the adapter info: lavapipe as llvmpipe, and SwiftShader. */
export function isCpuAdapter(device: GPUDevice): boolean {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return false;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader/.test(text);
}

/**
 * Runs each variant with the same specialisation on zero-filled scratch buffers of this shape, made at the
 * first run (a request may only be built to check an imported record's version).
 */
function matmulTuneRequest(runner: KernelRunner, shape: string, variants: MatmulVariant[], m: number, n: number, k: number, spec: MatmulSpec): TuneRequest<MatmulVariant> {
  let scratch: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer; options: MatmulOptions } | null = null;
  const make = () => {
    const buffer = (elements: number) => runner.createBuffer(Math.max(elements, 4) * 4, BufferUsage.STORAGE, 'matmul tuning');
    const optional = (present: boolean, elements: number) => (present ? buffer(elements) : undefined);
    return {
      a: buffer(m * k), b: buffer(k * n), c: buffer(m * n),
      options: {
        transA: spec.transA, transB: spec.transB, relu: spec.relu, accumulate: spec.accumulate,
        bias: optional(spec.bias, n), maskB: optional(spec.maskB, k * n), maskOut: optional(spec.maskOut, m * n),
      },
    };
  };
  return tuneRequest({
    kernel: 'matmul',
    shape,
    variants,
    programs: variants.map((v) => matmulVariantProgram(v, runner.device, spec)),
    run: (variant) => {
      scratch ??= make();
      runMatmulVariant(variant, runner, scratch.a, scratch.b, scratch.c, m, n, k, scratch.options);
    },
    release: () => {
      if (scratch) [scratch.a, scratch.b, scratch.c, scratch.options.bias, scratch.options.maskB, scratch.options.maskOut].forEach((buffer) => buffer?.destroy());
      scratch = null;
    },
  });
}
