/**
 * BatchNorm backward's per-channel sums over dy and x [N, C, H, W], in one read of each: gradBias[c] = sum dy
 * and gradWeight[c] = sum dy * (x - mean) * invstd, the gradients of bias and weight; the input gradient's
 * training formula uses both again (batchnorm-backward-input.ts).
 */
import { channelSweepLaunch, channelSweepProgram, type ChannelShape } from './channel-sweep.js';
import type { KernelRunner } from './runner.js';

const program = channelSweepProgram('batchnorm_backward_reduce', {
  bindings: ['read', 'read', 'read', 'write', 'write'],
  declarations: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad_bias: array<f32>;`,
  uniformFields: '',
  prologue: 'let mean = stats[2u * c];',
  body: 'let g = dy[index];\n    acc += vec2<f32>(g, g * (x[index] - mean));',
  finish: `grad_bias[c] = total.x;
    grad_weight[c] = total.y * stats[2u * c + 1u];`,
});

/** gradWeight and gradBias [C] from x, dy and the forward's stats [C, 2] (mean, invstd). */
export function batchNormBackwardReduce(runner: KernelRunner, x: GPUBuffer, dy: GPUBuffer, stats: GPUBuffer, gradWeight: GPUBuffer, gradBias: GPUBuffer, shape: ChannelShape): void {
  const { uniforms, grid } = channelSweepLaunch(runner, program, shape, true);
  runner.run(program, [x, dy, stats, gradWeight, gradBias], uniforms, grid);
}
