/**
 * conv2d forward, 'register' variant, for CPU drivers: the register-blocked kernel of conv2d-register-kernel.ts,
 * with the bias and ReLU in its epilogue.
 */
import { conv2dRegisterBindings, conv2dRegisterKey, conv2dRegisterLaunch, conv2dRegisterWgsl } from './conv2d-register-kernel.js';
import type { Conv2dForwardOptions, Conv2dShape } from './conv2d-shape.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

/** The program `conv2dForwardRegister` runs for this shape and these options. */
export function conv2dForwardRegisterProgram(shape: Conv2dShape, options: Conv2dForwardOptions = {}): Program {
  const { spec } = conv2dRegisterLaunch(false, shape, options);
  return cachedProgram(`conv2d_forward_register_${conv2dRegisterKey(spec)}`, () => ({ wgsl: conv2dRegisterWgsl(spec), bindings: conv2dRegisterBindings(spec).bindings }));
}

export function conv2dForwardRegister(runner: KernelRunner, x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, options: Conv2dForwardOptions = {}): void {
  const { uniforms, grid } = conv2dRegisterLaunch(false, shape, options);
  runner.run(conv2dForwardRegisterProgram(shape, options), [x, w, ...(options.bias ? [options.bias] : []), out], uniforms, grid);
}
