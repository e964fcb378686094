/** Pooling ops: maxPool2d as PyTorch's F.max_pool2d (no padding, no dilation, floor mode). */
import * as k from '@sparsenet/kernels-wgsl';
import { isGradEnabled, record } from '../autograd.js';
import { runtime } from '../runtime.js';
import { empty, type Tensor } from '../tensor.js';

/** An int for both dimensions, or [height, width]. */
export type Size2d = number | readonly [number, number];

function pair(size: Size2d): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

/** The pooling geometry of x [N, C, H, W], or an error naming `op` and the shapes. */
export function pool2dGeometry(op: string, x: Tensor, kernelSize: Size2d, stride: Size2d = kernelSize): { geometry: k.Pool2dGeometry; what: string } {
  const [kernelH, kernelW] = pair(kernelSize);
  const [strideH, strideW] = pair(stride);
  const what = `[${x.shape}], kernel [${kernelH},${kernelW}], stride [${strideH},${strideW}]`;
  if (x.dtype !== 'f32' || x.shape.length !== 4) throw new Error(`${op}: needs an f32 [N,C,H,W] tensor, got ${x.dtype} [${x.shape}]`);
  if (![kernelH, kernelW, strideH, strideW].every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${op}: kernel size and stride must be positive integers (x ${what})`);
  }
  const [n, c, height, width] = x.shape;
  if (kernelH > height || kernelW > width) throw new Error(`${op}: kernel larger than the input plane ${height}x${width} (x ${what})`);
  const geometry: k.Pool2dGeometry = {
    planes: n * c, height, width, kernelH, kernelW, strideH, strideW,
    outHeight: Math.floor((height - kernelH) / strideH) + 1,
    outWidth: Math.floor((width - kernelW) / strideW) + 1,
  };
  return { geometry, what };
}

/** Max over kernelSize windows of each [H, W] plane of x [N, C, H, W], stepping by stride (default kernelSize). */
export function maxPool2d(x: Tensor, kernelSize: Size2d, stride: Size2d = kernelSize): Tensor {
  const { geometry, what } = pool2dGeometry('maxPool2d', x, kernelSize, stride);
  const origin = `maxPool2d(${what})`;
  const out = empty([x.shape[0], x.shape[1], geometry.outHeight, geometry.outWidth], 'f32', origin);
  const { runner } = runtime();
  if (!(isGradEnabled() && x.requiresGrad)) {
    k.maxPool2dForward(runner, x.buffer, out.buffer, null, geometry);
    return out;
  }
  // The argmax is an intermediate like any other: the enclosing scope frees it.
  const argmax = empty(out.shape, 'i32', `${origin} argmax`);
  k.maxPool2dForward(runner, x.buffer, out.buffer, argmax.buffer, geometry);
  return record(out, [x], (g) => {
    const dx = empty(x.shape, 'f32', `maxPool2d backward(${what})`);
    k.maxPool2dBackward(runner, g.buffer, argmax.buffer, dx.buffer, geometry);
    return [dx];
  });
}
