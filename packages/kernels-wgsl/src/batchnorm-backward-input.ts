/**
 * BatchNorm's input gradient over [N, C, H, W], with M = N * H * W and xhat = (x - mean) * invstd:
 * - training (batch statistics, which depend on x): dx = weight * invstd * (dy - gradBias / M - xhat * gradWeight / M),
 *   gradBias and gradWeight being the per-channel sums of batchnorm-backward-reduce.ts;
 * - evaluation (running statistics, constants): dx = dy * weight * invstd, an affine map.
 */
import type { ChannelShape } from './channel-reduction.js';
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const training = elementwiseProgram('batchnorm_backward_input', ['read', 'read', 'read', 'read', 'read', 'read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> grad_weight: array<f32>;
@group(0) @binding(6) var<storage, read> grad_bias: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;`,
  'channels: u32, plane: u32, inv_count: f32,',
  `let c = (i / u.plane) % u.channels;
  let invstd = stats[2u * c + 1u];
  let xhat = (x[i] - stats[2u * c]) * invstd;
  dx[i] = weight[c] * invstd * (dy[i] - grad_bias[c] * u.inv_count - xhat * grad_weight[c] * u.inv_count);`);

const evaluation = elementwiseProgram('batchnorm_backward_input_eval', ['read', 'read', 'read', 'write'],
  `@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;`,
  'channels: u32, plane: u32,',
  `let c = (i / u.plane) % u.channels;
  dx[i] = dy[i] * weight[c] * stats[2u * c + 1u];`);

/** Training mode: dx from x, dy, the forward's stats, weight, and the reduce kernel's gradWeight and gradBias. */
export function batchNormBackwardInput(
  runner: KernelRunner, x: GPUBuffer, dy: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer, gradWeight: GPUBuffer, gradBias: GPUBuffer, dx: GPUBuffer, shape: ChannelShape,
): void {
  const n = shape.images * shape.channels * shape.plane;
  const uniforms = [n, shape.channels, shape.plane, { f32: 1 / (shape.images * shape.plane) }];
  runner.run(training, [x, dy, stats, weight, gradWeight, gradBias, dx], uniforms, elementwiseGrid(n));
}

/** Evaluation mode: dx from dy, the running stats [C, 2] and weight. */
export function batchNormBackwardInputEval(runner: KernelRunner, dy: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer, dx: GPUBuffer, shape: ChannelShape): void {
  const n = shape.images * shape.channels * shape.plane;
  runner.run(evaluation, [dy, stats, weight, dx], [n, shape.channels, shape.plane], elementwiseGrid(n));
}
