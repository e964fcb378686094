/**
 * conv2d forward, 'direct' variant: one thread per output element, plain loops over input channels and
 * taps. Every load is per-thread, which suits GPUs (many threads, coalesced along the output row) and not
 * CPU drivers; it is also the simplest statement of the operation.
 */
import { CONV2D_UNIFORM_FIELDS, conv2dOutputSize, conv2dUniforms, type Conv2dForwardOptions, conv2dStorageBindings, type Conv2dShape } from './conv2d.js';
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;

const programs = new Map<string, Program>();

function program(bias: boolean, relu: boolean): Program {
  const key = `conv2d_forward_direct${bias ? '_bias' : ''}${relu ? '_relu' : ''}`;
  let p = programs.get(key);
  if (p) return p;
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
  p = { key, wgsl, bindings };
  programs.set(key, p);
  return p;
}

export function conv2dForwardDirect(runner: KernelRunner, x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, options: Conv2dForwardOptions = {}): void {
  const { oh, ow } = conv2dOutputSize(shape);
  const total = shape.n * shape.o * oh * ow;
  const buffers = [x, w, ...(options.bias ? [options.bias] : []), out];
  runner.run(program(!!options.bias, !!options.relu), buffers, [...conv2dUniforms(shape), total], foldGrid(Math.ceil(total / WORKGROUP)));
}
