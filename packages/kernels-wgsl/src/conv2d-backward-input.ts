/**
 * conv2d input gradient: dx[n,c,iy,ix] = sum over o, ky, kx with iy = oy*sh - ph + ky, ix = ox*sw - pw + kx
 * of dy[n,o,oy,ox] * w[o,c,ky,kx] (pass the masked weight for a masked conv). Each dx element is a gather
 * (no atomics): it is the register kernel of conv2d-register-kernel.ts run transposed, with input channels as
 * its output channels.
 */
import { conv2dRegisterBindings, conv2dRegisterKey, conv2dRegisterLaunch, conv2dRegisterWgsl } from './conv2d-register-kernel.js';
import { checkConv2dShape, type Conv2dShape } from './conv2d-shape.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

/** The program `conv2dBackwardInput` runs for this shape. */
export function conv2dBackwardInputProgram(shape: Conv2dShape): Program {
  const { spec } = conv2dRegisterLaunch(true, shape, {});
  return cachedProgram(`conv2d_backward_input_register_${conv2dRegisterKey(spec)}`, () => ({ wgsl: conv2dRegisterWgsl(spec), bindings: conv2dRegisterBindings(spec).bindings }));
}

export function conv2dBackwardInput(runner: KernelRunner, dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, shape: Conv2dShape): void {
  checkConv2dShape('conv2d_backward_input', shape);
  const { uniforms, grid } = conv2dRegisterLaunch(true, shape, {});
  runner.run(conv2dBackwardInputProgram(shape), [dy, w, dx], uniforms, grid);
}
