/**
 * Max pooling backward without atomics, writing every element of dx (no zero fill needed). Two variants:
 * - `disjoint` (stride >= kernel in both dimensions, LeNet's case): one thread per window writes its cell of the
 *   sh x sw tiling of the plane, dy at the argmax and 0 elsewhere; the last row and column of cells reach the
 *   plane's edge, covering what floor mode leaves out. Index arithmetic is per window, not per element.
 * - `overlap`: a gather, one thread per input element summing the dy of the windows that cover it and whose
 *   argmax it is, in increasing output order (the order of PyTorch's CPU scatter).
 * Each variant can also take the gradient through a ReLU before the pooling: given the pooled output y of a
 * ReLU's output, dy passes only where y > 0. The max of ReLU outputs is the ReLU of the winner, so y > 0 exactly
 * where the winner's pre-activation is, and the full-size ReLU backward pass is spared.
 */
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import { pool2dUniforms, POOL2D_UNIFORM_FIELDS, type Pool2dGeometry } from './maxpool2d-forward.js';
import type { KernelRunner, Program } from './runner.js';

function bindings(gated: boolean): string {
  return `@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<i32>;
${gated ? '@group(0) @binding(3) var<storage, read> y: array<f32>;' : ''}
@group(0) @binding(${gated ? 4 : 3}) var<storage, read_write> dx: array<f32>;`;
}

const kinds = (gated: boolean) => (gated ? ['read', 'read', 'read', 'write'] as const : ['read', 'read', 'write'] as const);

function overlapProgram(gated: boolean): Program {
  return elementwiseProgram(`maxpool2d_backward_overlap${gated ? '_relu' : ''}`, [...kinds(gated)], bindings(gated), POOL2D_UNIFORM_FIELDS,
    `let iw = i % u.w;
  let rest = i / u.w;
  let ih = rest % u.h;
  let plane = rest / u.h;
  let index = i32(ih * u.w + iw);
  let out_base = plane * u.out_h * u.out_w;
  // Windows oh cover ih when oh*sh <= ih < oh*sh + kh.
  let oh_first = select(0u, (ih + u.sh - u.kh) / u.sh, ih + 1u >= u.kh);
  let oh_last = min(ih / u.sh, u.out_h - 1u);
  let ow_first = select(0u, (iw + u.sw - u.kw) / u.sw, iw + 1u >= u.kw);
  let ow_last = min(iw / u.sw, u.out_w - 1u);
  var sum = 0.0;
  for (var oh = oh_first; oh <= oh_last; oh++) {
    for (var ow = ow_first; ow <= ow_last; ow++) {
      let o = out_base + oh * u.out_w + ow;
      if (argmax[o] == index${gated ? ' && y[o] > 0.0' : ''}) { sum += dy[o]; }
    }
  }
  dx[i] = sum;`);
}

function disjointProgram(gated: boolean): Program {
  return elementwiseProgram(`maxpool2d_backward_disjoint${gated ? '_relu' : ''}`, [...kinds(gated)], bindings(gated), POOL2D_UNIFORM_FIELDS,
    `let ow = i % u.out_w;
  let rest = i / u.out_w;
  let oh = rest % u.out_h;
  let plane = rest / u.out_h;
  let winner = argmax[i];
  let grad = ${gated ? 'select(0.0, dy[i], y[i] > 0.0)' : 'dy[i]'};
  let base = plane * u.h * u.w;
  // This window's cell of the sh x sw tiling; the last row and column of cells reach the plane's edge.
  let ih0 = oh * u.sh;
  let iw0 = ow * u.sw;
  let ih_end = select(ih0 + u.sh, u.h, oh + 1u == u.out_h);
  let iw_end = select(iw0 + u.sw, u.w, ow + 1u == u.out_w);
  for (var ih = ih0; ih < ih_end; ih++) {
    for (var iw = iw0; iw < iw_end; iw++) {
      let index = ih * u.w + iw;
      dx[base + index] = select(0.0, grad, i32(index) == winner);
    }
  }`);
}

const programs = {
  overlap: overlapProgram(false), disjoint: disjointProgram(false),
  overlapRelu: overlapProgram(true), disjointRelu: disjointProgram(true),
};

/**
 * dx [planes, H, W] from dy and the forward's argmax (both [planes, outHeight, outWidth]). With `reluOutput`
 * (the pooled output, when the pooling's input was a ReLU's output) dx is also the gradient through that ReLU.
 */
export function maxPool2dBackward(runner: KernelRunner, dy: GPUBuffer, argmax: GPUBuffer, dx: GPUBuffer, geometry: Pool2dGeometry, reluOutput: GPUBuffer | null = null): void {
  const { planes, height, width, outHeight, outWidth } = geometry;
  const disjoint = geometry.strideH >= geometry.kernelH && geometry.strideW >= geometry.kernelW;
  const n = disjoint ? planes * outHeight * outWidth : planes * height * width;
  const program = disjoint ? (reluOutput ? programs.disjointRelu : programs.disjoint) : reluOutput ? programs.overlapRelu : programs.overlap;
  runner.run(program, reluOutput ? [dy, argmax, reluOutput, dx] : [dy, argmax, dx], pool2dUniforms(n, geometry), elementwiseGrid(n));
}
