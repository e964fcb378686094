/**
 * Max pooling over the planes of an [N*C, H, W] f32 array (PyTorch's max_pool2d: no padding, no dilation,
 * floor mode). One thread per output element. Optionally writes the argmax of each window as an i32 index
 * into its input plane (ih * W + iw) for the backward pass; inference skips that write (program key).
 * Ties go to the first maximum in row-major window order and a NaN wins over any number, as in PyTorch.
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner, Program } from './runner.js';

/** The shape of a max pooling: `planes` = N*C; the output is [planes, outHeight, outWidth]. */
export interface Pool2dGeometry {
  planes: number;
  height: number;
  width: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  outHeight: number;
  outWidth: number;
}

/** WGSL uniform fields (after `n`) and their values, shared with the backward kernel. */
export const POOL2D_UNIFORM_FIELDS = 'h: u32, w: u32, kh: u32, kw: u32, sh: u32, sw: u32, out_h: u32, out_w: u32,';

export function pool2dUniforms(n: number, g: Pool2dGeometry): number[] {
  return [n, g.height, g.width, g.kernelH, g.kernelW, g.strideH, g.strideW, g.outHeight, g.outWidth];
}

function makeProgram(withArgmax: boolean): Program {
  return elementwiseProgram(`maxpool2d_forward${withArgmax ? '_argmax' : ''}`, withArgmax ? ['read', 'write', 'write'] : ['read', 'write'],
    `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${withArgmax ? '@group(0) @binding(3) var<storage, read_write> argmax: array<i32>;' : ''}`,
    POOL2D_UNIFORM_FIELDS,
    `let ow = i % u.out_w;
  let rest = i / u.out_w;
  let oh = rest % u.out_h;
  let plane = rest / u.out_h;
  let base = plane * u.h * u.w;
  let ih0 = oh * u.sh;
  let iw0 = ow * u.sw;
  var best_index = ih0 * u.w + iw0;
  var best = x[base + best_index];
  for (var dh = 0u; dh < u.kh; dh++) {
    for (var dw = 0u; dw < u.kw; dw++) {
      let index = (ih0 + dh) * u.w + iw0 + dw;
      let value = x[base + index];
      // NaN is tested on the bits: compilers may fold (value != value) to false.
      if (value > best || (bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u) {
        best = value;
        best_index = index;
      }
    }
  }
  y[i] = best;
  ${withArgmax ? 'argmax[i] = i32(best_index);' : ''}`);
}

const programs = { plain: makeProgram(false), argmax: makeProgram(true) };

/** y = max over each window of x; `argmax` (i32, y's size) receives the window's winner, or pass null. */
export function maxPool2dForward(runner: KernelRunner, x: GPUBuffer, y: GPUBuffer, argmax: GPUBuffer | null, geometry: Pool2dGeometry): void {
  const n = geometry.planes * geometry.outHeight * geometry.outWidth;
  const uniforms = pool2dUniforms(n, geometry);
  if (argmax) runner.run(programs.argmax, [x, y, argmax], uniforms, elementwiseGrid(n));
  else runner.run(programs.plain, [x, y], uniforms, elementwiseGrid(n));
}
