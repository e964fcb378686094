/**
 * Float64 references of the matmul kernel (op(A) @ op(B) with its epilogue) and of a masked linear layer
 * (PyTorch's F.linear, weight [out, in]) with optional ReLU, and its backward. Plain loops, written for clarity.
 */

export interface MatmulRefOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: ArrayLike<number>;
  relu?: boolean;
  maskB?: ArrayLike<number>;
  maskOut?: ArrayLike<number>;
  /** C's previous values, added to the result (the kernel's `accumulate`). */
  accumulateInto?: ArrayLike<number>;
}

/** C[M,N] = op(A) @ op(B); A is stored [M,K] ([K,M] with transA), B [K,N] ([N,K] with transB). */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number, o: MatmulRefOptions = {}): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const aIndex = o.transA ? p * m + i : i * k + p;
        const bIndex = o.transB ? j * k + p : p * n + j;
        sum += a[aIndex] * b[bIndex] * (o.maskB ? o.maskB[bIndex] : 1);
      }
      if (o.bias) sum += o.bias[j];
      if (o.relu) sum = Math.max(sum, 0);
      if (o.maskOut) sum *= o.maskOut[i * n + j];
      c[i * n + j] = sum + (o.accumulateInto ? o.accumulateInto[i * n + j] : 0);
    }
  return c;
}

export interface LinearOperands {
  x: ArrayLike<number>;
  weight: ArrayLike<number>;
  bias?: ArrayLike<number> | null;
  mask?: ArrayLike<number> | null;
  relu?: boolean;
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

/** y [batch, out] = x @ (weight * mask)^T + bias, then ReLU. */
export function linearRef(l: LinearOperands): Float64Array {
  const { batch, inFeatures, outFeatures } = l;
  const y = new Float64Array(batch * outFeatures);
  for (let s = 0; s < batch; s++)
    for (let o = 0; o < outFeatures; o++) {
      let sum = l.bias ? l.bias[o] : 0;
      for (let i = 0; i < inFeatures; i++) {
        const w = o * inFeatures + i;
        sum += l.x[s * inFeatures + i] * l.weight[w] * (l.mask ? l.mask[w] : 1);
      }
      y[s * outFeatures + o] = l.relu ? Math.max(sum, 0) : sum;
    }
  return y;
}

/** Gradients of sum(gy * linear(x, weight, bias)) with respect to x, weight and bias. */
export function linearBackwardRef(l: LinearOperands, gy: ArrayLike<number>): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { batch, inFeatures, outFeatures } = l;
  const y = linearRef(l);
  const dx = new Float64Array(batch * inFeatures);
  const dw = new Float64Array(outFeatures * inFeatures);
  const db = new Float64Array(outFeatures);
  for (let s = 0; s < batch; s++)
    for (let o = 0; o < outFeatures; o++) {
      const g = l.relu && !(y[s * outFeatures + o] > 0) ? 0 : gy[s * outFeatures + o];
      db[o] += g;
      for (let i = 0; i < inFeatures; i++) {
        const w = o * inFeatures + i;
        const m = l.mask ? l.mask[w] : 1;
        dx[s * inFeatures + i] += g * l.weight[w] * m;
        dw[w] += g * l.x[s * inFeatures + i] * m;
      }
    }
  return { dx, dw, db };
}

/** Gradients of sum(g * (A @ B)) for A [M,K] and B [K,N]: dA = g @ B^T, dB = A^T @ g. */
export function matmulBackwardRef(a: ArrayLike<number>, b: ArrayLike<number>, g: ArrayLike<number>, m: number, n: number, k: number): { da: Float64Array; db: Float64Array } {
  return { da: matmulRef(g, b, m, k, n, { transB: true }), db: matmulRef(a, g, k, n, m, { transA: true }) };
}
