/**
 * out = alpha * a (op) beta * b elementwise over `n` f32 values, with op add or mul. `b` may be broadcast
 * as a vector of length `bn` repeating along the flat index (for bias-like operands): b[i % bn].
 * Axpy-style updates (grad accumulation) are add with out = a.
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

export type BinaryOp = 'add' | 'mul';

function program(op: BinaryOp, inPlace: boolean): Program {
  const key = `binary_${op}${inPlace ? '_inplace' : ''}`;
  return cachedProgram(key, () => build(key, op, inPlace));
}

function build(key: string, op: BinaryOp, inPlace: boolean): Program {
  const expr = op === 'add' ? 'u.alpha * x + u.beta * y' : 'u.alpha * x * u.beta * y';
  return inPlace
    ? elementwiseProgram(key, ['write', 'read'],
        `@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;`,
        'bn: u32, alpha: f32, beta: f32,',
        `let x = a[i]; let y = b[i % u.bn]; a[i] = ${expr};`)
    : elementwiseProgram(key, ['read', 'read', 'write'],
        `@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`,
        'bn: u32, alpha: f32, beta: f32,',
        `let x = a[i]; let y = b[i % u.bn]; out[i] = ${expr};`);
}

export interface BinaryOptions {
  alpha?: number;
  beta?: number;
  /** Length of b when it repeats along a (default n). */
  bn?: number;
}

/** out = alpha*a (op) beta*b; pass `out === a` to update a in place. */
export function binary(runner: KernelRunner, op: BinaryOp, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number, options: BinaryOptions = {}): void {
  const { alpha = 1, beta = 1, bn = n } = options;
  const uniforms = [n, bn, { f32: alpha }, { f32: beta }];
  if (out === a) runner.run(program(op, true), [a, b], uniforms, elementwiseGrid(n));
  else runner.run(program(op, false), [a, b, out], uniforms, elementwiseGrid(n));
}
