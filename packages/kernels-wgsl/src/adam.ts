/**
 * One Adam step for one parameter, exactly torch.optim.Adam's single-tensor update (L2 weight decay added to
 * the gradient, lerp for the first moment, bias corrections, eps after the bias-corrected sqrt):
 *   g = grad + wd*p;  m = lerp(m, g, 1-b1);  v = v*b2 + (1-b2)*g*g
 *   p = p - step_size * m / (sqrt(v) / sqrt(1-b2^t) + eps),   step_size = lr / (1-b1^t)
 * The per-step scalars live in a storage array with one slot of ADAM_SCALARS floats per parameter, written
 * once per step by the optimizer (uniforms are cached by content: changing ones would make a buffer a step).
 * They are computed on the host in float64 from the integer step count, as PyTorch computes them in Python.
 * With a mask (0/1, the param's shape), where mask == 0 both moments and the weight are written as exactly 0,
 * whatever the gradient and weight decay say (select, not multiply, so an infinite gradient cannot make NaN).
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner, Program } from './runner.js';

export const ADAM_SCALARS = 8;

export interface AdamHyperparameters {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The slot of scalars for step `step` (1 for the first), in the kernel's `AdamScalars` layout. */
export function adamScalars(h: AdamHyperparameters, step: number): number[] {
  const stepSize = h.lr / (1 - h.beta1 ** step);
  const bias2Sqrt = Math.sqrt(1 - h.beta2 ** step);
  return [stepSize, bias2Sqrt, h.eps, 1 - h.beta1, h.beta2, 1 - h.beta2, h.weightDecay, 0];
}

function makeProgram(masked: boolean): Program {
  return elementwiseProgram(`adam${masked ? '_masked' : ''}`, masked ? ['read', 'write', 'read', 'write', 'write', 'read'] : ['read', 'write', 'read', 'write', 'write'],
    `struct AdamScalars { step_size: f32, bias2_sqrt: f32, eps: f32, w1: f32, beta2: f32, w2: f32, weight_decay: f32, unused: f32, }
@group(0) @binding(1) var<storage, read> scalars: array<AdamScalars>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
${masked ? '@group(0) @binding(6) var<storage, read> mask: array<f32>;' : ''}`,
    'slot: u32,',
    `let s = scalars[u.slot];
  let keep = ${masked ? 'mask[i] != 0.0' : 'true'};
  let param = p[i];
  let grad = select(g[i], g[i] + s.weight_decay * param, s.weight_decay != 0.0);
  let m0 = m[i];
  // torch.lerp's two formulas, chosen by the weight as PyTorch does.
  let m1 = select(grad - (grad - m0) * (1.0 - s.w1), m0 + s.w1 * (grad - m0), abs(s.w1) < 0.5);
  let v1 = v[i] * s.beta2 + s.w2 * grad * grad;
  let denom = sqrt(v1) / s.bias2_sqrt + s.eps;
  m[i] = select(0.0, m1, keep);
  v[i] = select(0.0, v1, keep);
  p[i] = select(0.0, param - s.step_size * (m1 / denom), keep);`);
}

const programs = { plain: makeProgram(false), masked: makeProgram(true) };

/** Updates p, m, v (n floats each) in place from grad, with the scalars at `slot` of `scalars`. */
export function adam(runner: KernelRunner, scalars: GPUBuffer, slot: number, p: GPUBuffer, grad: GPUBuffer, m: GPUBuffer, v: GPUBuffer, mask: GPUBuffer | null, n: number): void {
  const uniforms = [n, slot];
  if (mask) runner.run(programs.masked, [scalars, p, grad, m, v, mask], uniforms, elementwiseGrid(n));
  else runner.run(programs.plain, [scalars, p, grad, m, v], uniforms, elementwiseGrid(n));
}
