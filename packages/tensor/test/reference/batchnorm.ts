/** Float64 reference of PyTorch's F.batch_norm on [N, C, H, W] (affine, running statistics) and its backward. */

export interface BatchNormShape {
  n: number;
  c: number;
  h: number;
  w: number;
}

export interface BatchNormOperands {
  x: ArrayLike<number>;
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
  runningMean: ArrayLike<number>;
  runningVar: ArrayLike<number>;
}

export interface BatchNormConfig {
  training: boolean;
  momentum: number;
  eps: number;
}

/** Calls fn(flatIndex, channel) for every element of x. */
function forEachElement(s: BatchNormShape, fn: (index: number, channel: number) => void): void {
  const plane = s.h * s.w;
  for (let n = 0; n < s.n; n++) for (let c = 0; c < s.c; c++) for (let p = 0; p < plane; p++) fn((n * s.c + c) * plane + p, c);
}

/** Per-channel mean and biased variance of x over N, H, W. */
export function channelMoments(x: ArrayLike<number>, s: BatchNormShape): { mean: Float64Array; variance: Float64Array } {
  const count = s.n * s.h * s.w;
  const mean = new Float64Array(s.c);
  const variance = new Float64Array(s.c);
  forEachElement(s, (i, c) => (mean[c] += x[i] / count));
  forEachElement(s, (i, c) => (variance[c] += (x[i] - mean[c]) ** 2 / count));
  return { mean, variance };
}

/** The statistics a configuration normalises with: the batch's in training, the running ones in evaluation. */
export function normalisingStatistics(a: BatchNormOperands, s: BatchNormShape, cfg: BatchNormConfig): { mean: Float64Array; invstd: Float64Array } {
  const m = cfg.training ? channelMoments(a.x, s) : { mean: Float64Array.from(a.runningMean), variance: Float64Array.from(a.runningVar) };
  return { mean: m.mean, invstd: m.variance.map((v) => 1 / Math.sqrt(v + cfg.eps)) };
}

/** y, and the running statistics after the call (updated in training with the unbiased variance). */
export function batchNorm2dRef(a: BatchNormOperands, s: BatchNormShape, cfg: BatchNormConfig): { y: Float64Array; runningMean: Float64Array; runningVar: Float64Array } {
  const { mean, invstd } = normalisingStatistics(a, s, cfg);
  const y = normalizeRef(a, s, mean, invstd);
  const runningMean = Float64Array.from(a.runningMean);
  const runningVar = Float64Array.from(a.runningVar);
  if (cfg.training) {
    const count = s.n * s.h * s.w;
    const { variance } = channelMoments(a.x, s);
    for (let c = 0; c < s.c; c++) {
      runningMean[c] = (1 - cfg.momentum) * runningMean[c] + cfg.momentum * mean[c];
      runningVar[c] = (1 - cfg.momentum) * runningVar[c] + (cfg.momentum * variance[c] * count) / (count - 1);
    }
  }
  return { y, runningMean, runningVar };
}

/** Gradients of sum(y * dy) for x, weight and bias (see backwardInputRef). */
export function batchNorm2dBackwardRef(a: BatchNormOperands, s: BatchNormShape, cfg: BatchNormConfig, dy: ArrayLike<number>): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { mean, invstd } = normalisingStatistics(a, s, cfg);
  const { dweight, dbias } = backwardSumsRef(a.x, dy, s, mean, invstd);
  return { dx: backwardInputRef(a.x, dy, s, { mean, invstd, weight: a.weight, dweight, dbias }, cfg.training), dweight, dbias };
}

/** y = (x - mean) * invstd * weight + bias, given the statistics (the normalisation kernel's job). */
export function normalizeRef(a: Pick<BatchNormOperands, 'x' | 'weight' | 'bias'>, s: BatchNormShape, mean: ArrayLike<number>, invstd: ArrayLike<number>): Float64Array {
  const y = new Float64Array(s.n * s.c * s.h * s.w);
  forEachElement(s, (i, c) => (y[i] = (a.x[i] - mean[c]) * invstd[c] * a.weight[c] + a.bias[c]));
  return y;
}

/** The backward's per-channel sums: dbias = sum dy, dweight = sum dy * xhat. */
export function backwardSumsRef(x: ArrayLike<number>, dy: ArrayLike<number>, s: BatchNormShape, mean: ArrayLike<number>, invstd: ArrayLike<number>): { dweight: Float64Array; dbias: Float64Array } {
  const dweight = new Float64Array(s.c);
  const dbias = new Float64Array(s.c);
  forEachElement(s, (i, c) => {
    dbias[c] += dy[i];
    dweight[c] += dy[i] * (x[i] - mean[c]) * invstd[c];
  });
  return { dweight, dbias };
}

export interface BackwardTerms {
  mean: ArrayLike<number>;
  invstd: ArrayLike<number>;
  weight: ArrayLike<number>;
  dweight: ArrayLike<number>;
  dbias: ArrayLike<number>;
}

/**
 * The input gradient given the statistics and the sums. Training: the statistics depend on x, so
 * dx = weight * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)); evaluation: dx = dy * weight * invstd.
 */
export function backwardInputRef(x: ArrayLike<number>, dy: ArrayLike<number>, s: BatchNormShape, t: BackwardTerms, training: boolean): Float64Array {
  const count = s.n * s.h * s.w;
  const dx = new Float64Array(s.n * s.c * s.h * s.w);
  forEachElement(s, (i, c) => {
    const xhat = (x[i] - t.mean[c]) * t.invstd[c];
    dx[i] = training ? t.weight[c] * t.invstd[c] * (dy[i] - t.dbias[c] / count - (xhat * t.dweight[c]) / count) : dy[i] * t.weight[c] * t.invstd[c];
  });
  return dx;
}
