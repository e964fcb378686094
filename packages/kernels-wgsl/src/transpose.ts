/** out[c, r] = x[r, c] for a row-major [rows, cols] matrix of 32-bit words (f32 or i32 alike). */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('transpose', ['read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;`,
  'rows: u32, cols: u32,',
  'let r = i / u.cols; let c = i % u.cols; out[c * u.rows + r] = x[i];');

export function transpose(runner: KernelRunner, x: GPUBuffer, out: GPUBuffer, rows: number, cols: number): void {
  runner.run(program, [x, out], [rows * cols, rows, cols], elementwiseGrid(rows * cols));
}
