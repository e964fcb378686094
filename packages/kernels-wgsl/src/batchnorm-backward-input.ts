/**
 * BatchNorm's input gradient over [N, C, H, W], with M = N * H * W and xhat = (x - mean) * invstd:
 * - training (batch statistics, which depend on x): dx = weight * invstd * (dy - gradBias / M - xhat * gradWeight / M),
 *   gradBias and gradWeight being the per-channel sums of batchnorm-backward-reduce.ts;
 * - evaluation (running statistics, constants): dx = dy * weight * invstd, an affine map.
 */
import { channelSweepLaunch, channelSweepProgram, type ChannelShape } from './channel-sweep.js';
import type { KernelRunner } from './runner.js';

const training = channelSweepProgram('batchnorm_backward_input', {
  bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'write'],
  declarations: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> grad_weight: array<f32>;
@group(0) @binding(6) var<storage, read> grad_bias: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;`,
  uniformFields: '',
  // dx = scale * (dy - mean_dy - (x - mean) * slope), all per-channel constants but x and dy.
  prologue: `let mean = stats[2u * c];
  let invstd = stats[2u * c + 1u];
  let inv_count = 1.0 / f32(u.images * u.plane);
  let scale = weight[c] * invstd;
  let mean_dy = grad_bias[c] * inv_count;
  let slope = invstd * grad_weight[c] * inv_count;`,
  body: 'dx[index] = scale * (dy[index] - mean_dy - (x[index] - mean) * slope);',
});

const evaluation = channelSweepProgram('batchnorm_backward_input_eval', {
  bindings: ['read', 'read', 'read', 'write'],
  declarations: `@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;`,
  uniformFields: '',
  prologue: 'let scale = weight[c] * stats[2u * c + 1u];',
  body: 'dx[index] = dy[index] * scale;',
});

/** Training mode: dx from x, dy, the forward's stats, weight, and the reduce kernel's gradWeight and gradBias. */
export function batchNormBackwardInput(
  runner: KernelRunner, x: GPUBuffer, dy: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer, gradWeight: GPUBuffer, gradBias: GPUBuffer, dx: GPUBuffer, shape: ChannelShape,
): void {
  const { uniforms, grid } = channelSweepLaunch(runner, training, shape, false);
  runner.run(training, [x, dy, stats, weight, gradWeight, gradBias, dx], uniforms, grid);
}

/** Evaluation mode: dx from dy, the running stats [C, 2] and weight. */
export function batchNormBackwardInputEval(runner: KernelRunner, dy: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer, dx: GPUBuffer, shape: ChannelShape): void {
  const { uniforms, grid } = channelSweepLaunch(runner, evaluation, shape, false);
  runner.run(evaluation, [dy, stats, weight, dx], uniforms, grid);
}
