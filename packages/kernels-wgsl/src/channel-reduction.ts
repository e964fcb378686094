/**
 * Shared shape of the per-channel reductions over an [images, channels, plane] f32 array (BatchNorm's batch
 * statistics and its backward's two sums): one workgroup per channel. Each thread adds up a strided share of
 * the channel's images * plane elements into a vec2 of sums, stepping its (image, position) pair by the
 * workgroup size without a division per element; then one barrier and thread 0 adds the 256 partials in
 * order (a fixed order: the sums are deterministic).
 */
import type { BindingKind, Program } from './runner.js';

export const CHANNEL_WORKGROUP = 256;

/** An NCHW array seen per channel: images = N, channels = C, plane = H * W. */
export interface ChannelShape {
  images: number;
  channels: number;
  plane: number;
}

export interface ChannelReductionParts {
  /** Storage bindings from 1 on, declared in `declarations`. */
  bindings: BindingKind[];
  declarations: string;
  /** Uniform fields after `images, channels, plane`. */
  uniformFields: string;
  /** Runs once per thread before the loop; `c` is the channel. */
  prologue: string;
  /** Adds element `index` of channel `c` into `acc` (vec2<f32>). */
  accumulate: string;
  /** Runs in thread 0 with the channel's sums in `total` (vec2<f32>) and its element count in `count` (f32). */
  finish: string;
}

export function channelReductionProgram(key: string, parts: ChannelReductionParts): Program {
  return {
    key,
    bindings: ['uniform', ...parts.bindings],
    wgsl: /* wgsl */ `
struct U { images: u32, channels: u32, plane: u32, ${parts.uniformFields} }
@group(0) @binding(0) var<uniform> u: U;
${parts.declarations}
var<workgroup> partials: array<vec2<f32>, ${CHANNEL_WORKGROUP}>;
@compute @workgroup_size(${CHANNEL_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  ${parts.prologue}
  var acc = vec2<f32>(0.0, 0.0);
  let step_images = ${CHANNEL_WORKGROUP}u / u.plane;
  let step_position = ${CHANNEL_WORKGROUP}u % u.plane;
  var image = lid / u.plane;
  var position = lid % u.plane;
  loop {
    if (image >= u.images) { break; }
    let index = (image * u.channels + c) * u.plane + position;
    ${parts.accumulate}
    image += step_images;
    position += step_position;
    if (position >= u.plane) {
      position -= u.plane;
      image += 1u;
    }
  }
  partials[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = vec2<f32>(0.0, 0.0);
    for (var t = 0u; t < ${CHANNEL_WORKGROUP}u; t++) { total += partials[t]; }
    let count = f32(u.images * u.plane);
    ${parts.finish}
  }
}`,
  };
}

/** The uniforms every channel reduction starts with. */
export function channelUniforms(shape: ChannelShape): number[] {
  return [shape.images, shape.channels, shape.plane];
}

/** One workgroup per channel, or an error naming the kernel. */
export function channelGrid(key: string, runnerLimit: number, shape: ChannelShape): [number, number, number] {
  if (shape.channels > runnerLimit) throw new Error(`${key}: ${shape.channels} channels exceed one grid dimension (${runnerLimit})`);
  return [shape.channels, 1, 1];
}
