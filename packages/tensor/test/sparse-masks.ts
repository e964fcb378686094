/** What the sparse-kernel tests share: seeded unstructured masks, and tensors freed after each test. */
import { afterEach } from 'vitest';
import { runtime, type Tensor } from '@sparsenet/tensor';
import { randomArray } from './helpers.js';

/** A `keep(t)` that frees t after the current test; each test also ends with the tuner's forced variants cleared. */
export function freedAfterEachTest(): (t: Tensor) => Tensor {
  const made: Tensor[] = [];
  afterEach(() => {
    made.splice(0).forEach((t) => t.dispose());
    runtime().runner.tuner.force({});
  });
  return (t) => (made.push(t), t);
}

/** 0/1 values with about `sparsity` of them zero (exactly all at 1, none at 0). */
export function sparseMask(n: number, sparsity: number, seed: number): Float32Array {
  return randomArray(n, seed, 0, 1).map((v) => (v < sparsity ? 0 : 1));
}
