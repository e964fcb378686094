/** ReLU forward: out = max(x, 0). */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('relu', ['read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`,
  '', 'out[i] = max(x[i], 0.0);');

export function relu(runner: KernelRunner, x: GPUBuffer, out: GPUBuffer, n: number): void {
  runner.run(program, [x, out], [n], elementwiseGrid(n));
}
