/**
 * One SGD step for one parameter, as torch.optim.SGD with dampening 0 and no Nesterov:
 *   d = grad + wd*p;  with momentum: buf = buf*momentum + d, d = buf;  p = p - lr*d
 * A zero-initialised momentum buffer gives PyTorch's first step (buf = d) exactly. The scalars live in a
 * storage array with one slot of SGD_SCALARS floats per parameter, as for Adam. With a mask, where mask == 0
 * the weight and the momentum are written as exactly 0.
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import { cachedProgram } from './program-cache.js';
import type { BindingKind, KernelRunner, Program } from './runner.js';

export const SGD_SCALARS = 4;

export interface SgdHyperparameters {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export function sgdScalars(h: SgdHyperparameters): number[] {
  return [h.lr, h.momentum, h.weightDecay, 0];
}

function sgdKey(momentum: boolean, masked: boolean): string {
  return `sgd${momentum ? '_momentum' : ''}${masked ? '_masked' : ''}`;
}

function makeProgram(momentum: boolean, masked: boolean): Program {
  const bindings: BindingKind[] = ['read', 'write', 'read'];
  if (momentum) bindings.push('write');
  if (masked) bindings.push('read');
  return elementwiseProgram(sgdKey(momentum, masked), bindings,
    `struct SgdScalars { lr: f32, momentum: f32, weight_decay: f32, unused: f32, }
@group(0) @binding(1) var<storage, read> scalars: array<SgdScalars>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
${momentum ? '@group(0) @binding(4) var<storage, read_write> buf: array<f32>;' : ''}
${masked ? `@group(0) @binding(${momentum ? 5 : 4}) var<storage, read> mask: array<f32>;` : ''}`,
    'slot: u32,',
    `let s = scalars[u.slot];
  let keep = ${masked ? 'mask[i] != 0.0' : 'true'};
  let param = p[i];
  var d = select(g[i], g[i] + s.weight_decay * param, s.weight_decay != 0.0);
  ${momentum ? 'd = buf[i] * s.momentum + d;\n  buf[i] = select(0.0, d, keep);' : ''}
  p[i] = select(0.0, param - s.lr * d, keep);`);
}

/** Updates p (and the momentum buffer, if given) in place: n floats, scalars at `slot` of `scalars`. */
export function sgd(runner: KernelRunner, scalars: GPUBuffer, slot: number, p: GPUBuffer, grad: GPUBuffer, momentumBuffer: GPUBuffer | null, mask: GPUBuffer | null, n: number): void {
  const momentum = momentumBuffer !== null;
  const masked = mask !== null;
  const program = cachedProgram(sgdKey(momentum, masked), () => makeProgram(momentum, masked));
  const buffers = [scalars, p, grad];
  if (momentumBuffer) buffers.push(momentumBuffer);
  if (mask) buffers.push(mask);
  runner.run(program, buffers, [n, slot], elementwiseGrid(n));
}
