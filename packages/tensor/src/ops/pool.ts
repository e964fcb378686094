/**
 * Pooling ops as PyTorch's (no padding, no dilation, floor mode): maxPool2d, avgPool2d, and adaptiveAvgPool2d
 * to 1x1 (global average pooling).
 */
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

/** Mean over kernelSize windows of each [H, W] plane of x [N, C, H, W], stepping by stride (default kernelSize). */
export function avgPool2d(x: Tensor, kernelSize: Size2d, stride: Size2d = kernelSize): Tensor {
  const { geometry, what } = pool2dGeometry('avgPool2d', x, kernelSize, stride);
  return averagePool(x, geometry, `avgPool2d(${what})`);
}

/** PyTorch's adaptive_avg_pool2d for output size 1 only: x [N, C, H, W] -> [N, C, 1, 1], each plane's mean. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2d): Tensor {
  if (!pair(outputSize).every((d) => d === 1)) throw new Error(`adaptiveAvgPool2d: only output size 1 is supported, got ${JSON.stringify(outputSize)} (x [${x.shape}])`);
  if (x.shape.length !== 4) throw new Error(`adaptiveAvgPool2d: needs an f32 [N,C,H,W] tensor, got ${x.dtype} [${x.shape}]`);
  const { geometry } = pool2dGeometry('adaptiveAvgPool2d', x, [x.shape[2], x.shape[3]]);
  return averagePool(x, geometry, `adaptiveAvgPool2d([${x.shape}], 1)`);
}

function averagePool(x: Tensor, geometry: k.Pool2dGeometry, origin: string): Tensor {
  const out = empty([x.shape[0], x.shape[1], geometry.outHeight, geometry.outWidth], 'f32', origin);
  const { runner } = runtime();
  k.avgPool2dForward(runner, x.buffer, out.buffer, geometry);
  return record(out, [x], (g) => {
    const dx = empty(x.shape, 'f32', `${origin} backward`);
    k.avgPool2dBackward(runner, g.buffer, dx.buffer, geometry);
    return [dx];
  });
}
