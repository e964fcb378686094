/**
 * BatchNorm's training statistics of x [N, C, H, W] per channel, in one read of x: stats[2c] = mean and
 * stats[2c + 1] = 1 / sqrt(biased variance + eps), the normalisation PyTorch uses; and, in place, the running
 * statistics as PyTorch updates them (running = (1 - momentum) * running + momentum * batch, with the unbiased
 * variance). The sums are shifted by the channel's first element, so a large mean does not cancel the
 * variance away in f32. Optionally adds 1 to an i32 counter (num_batches_tracked).
 */
import { channelSweepLaunch, channelSweepProgram, type ChannelShape } from './channel-sweep.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

export interface BatchNormHyperparameters {
  momentum: number;
  eps: number;
}

function program(counted: boolean): Program {
  const key = `batchnorm_statistics${counted ? '_counted' : ''}`;
  return cachedProgram(key, () => channelSweepProgram(key, {
    bindings: counted ? ['read', 'write', 'write', 'write', 'write'] : ['read', 'write', 'write', 'write'],
    declarations: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;
${counted ? '@group(0) @binding(5) var<storage, read_write> batches: array<i32>;' : ''}`,
    uniformFields: 'momentum: f32, eps: f32,',
    prologue: 'let shift = x[c * u.plane];',
    body: 'let d = x[index] - shift;\n    acc += vec2<f32>(d, d * d);',
    finish: `let shifted_mean = total.x / count;
    let variance = max(total.y / count - shifted_mean * shifted_mean, 0.0);
    let mean = shift + shifted_mean;
    stats[2u * c] = mean;
    stats[2u * c + 1u] = 1.0 / sqrt(variance + u.eps);
    running_mean[c] = u.momentum * mean + (1.0 - u.momentum) * running_mean[c];
    running_var[c] = u.momentum * variance * count / (count - 1.0) + (1.0 - u.momentum) * running_var[c];
    ${counted ? 'if (c == 0u) { batches[0] += 1; }' : ''}`,
  }));
}

/** stats [C, 2] from x; updates runningMean and runningVar [C] (and `batches`, an i32 [1], when given) in place. */
export function batchNormStatistics(
  runner: KernelRunner, x: GPUBuffer, stats: GPUBuffer, runningMean: GPUBuffer, runningVar: GPUBuffer, batches: GPUBuffer | null,
  shape: ChannelShape, h: BatchNormHyperparameters,
): void {
  const p = program(batches !== null);
  const { uniforms, grid } = channelSweepLaunch(runner, p, shape, true);
  runner.run(p, [x, stats, runningMean, runningVar, ...(batches ? [batches] : [])], [...uniforms, { f32: h.momentum }, { f32: h.eps }], grid);
}
