/** BatchNorm's forward pass from per-channel statistics: y = (x - mean[c]) * invstd[c] * weight[c] + bias[c] over x [N, C, H, W]. */
import type { ChannelShape } from './channel-reduction.js';
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import type { KernelRunner } from './runner.js';

const program = elementwiseProgram('batchnorm_normalize', ['read', 'read', 'read', 'read', 'write'],
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;`,
  'channels: u32, plane: u32,',
  `let c = (i / u.plane) % u.channels;
  y[i] = (x[i] - stats[2u * c]) * stats[2u * c + 1u] * weight[c] + bias[c];`);

/** y from x, stats [C, 2] (mean, invstd), weight and bias [C]. */
export function batchNormNormalize(runner: KernelRunner, x: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer, y: GPUBuffer, shape: ChannelShape): void {
  const n = shape.images * shape.channels * shape.plane;
  runner.run(program, [x, stats, weight, bias, y], [n, shape.channels, shape.plane], elementwiseGrid(n));
}
