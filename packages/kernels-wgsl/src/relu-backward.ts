/** ReLU backward from the forward output: dx = dy where y > 0, else 0 (PyTorch's threshold_backward). */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('relu_backward', ['read', 'read', 'write'],
  `@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;`,
  '', 'dx[i] = select(0.0, dy[i], y[i] > 0.0);');

export function reluBackward(runner: KernelRunner, y: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, n: number): void {
  runner.run(program, [y, dy, dx], [n], elementwiseGrid(n));
}
