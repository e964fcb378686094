/** out = alpha * x elementwise over `n` f32 values. */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const scaleProgram = elementwiseProgram('scale', ['read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`,
  'alpha: f32,', 'out[i] = u.alpha * x[i];');

/** out = alpha * x. */
export function scale(runner: KernelRunner, x: GPUBuffer, out: GPUBuffer, n: number, alpha: number): void {
  runner.run(scaleProgram, [x, out], [n, { f32: alpha }], elementwiseGrid(n));
}
