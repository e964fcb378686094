/**
 * conv2d forward, 'direct' variant: one thread per output element, plain loops over input channels and
 * taps. Every load is per-thread, which suits GPUs (many threads, coalesced along the output row) and not
 * CPU drivers; it is also the simplest statement of the operation.
 */
import { CONV2D_UNIFORM_FIELDS, conv2dOutputSize, conv2dStorageBindings, conv2dUniforms, type Conv2dForwardOptions, type Conv2dShape } from './conv2d-shape.js';
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;

/** The program `conv2dForwardDirect` runs with these options (the shape is all in uniforms). */
export function conv2dForwardDirectProgram(options: Conv2dForwardOptions = {}): Program {
  const bias = !!options.bias;
  const relu = !!options.relu;
  return cachedProgram(`conv2d_forward_direct${bias ? '_bias' : ''}${relu ? '_relu' : ''}`, () => build(bias, relu));
}

function build(bias: boolean, relu: boolean): Omit<Program, 'key'> {
  const { bindings, declarations } = conv2dStorageBindings(['x', 'wt', bias && 'bias'], 'out');
  const wgsl = /* wgsl */ `
struct U { ${CONV2D_UNIFORM_FIELDS} total: u32, }
@group(0) @binding(0) var<uniform> u: U;
${declarations}
@compute @workgroup_size(${WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${WORKGROUP}u + lid;
  if (i >= u.total) { return; }
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let o = (i / (u.ow * u.oh)) % u.o;
  let n = i / (u.ow * u.oh * u.o);
  let iy0 = i32(oy * u.sh) - i32(u.ph);
  let ix0 = i32(ox * u.sw) - i32(u.pw);
  var acc = ${bias ? 'bias[o]' : '0.0'};
  for (var c = 0u; c < u.c; c++) {
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = iy0 + i32(ky);
      if (iy < 0 || iy >= i32(u.h)) { continue; }
      let row = ((n * u.c + c) * u.h + u32(iy)) * u.w;
      let wrow = ((o * u.c + c) * u.kh + ky) * u.kw;
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = ix0 + i32(kx);
        if (ix < 0 || ix >= i32(u.w)) { continue; }
        acc += x[row + u32(ix)] * wt[wrow + kx];
      }
    }
  }
  out[i] = ${relu ? 'max(acc, 0.0)' : 'acc'};
}`;
  return { wgsl, bindings };
}

export function conv2dForwardDirect(runner: KernelRunner, x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, options: Conv2dForwardOptions = {}): void {
  const { oh, ow } = conv2dOutputSize(shape);
  const total = shape.n * shape.o * oh * ow;
  const buffers = [x, w, ...(options.bias ? [options.bias] : []), out];
  runner.run(conv2dForwardDirectProgram(options), buffers, [...conv2dUniforms(shape), total], foldGrid(Math.ceil(total / WORKGROUP)));
}
