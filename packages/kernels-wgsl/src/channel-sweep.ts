/**
 * Shared shape of the BatchNorm kernels over an [images, channels, plane] f32 array: workgroup (c, s) sweeps
 * channel c of a run of images, each thread stepping its (image, position) pair by the workgroup size with no
 * division per element. A reduction (the statistics, the backward's sums) takes a whole channel per workgroup
 * and adds its threads' vec2 partials after one barrier, in order (deterministic); an elementwise sweep (the
 * normalisation, the input gradient) splits the images so that about SWEEP_WORKGROUPS workgroups run. On
 * lavapipe, one thread per element (the elementwise.ts shape) measured 3 to 13x slower than such loops:
 * each workgroup is a task for the driver's threads, and thousands of them cost more than the arithmetic.
 */
import type { BindingKind, KernelRunner, Program } from './runner.js';

export const SWEEP_WORKGROUP = 256;
/** Workgroups an elementwise sweep aims for: enough for every core, few enough to amortise each one. */
export const SWEEP_WORKGROUPS = 256;

/** An NCHW array seen per channel: images = N, channels = C, plane = H * W. */
export interface ChannelShape {
  images: number;
  channels: number;
  plane: number;
}

export interface ChannelSweepParts {
  /** Storage bindings from 1 on, declared in `declarations`. */
  bindings: BindingKind[];
  declarations: string;
  /** Uniform fields after `images, channels, plane, images_per_workgroup`. */
  uniformFields: string;
  /** Runs once per thread before the sweep; `c` is the channel. */
  prologue: string;
  /** Runs for element `index` of channel `c`; a reduction adds into `acc` (vec2<f32>). */
  body: string;
  /** A reduction: runs in thread 0 with the channel's sums in `total` (vec2<f32>) and its element count in `count` (f32). */
  finish?: string;
}

export function channelSweepProgram(key: string, parts: ChannelSweepParts): Program {
  const reduce = parts.finish !== undefined;
  return {
    key,
    bindings: ['uniform', ...parts.bindings],
    wgsl: /* wgsl */ `
struct U { images: u32, channels: u32, plane: u32, images_per_workgroup: u32, ${parts.uniformFields} }
@group(0) @binding(0) var<uniform> u: U;
${parts.declarations}
${reduce ? `var<workgroup> partials: array<vec2<f32>, ${SWEEP_WORKGROUP}>;` : ''}
@compute @workgroup_size(${SWEEP_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let first_image = wid.y * u.images_per_workgroup;
  let end_image = min(first_image + u.images_per_workgroup, u.images);
  ${parts.prologue}
  ${reduce ? 'var acc = vec2<f32>(0.0, 0.0);' : ''}
  let step_images = ${SWEEP_WORKGROUP}u / u.plane;
  let step_position = ${SWEEP_WORKGROUP}u % u.plane;
  var image = first_image + lid / u.plane;
  var position = lid % u.plane;
  loop {
    if (image >= end_image) { break; }
    let index = (image * u.channels + c) * u.plane + position;
    ${parts.body}
    image += step_images;
    position += step_position;
    if (position >= u.plane) {
      position -= u.plane;
      image += 1u;
    }
  }
  ${reduce ? `partials[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = vec2<f32>(0.0, 0.0);
    for (var t = 0u; t < ${SWEEP_WORKGROUP}u; t++) { total += partials[t]; }
    let count = f32(u.images * u.plane);
    ${parts.finish}
  }` : ''}
}`,
  };
}

/**
 * The leading uniforms and the grid of a sweep over `shape`: a whole channel per workgroup for a reduction,
 * else the images split to reach about SWEEP_WORKGROUPS workgroups. Throws naming the kernel past the grid's limit.
 */
export function channelSweepLaunch(runner: KernelRunner, program: Program, shape: ChannelShape, reduction: boolean): { uniforms: number[]; grid: [number, number, number] } {
  const limit = runner.device.limits.maxComputeWorkgroupsPerDimension;
  if (shape.channels > limit) throw new Error(`${program.key}: ${shape.channels} channels exceed one grid dimension (${limit})`);
  const splits = reduction ? 1 : Math.min(shape.images, Math.ceil(SWEEP_WORKGROUPS / shape.channels));
  const imagesPerWorkgroup = Math.ceil(shape.images / splits);
  return { uniforms: [shape.images, shape.channels, shape.plane, imagesPerWorkgroup], grid: [shape.channels, Math.ceil(shape.images / imagesPerWorkgroup), 1] };
}
