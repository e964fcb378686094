/** Float64 reference of PyTorch's max_pool2d (no padding, floor mode) and its backward. */

export interface PoolShape {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
}

export function outSize(s: PoolShape): [number, number] {
  return [Math.floor((s.h - s.kh) / s.sh) + 1, Math.floor((s.w - s.kw) / s.sw) + 1];
}

/** Output values and the argmax of each window (index into its input plane; first maximum wins ties). */
export function maxPool2dRef(x: ArrayLike<number>, s: PoolShape): { y: Float64Array; argmax: Int32Array } {
  const [oh, ow] = outSize(s);
  const planes = s.n * s.c;
  const y = new Float64Array(planes * oh * ow);
  const argmax = new Int32Array(y.length);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity;
        let bestIndex = i * s.sh * s.w + j * s.sw;
        for (let a = 0; a < s.kh; a++) {
          for (let b = 0; b < s.kw; b++) {
            const index = (i * s.sh + a) * s.w + j * s.sw + b;
            const v = x[p * s.h * s.w + index];
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIndex = index;
            }
          }
        }
        const o = (p * oh + i) * ow + j;
        y[o] = best;
        argmax[o] = bestIndex;
      }
    }
  }
  return { y, argmax };
}

/** dx: each dy goes to its window's argmax (summed where windows overlap). */
export function maxPool2dBackwardRef(dy: ArrayLike<number>, argmax: Int32Array, s: PoolShape): Float64Array {
  const [oh, ow] = outSize(s);
  const dx = new Float64Array(s.n * s.c * s.h * s.w);
  for (let o = 0; o < argmax.length; o++) {
    const plane = Math.floor(o / (oh * ow));
    dx[plane * s.h * s.w + argmax[o]] += dy[o];
  }
  return dx;
}
