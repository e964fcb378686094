/**
 * Dropout without a random buffer: element i is kept when a counter-based hash of (seed, step, i) maps to a
 * uniform u in [0, 1) with u >= p, and then scaled: out = x / (1 - p); dropped elements are 0. The hash is
 * PCG's output permutation (Jarzynski and Olano, "Hash Functions for GPU Rendering", 2020) chained through
 * the index, seed and step, so the backward pass recomputes the forward's mask from the same three numbers and
 * applies it to the gradient with this same kernel.
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('dropout', ['read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}`,
  'seed: u32, step: u32, p: f32, keep: f32,',
  `let h = pcg(pcg(pcg(i) + u.seed) + u.step);
  let uniform = f32(h >> 8u) * ${1 / 2 ** 24};
  out[i] = select(0.0, x[i] / u.keep, uniform >= u.p);`);

export interface DropoutKey {
  /** Any u32: the caller's stream. */
  seed: number;
  /** Any u32: which draw of that stream (a training step). */
  step: number;
}

/** out = x masked and scaled for drop probability p (0 <= p <= 1); the same key gives the same mask. */
export function dropout(runner: KernelRunner, x: GPUBuffer, out: GPUBuffer, n: number, p: number, key: DropoutKey): void {
  runner.run(program, [x, out], [n, key.seed, key.step, { f32: p }, { f32: 1 - p }], elementwiseGrid(n));
}
