/**
 * Average pooling backward as a gather, with no atomics and every element of dx written: one thread per input
 * element adds the dy of the windows covering it (those oh with oh * sh <= ih < oh * sh + kh, likewise for
 * columns), divided by the window's area. Elements no window covers (floor mode's leftovers) get 0.
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import { pool2dUniforms, POOL2D_UNIFORM_FIELDS, type Pool2dGeometry } from './maxpool2d-forward.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('avgpool2d_backward', ['read', 'write'],
  `@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

/** The first and one past the last window along a dimension that cover index \`at\`. */
fn covering(at: u32, kernel: u32, stride: u32, windows: u32) -> vec2<u32> {
  let first = select(0u, (at + 1u - kernel + stride - 1u) / stride, at + 1u > kernel);
  return vec2<u32>(first, min(at / stride + 1u, windows));
}`,
  POOL2D_UNIFORM_FIELDS,
  `let iw = i % u.w;
  let rest = i / u.w;
  let ih = rest % u.h;
  let plane = rest / u.h;
  let rows = covering(ih, u.kh, u.sh, u.out_h);
  let cols = covering(iw, u.kw, u.sw, u.out_w);
  var sum = 0.0;
  for (var oh = rows.x; oh < rows.y; oh++) {
    let row = (plane * u.out_h + oh) * u.out_w;
    for (var ow = cols.x; ow < cols.y; ow++) { sum += dy[row + ow]; }
  }
  dx[i] = sum / f32(u.kh * u.kw);`);

/** dx [planes, H, W] from dy [planes, outHeight, outWidth]. */
export function avgPool2dBackward(runner: KernelRunner, dy: GPUBuffer, dx: GPUBuffer, geometry: Pool2dGeometry): void {
  const n = geometry.planes * geometry.height * geometry.width;
  runner.run(program, [dy, dx], pool2dUniforms(n, geometry), elementwiseGrid(n));
}
