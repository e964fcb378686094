/**
 * Float64 reference of PyTorch's F.conv2d (NCHW, weight [o,c,kh,kw], zero padding) with an optional weight
 * mask and ReLU, and its backward. Plain loops, written for clarity.
 */

export interface ConvShape {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

export interface ConvOperands {
  x: ArrayLike<number>;
  weight: ArrayLike<number>;
  bias?: ArrayLike<number> | null;
  mask?: ArrayLike<number> | null;
  relu?: boolean;
}

export function convOutSize(s: ConvShape): [number, number] {
  return [Math.floor((s.h + 2 * s.padH - s.kh) / s.strideH) + 1, Math.floor((s.w + 2 * s.padW - s.kw) / s.strideW) + 1];
}

/** Calls fn(outIndex, xIndex, wIndex) for every product x * w of the convolution (padding skipped). */
function forEachTap(s: ConvShape, fn: (outIndex: number, xIndex: number, wIndex: number) => void): void {
  const [oh, ow] = convOutSize(s);
  for (let n = 0; n < s.n; n++)
    for (let o = 0; o < s.o; o++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++) {
          const outIndex = ((n * s.o + o) * oh + y) * ow + x;
          for (let c = 0; c < s.c; c++)
            for (let ky = 0; ky < s.kh; ky++) {
              const iy = y * s.strideH + ky - s.padH;
              if (iy < 0 || iy >= s.h) continue;
              for (let kx = 0; kx < s.kw; kx++) {
                const ix = x * s.strideW + kx - s.padW;
                if (ix < 0 || ix >= s.w) continue;
                fn(outIndex, ((n * s.c + c) * s.h + iy) * s.w + ix, ((o * s.c + c) * s.kh + ky) * s.kw + kx);
              }
            }
        }
}

function maskedWeight(a: ConvOperands): Float64Array {
  return Float64Array.from(a.weight, (v, i) => (a.mask ? v * a.mask[i] : v));
}

export function conv2dRef(s: ConvShape, a: ConvOperands): Float64Array {
  const [oh, ow] = convOutSize(s);
  const w = maskedWeight(a);
  const out = new Float64Array(s.n * s.o * oh * ow);
  if (a.bias) for (let i = 0; i < out.length; i++) out[i] = a.bias[Math.floor(i / (oh * ow)) % s.o];
  forEachTap(s, (oi, xi, wi) => (out[oi] += a.x[xi] * w[wi]));
  if (a.relu) for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i], 0);
  return out;
}

/** Gradients of sum(conv2d(...) * grad) with respect to x, weight (times the mask) and bias. */
export function conv2dBackwardRef(s: ConvShape, a: ConvOperands, grad: ArrayLike<number>): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const [oh, ow] = convOutSize(s);
  const w = maskedWeight(a);
  const out = a.relu ? conv2dRef(s, a) : null;
  const dy = Float64Array.from(grad, (g, i) => (out && !(out[i] > 0) ? 0 : g));
  const dx = new Float64Array(s.n * s.c * s.h * s.w);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(s.o);
  forEachTap(s, (oi, xi, wi) => {
    dx[xi] += dy[oi] * w[wi];
    dw[wi] += dy[oi] * a.x[xi];
  });
  if (a.mask) for (let i = 0; i < dw.length; i++) dw[i] *= a.mask[i];
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (oh * ow)) % s.o] += dy[i];
  return { dx, dw, db };
}
