/**
 * Sums a [outer, channels, inner] f32 array over outer and inner: out[c] = sum x[o, c, i]. This is the bias
 * gradient of conv2d (outer = batch, inner = H*W) and of linear (outer = batch, inner = 1). One workgroup per
 * channel; each thread sums a strided share, then a tree in workgroup memory. With `accumulate`, out += sum.
 */
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 256;

function makeProgram(accumulate: boolean): Program {
  return {
    key: `sum_axes${accumulate ? '_acc' : ''}`,
    bindings: ['uniform', 'read', 'write'],
    wgsl: /* wgsl */ `
struct U { outer: u32, channels: u32, inner: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> partial: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let total = u.outer * u.inner;
  var acc = 0.0;
  for (var j = lid; j < total; j += ${WORKGROUP}u) {
    let o = j / u.inner;
    let i = j - o * u.inner;
    acc += x[(o * u.channels + c) * u.inner + i];
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = ${WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[c] = ${accumulate ? 'out[c] + ' : ''}partial[0]; }
}`,
  };
}

const programs = { plain: makeProgram(false), accumulate: makeProgram(true) };

export function sumAxes(runner: KernelRunner, x: GPUBuffer, out: GPUBuffer, outer: number, channels: number, inner: number, accumulate = false): void {
  if (channels > runner.device.limits.maxComputeWorkgroupsPerDimension) throw new Error(`sum_axes: ${channels} channels exceed one grid dimension`);
  runner.run(accumulate ? programs.accumulate : programs.plain, [x, out], [outer, channels, inner], [channels, 1, 1]);
}
