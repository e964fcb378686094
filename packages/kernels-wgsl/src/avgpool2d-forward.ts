/**
 * Average pooling over the planes of an [N*C, H, W] f32 array (PyTorch's avg_pool2d without padding, floor
 * mode): one thread per output element, the mean of its kh x kw window. Global average pooling is the case
 * kernel = plane (adaptive_avg_pool2d to 1x1).
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import { pool2dUniforms, POOL2D_UNIFORM_FIELDS, type Pool2dGeometry } from './maxpool2d-forward.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('avgpool2d_forward', ['read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
  POOL2D_UNIFORM_FIELDS,
  `let ow = i % u.out_w;
  let rest = i / u.out_w;
  let oh = rest % u.out_h;
  let plane = rest / u.out_h;
  let corner = plane * u.h * u.w + oh * u.sh * u.w + ow * u.sw;
  var sum = 0.0;
  for (var dh = 0u; dh < u.kh; dh++) {
    let row = corner + dh * u.w;
    for (var dw = 0u; dw < u.kw; dw++) { sum += x[row + dw]; }
  }
  y[i] = sum / f32(u.kh * u.kw);`);

export function avgPool2dForward(runner: KernelRunner, x: GPUBuffer, y: GPUBuffer, geometry: Pool2dGeometry): void {
  const n = geometry.planes * geometry.outHeight * geometry.outWidth;
  runner.run(program, [x, y], pool2dUniforms(n, geometry), elementwiseGrid(n));
}
