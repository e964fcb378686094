/** Masks for the sparse-kernel tests: seeded, unstructured, at a given sparsity. */
import { randomArray } from './helpers.js';

/** 0/1 values with about `sparsity` of them zero (exactly all at 1, none at 0). */
export function sparseMask(n: number, sparsity: number, seed: number): Float32Array {
  return randomArray(n, seed, 0, 1).map((v) => (v < sparsity ? 0 : 1));
}
