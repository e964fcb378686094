/** Elementwise ops with their gradients: add, sub, mul, scale, relu, and the residual sum's addRelu. */
import * as k from '@sparsenet/kernels-wgsl';
import { record } from '../autograd.js';
import { runtime } from '../runtime.js';
import { empty, shapeString, type Tensor } from '../tensor.js';

function checkSame(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error(`${op}: needs f32 tensors, got ${a.dtype} ${shapeString(a)} and ${b.dtype} ${shapeString(b)}`);
  if (shapeString(a) !== shapeString(b)) throw new Error(`${op}: shapes ${shapeString(a, b)} differ`);
}

function binaryOp(op: 'add' | 'sub' | 'mul', a: Tensor, b: Tensor): Tensor {
  checkSame(op, a, b);
  const out = empty(a.shape, 'f32', `${op}(${shapeString(a, b)})`);
  const { runner } = runtime();
  if (op === 'mul') k.binary(runner, 'mul', a.buffer, b.buffer, out.buffer, a.size);
  else k.binary(runner, 'add', a.buffer, b.buffer, out.buffer, a.size, { beta: op === 'sub' ? -1 : 1 });
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  return record(binaryOp('add', a, b), [a, b], (g) => [scale(g, 1), scale(g, 1)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return record(binaryOp('sub', a, b), [a, b], (g) => [scale(g, 1), scale(g, -1)]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record(binaryOp('mul', a, b), [a, b], (g) => [binaryOp('mul', g, b), binaryOp('mul', g, a)]);
}

/** alpha * x. */
export function scale(x: Tensor, alpha: number): Tensor {
  if (x.dtype !== 'f32') throw new Error(`scale: needs an f32 tensor, got ${x.dtype} [${x.shape}]`);
  const out = empty(x.shape, 'f32', `scale([${x.shape}], ${alpha})`);
  k.scale(runtime().runner, x.buffer, out.buffer, x.size, alpha);
  return record(out, [x], (g) => [scale(g, alpha)]);
}

export function relu(x: Tensor): Tensor {
  if (x.dtype !== 'f32') throw new Error(`relu: needs an f32 tensor, got ${x.dtype} [${x.shape}]`);
  const out = empty(x.shape, 'f32', `relu([${x.shape}])`);
  k.relu(runtime().runner, x.buffer, out.buffer, x.size);
  return record(out, [x], (g) => [reluGate(out, g, `relu([${x.shape}])`)]);
}

/** relu(a + b) in one kernel (a residual block's sum and activation); the backward gates by the output as relu's does. */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  checkSame('addRelu', a, b);
  const origin = `addRelu(${shapeString(a, b)})`;
  const out = empty(a.shape, 'f32', origin);
  k.addRelu(runtime().runner, a.buffer, b.buffer, out.buffer, a.size);
  return record(out, [a, b], (g) => [a.requiresGrad ? reluGate(out, g, origin) : null, b.requiresGrad ? reluGate(out, g, origin) : null]);
}

/** The gradient through a ReLU from its output y: g where y > 0, else 0 (a new tensor). Fused ops use it too. */
export function reluGate(y: Tensor, g: Tensor, origin: string): Tensor {
  const dx = empty(y.shape, 'f32', `${origin} relu backward`);
  k.reluBackward(runtime().runner, y.buffer, g.buffer, dx.buffer, y.size);
  return dx;
}
