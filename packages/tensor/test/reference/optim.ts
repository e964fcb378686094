/** Float64 references of torch.optim.Adam and torch.optim.SGD (dampening 0, no Nesterov), with an optional mask. */

export interface AdamRefOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** One Adam step at step count t (1 for the first); updates p, m, v in place. Masked entries become 0. */
export function adamStepRef(p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number, o: AdamRefOptions, mask?: ArrayLike<number>): void {
  const [b1, b2] = o.betas;
  const stepSize = o.lr / (1 - b1 ** t);
  const bias2Sqrt = Math.sqrt(1 - b2 ** t);
  for (let i = 0; i < p.length; i++) {
    if (mask && mask[i] === 0) {
      p[i] = m[i] = v[i] = 0;
      continue;
    }
    const grad = g[i] + o.weightDecay * p[i];
    m[i] = b1 * m[i] + (1 - b1) * grad;
    v[i] = b2 * v[i] + (1 - b2) * grad * grad;
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bias2Sqrt + o.eps);
  }
}

export interface SgdRefOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** One SGD step; `buf` is the momentum buffer (null before the first step). Returns the new buffer (null without momentum). */
export function sgdStepRef(p: Float64Array, g: ArrayLike<number>, buf: Float64Array | null, o: SgdRefOptions, mask?: ArrayLike<number>): Float64Array | null {
  const next = o.momentum !== 0 ? new Float64Array(p.length) : null;
  for (let i = 0; i < p.length; i++) {
    if (mask && mask[i] === 0) {
      p[i] = 0;
      continue;
    }
    let d = g[i] + o.weightDecay * p[i];
    if (next) {
      // PyTorch's first step clones d into the buffer; later steps decay it.
      d = buf ? o.momentum * buf[i] + d : d;
      next[i] = d;
    }
    p[i] -= o.lr * d;
  }
  return next;
}
