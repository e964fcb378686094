/** Fills `n` 32-bit words of a buffer with one value (f32 bits or i32). */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('fill', ['write'], '@group(0) @binding(1) var<storage, read_write> out: array<u32>;', 'bits: u32,', 'out[i] = u.bits;');

export function fill(runner: KernelRunner, out: GPUBuffer, n: number, value: number, dtype: 'f32' | 'i32' = 'f32'): void {
  const word = new Uint32Array(dtype === 'f32' ? new Float32Array([value]).buffer : new Int32Array([value]).buffer)[0];
  runner.run(program, [out], [n, word], elementwiseGrid(n));
}
