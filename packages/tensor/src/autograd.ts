/**
 * Reverse-mode autograd on a tape, micrograd's way: each op's output remembers its inputs and a function
 * from its gradient to theirs; `backward` walks the graph in reverse topological order, accumulating.
 * The kernels know nothing of this: backward functions are made of ordinary ops and backward kernels.
 */
import { binary } from '@sparsenet/kernels-wgsl';
import { untrack } from './memory.js';
import { runtime } from './runtime.js';
import { empty, setBackward, shapeString, Tensor, type GradNode } from './tensor.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` (sync or async) without recording gradients: evaluation, optimizer updates. */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } catch (error) {
    gradEnabled = previous;
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => (gradEnabled = previous)) as T;
  gradEnabled = previous;
  return result;
}

/** Marks `out` as made from `inputs` by an op whose backward is given, when any input requires grad. */
export function record(out: Tensor, inputs: Tensor[], backward: GradNode['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { inputs, backward };
  }
  return out;
}

/** Every tensor `root` was made from on the tape, inputs before the tensors made from them, `root` last. */
export function tapeOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const visit = (t: Tensor) => {
    if (seen.has(t)) return;
    seen.add(t);
    for (const input of t.node?.inputs ?? []) visit(input);
    order.push(t);
  };
  visit(root);
  return order;
}

function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward: ${root} does not require grad (no input of it does)`);
  if (!seed && root.size !== 1) throw new Error(`backward: ${root} is not a scalar; pass its gradient`);
  if (seed && shapeString(seed) !== shapeString(root)) throw new Error(`backward: gradient ${shapeString(seed)} does not match ${shapeString(root)}`);

  const order = tapeOrder(root);
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, seed ?? ones(root));
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const grad = grads.get(t);
      if (!grad) continue;
      grads.delete(t);
      if (!t.node) {
        accumulate(t, grad);
        continue;
      }
      const inputGrads = t.node.backward(grad);
      if (grad !== seed && !inputGrads.includes(grad)) grad.dispose();
      t.node.inputs.forEach((input, k) => {
        const g = inputGrads[k];
        if (!g || !input.requiresGrad) {
          if (g && g !== grad) g.dispose();
          return;
        }
        const previous = grads.get(input);
        if (previous) {
          addInPlace(previous, g);
          g.dispose();
        } else grads.set(input, g);
      });
    }
  });
}
setBackward(backward);

/** Adds a leaf's gradient into `.grad`, which then belongs to the leaf, not to any scope. */
function accumulate(leaf: Tensor, grad: Tensor): void {
  if (leaf.grad) {
    addInPlace(leaf.grad, grad);
    grad.dispose();
  } else {
    leaf.grad = grad;
    grad.origin = `grad of ${leaf.origin}`;
    untrack(grad);
  }
}

function addInPlace(target: Tensor, value: Tensor): void {
  binary(runtime().runner, 'add', target.buffer, value.buffer, target.buffer, target.size);
}

function ones(like: Tensor): Tensor {
  const t = empty(like.shape, 'f32', 'ones');
  const { runner } = runtime();
  runner.write(t.buffer, 0, new Float32Array(like.size).fill(1));
  return t;
}
