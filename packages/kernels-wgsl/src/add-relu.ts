/** The residual sum with its ReLU in one pass: out = max(a + b, 0). Its backward is the ReLU's (relu-backward.ts) on out. */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('add_relu', ['read', 'read', 'write'],
  `@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`,
  '', 'out[i] = max(a[i] + b[i], 0.0);');

export function addRelu(runner: KernelRunner, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number): void {
  runner.run(program, [a, b, out], [n], elementwiseGrid(n));
}
