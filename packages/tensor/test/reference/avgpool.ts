/** Float64 reference of PyTorch's avg_pool2d (no padding, floor mode) and its backward. */
import { outSize, type PoolShape } from './pool.js';

/** Calls fn(outIndex, inIndex) for every input element of every window. */
function forEachWindowTap(s: PoolShape, fn: (outIndex: number, inIndex: number) => void): void {
  const [oh, ow] = outSize(s);
  for (let p = 0; p < s.n * s.c; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let a = 0; a < s.kh; a++)
          for (let b = 0; b < s.kw; b++) fn((p * oh + i) * ow + j, p * s.h * s.w + (i * s.sh + a) * s.w + j * s.sw + b);
}

export function avgPool2dRef(x: ArrayLike<number>, s: PoolShape): Float64Array {
  const [oh, ow] = outSize(s);
  const y = new Float64Array(s.n * s.c * oh * ow);
  forEachWindowTap(s, (o, i) => (y[o] += x[i] / (s.kh * s.kw)));
  return y;
}

/** dx: each dy spread evenly over its window (summed where windows overlap). */
export function avgPool2dBackwardRef(dy: ArrayLike<number>, s: PoolShape): Float64Array {
  const dx = new Float64Array(s.n * s.c * s.h * s.w);
  forEachWindowTap(s, (o, i) => (dx[i] += dy[o] / (s.kh * s.kw)));
  return dx;
}
