/** BatchNorm's evaluation statistics from the running ones, per channel: stats[2c] = mean, stats[2c + 1] = 1 / sqrt(var + eps). */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('batchnorm_eval_statistics', ['read', 'read', 'write'],
  `@group(0) @binding(1) var<storage, read> running_mean: array<f32>;
@group(0) @binding(2) var<storage, read> running_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;`,
  'eps: f32,',
  `stats[2u * i] = running_mean[i];
  stats[2u * i + 1u] = 1.0 / sqrt(running_var[i] + u.eps);`);

export function batchNormEvalStatistics(runner: KernelRunner, runningMean: GPUBuffer, runningVar: GPUBuffer, stats: GPUBuffer, channels: number, eps: number): void {
  runner.run(program, [runningMean, runningVar, stats], [channels, { f32: eps }], elementwiseGrid(channels));
}
