/**
 * Masked layers' weight gradients: masked by default (a pruned weight gets exactly 0 gradient, so ordinary steps
 * pay nothing for it), or dense inside `denseWeightGradients` — the gradient with respect to the effective weight
 * w * mask, pruned entries included, which scoring steps read (SNIP, GraSP, SynFlow, RigL's growth). The mode is
 * taken when a layer runs forward, so the forward and its backward must both be inside the call, or the backward
 * after it.
 */
import type { Tensor } from '../tensor.js';

let dense = false;

/** Runs `fn` (synchronous) with dense weight gradients for the masked layers it runs forward. */
export function denseWeightGradients<T>(fn: () => T): T {
  const previous = dense;
  dense = true;
  try {
    return fn();
  } finally {
    dense = previous;
  }
}

/** The mask a weight gradient is multiplied by under the current mode (null: dense). */
export function weightGradientMask(mask: Tensor | null): Tensor | null {
  return dense ? null : mask;
}
