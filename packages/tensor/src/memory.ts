/**
 * Memory scopes: every tensor made while a scope is open belongs to it, and ending the scope disposes all of
 * them but the ones kept. Unlike TF.js's `tidy`, a scope is an explicit handle, so it stays open across
 * `await` (the open scopes are a stack, not a synchronous call frame). Scopes must end in the reverse order
 * they began: two interleaved async flows each holding a scope would otherwise free each other's tensors,
 * so ending a scope that is not the innermost throws.
 */
import type { Tensor } from './tensor.js';
import { runtime } from './runtime.js';
import type { MemoryCounters } from './pool.js';

export class Scope {
  readonly tensors = new Set<Tensor>();
  private ended = false;

  /** Keeps tensors past the end of this scope: they move to the enclosing scope, if any. */
  keep<T extends Tensor | Tensor[]>(value: T): T {
    for (const t of Array.isArray(value) ? value : [value]) {
      this.tensors.delete(t);
      const parent = stack[stack.indexOf(this) - 1];
      parent?.tensors.add(t);
    }
    return value;
  }

  /** Disposes every tensor of this scope not kept. */
  end(): void {
    if (this.ended) throw new Error('scope ended twice');
    if (stack[stack.length - 1] !== this) throw new Error('scopes must end innermost first (an inner scope is still open)');
    stack.pop();
    this.ended = true;
    for (const t of this.tensors) t.dispose();
    this.tensors.clear();
  }
}

const stack: Scope[] = [];

/** Opens a scope; call `end()` on it (in a `finally`) when done. */
export function beginScope(): Scope {
  const scope = new Scope();
  stack.push(scope);
  return scope;
}

/** Runs `fn` (sync or async) in a scope, keeping the tensors it returns (a tensor, an array or an object of them). */
export async function scoped<T>(fn: (scope: Scope) => T | Promise<T>): Promise<T> {
  const scope = beginScope();
  try {
    const result = await fn(scope);
    keepResult(scope, result);
    return result;
  } finally {
    scope.end();
  }
}

function keepResult(scope: Scope, value: unknown): void {
  if (value && typeof value === 'object') {
    if (scope.tensors.has(value as Tensor)) scope.keep(value as Tensor);
    else if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
      for (const v of Object.values(value)) keepResult(scope, v);
    }
  }
}

/** Called by the Tensor constructor. */
export function track(t: Tensor): void {
  stack[stack.length - 1]?.tensors.add(t);
}

/** Removes a tensor from every open scope: it is owned elsewhere now (a gradient, an optimizer's state). */
export function untrack(t: Tensor): void {
  for (const scope of stack) scope.tensors.delete(t);
}

/** Live and pooled GPU memory and buffers created so far. */
export function memory(): MemoryCounters {
  return runtime().pool.counters();
}
