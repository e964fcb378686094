/** BatchNorm's forward pass from per-channel statistics: y = (x - mean[c]) * invstd[c] * weight[c] + bias[c] over x [N, C, H, W]. */
import { channelSweepLaunch, channelSweepProgram, type ChannelShape } from './channel-sweep.js';
import type { KernelRunner } from './runner.js';

const program = channelSweepProgram('batchnorm_normalize', {
  bindings: ['read', 'read', 'read', 'read', 'write'],
  declarations: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;`,
  uniformFields: '',
  prologue: `let mean = stats[2u * c];
  let scale = stats[2u * c + 1u] * weight[c];
  let shift = bias[c];`,
  body: 'y[index] = (x[index] - mean) * scale + shift;',
});

/** y from x, stats [C, 2] (mean, invstd), weight and bias [C]. */
export function batchNormNormalize(runner: KernelRunner, x: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer, y: GPUBuffer, shape: ChannelShape): void {
  const { uniforms, grid } = channelSweepLaunch(runner, program, shape, false);
  runner.run(program, [x, stats, weight, bias, y], uniforms, grid);
}
