/**
 * conv2d input gradient: dx[n,c,iy,ix] = sum over o, ky, kx with iy = oy*sh - ph + ky, ix = ox*sw - pw + kx
 * of dy[n,o,oy,ox] * w[o,c,ky,kx] (pass the masked weight for a masked conv). Each dx element is a gather
 * (no atomics): it is the register kernel of conv2d-forward-register.ts run transposed, with input
 * channels as its output channels.
 */
import { checkConv2dShape, type Conv2dShape } from './conv2d.js';
import { conv2dRegisterKernel } from './conv2d-forward-register.js';
import type { KernelRunner } from './runner.js';

export function conv2dBackwardInput(runner: KernelRunner, dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, shape: Conv2dShape): void {
  checkConv2dShape('conv2d_backward_input', shape);
  conv2dRegisterKernel(runner, true, dy, w, dx, shape, {});
}
