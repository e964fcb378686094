/** Test helpers: seeded random data, the kernel tolerance, and the device every test file opens once. */
import { beforeAll, expect } from 'vitest';
import { getDevice, getDeviceInfo, Random } from '@sparsenet/tensor';

/** Opens the device for a test file; fails (never skips) when there is none. In CI the adapter is forced. */
export function useDevice(): void {
  beforeAll(async () => {
    await getDevice();
    const info = await getDeviceInfo();
    if (process.env.CI && info.kind !== 'lavapipe' && !process.env.SPARSENET_ADAPTER) {
      throw new Error(`CI must run on a forced adapter; got ${info.kind} (${info.description})`);
    }
  });
}

/** Seeded uniforms in [0, 1) from the library's own generator. */
export function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** n uniform values in [-1, 1) from a seed. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** The kernel bar: max |got - ref| <= 1e-4 * max |ref| + 1e-6. */
export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, what = 'values', rel = 1e-4, abs = 1e-6): void {
  expect(got.length, `${what}: length`).toBe(ref.length);
  let maxRef = 0;
  let maxErr = 0;
  let worst = -1;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= maxErr)) {
      maxErr = err;
      worst = i;
    }
  }
  const bound = rel * maxRef + abs;
  expect(maxErr <= bound, `${what}: max |got - ref| = ${maxErr} at ${worst} (got ${got[worst]}, ref ${ref[worst]}) > ${bound}`).toBe(true);
}

/** The kernel bar's absolute allowance for a gradient: 1e-4 max|g| + 1e-6 (as expectClose). */
function gradientBar(g: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < g.length; i++) max = Math.max(max, Math.abs(g[i]));
  return 1e-4 * max + 1e-6;
}

/**
 * Compares our weights after `steps` Adam steps with PyTorch's, element by element, on the update w_t - w_0.
 * Adam divides each moment by its own magnitude, so an update depends on the gradient's direction, not its
 * size: an error delta in a gradient of size |G| (G = g + weight_decay * w, what Adam sees) moves the update by
 * at most ~1.42 delta / |G| in units of lr (the steepest slope of the bias-corrected t = 2 update over the
 * (G1, G2) circle; t = 1 adds only eps * delta / G^2), and by up to 2 lr per step where |G| <= delta lets the
 * sign flip. So, with delta the kernel bar on gradients (asserted above for step 1), every element must satisfy
 * |update ours - update torch| <= lr * min(2 * steps + 0.01, 2 * delta / |G1|) + 1e-7 (the last term for float32
 * rounding of weights below 1: ulp(0.5) = 6e-8). That bound is loose where gradients are small, as most of
 * fc1's are, so a second, tight one: all but 0.1% of the elements agree to 1e-3 lr (measured on LeNet: at most
 * 2 of fc1's 324,480 elements exceed it, by 6e-3 lr at most; a missing weight decay or a wrong beta breaks it).
 */
export function expectAdamClose(what: string, w0: Float32Array, ours: Float32Array, torch: Float32Array, g1: Float32Array, steps: number, hyper: { lr: number; weightDecay: number }): void {
  expect(ours.length, `${what}: length`).toBe(torch.length);
  const delta = gradientBar(g1);
  let worst = { ratio: 0, index: -1, bound: 0 };
  let beyondTight = 0;
  for (let i = 0; i < torch.length; i++) {
    const G = Math.abs(g1[i] + hyper.weightDecay * w0[i]);
    const bound = hyper.lr * Math.min(2 * steps + 0.01, (2 * delta) / G) + 1e-7;
    const difference = Math.abs(ours[i] - torch[i]);
    if (difference > 1e-3 * hyper.lr) beyondTight++;
    if (!(difference / bound <= worst.ratio)) worst = { ratio: difference / bound, index: i, bound };
  }
  const i = worst.index;
  expect(worst.ratio <= 1, `${what}: update ${ours[i] - w0[i]} vs PyTorch ${torch[i] - w0[i]} at ${i} exceeds ${worst.bound}`).toBe(true);
  const allowed = Math.ceil(1e-3 * torch.length);
  expect(beyondTight <= allowed, `${what}: ${beyondTight} of ${torch.length} updates differ from PyTorch's by more than 1e-3 lr (allowed ${allowed})`).toBe(true);
}

/** Adam's hyperparameters as a fixture generator records them in its safetensors metadata. */
export function adamHyperparameters(metadata: Record<string, string>): { lr: number; betas: readonly [number, number]; eps: number; weightDecay: number } {
  return { lr: Number(metadata.lr), betas: [Number(metadata.beta1), Number(metadata.beta2)], eps: Number(metadata.eps), weightDecay: Number(metadata.weight_decay) };
}

/** Central finite differences of a scalar function of x, in float64. */
export function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = f(x);
    x[i] = saved - h;
    const down = f(x);
    x[i] = saved;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

type Row<F extends Record<string, readonly unknown[]>> = { [K in keyof F]: F[K][number] };

/**
 * A covering array of strength 2: rows (one value per factor) in which every pair of values of any two
 * factors appears at least once, so that a test compiles one pipeline per row instead of one per product of
 * its choices. Greedy and deterministic (AETG without the randomness): each row starts from the first pair
 * not yet covered and fills the other factors in order with the value that covers the most uncovered pairs
 * with the values chosen so far (ties go to the earlier value). Near minimal: at least the product of the two
 * largest factors' sizes.
 */
export function pairwise<F extends Record<string, readonly unknown[]>>(factors: F): Row<F>[] {
  const names = Object.keys(factors);
  const sizes = names.map((name) => factors[name].length);
  if (sizes.some((n) => n === 0)) throw new Error(`pairwise: factor '${names[sizes.indexOf(0)]}' has no values`);
  const pair = (f: number, a: number, g: number, b: number) => (f < g ? `${f}=${a},${g}=${b}` : `${g}=${b},${f}=${a}`);
  // Single values too, so that every value appears even in a factor paired with nothing (one factor alone).
  const uncovered = new Set<string>(names.flatMap((_, f) => Array.from({ length: sizes[f] }, (_, a) => `${f}=${a}`)));
  for (let f = 0; f < names.length; f++)
    for (let g = f + 1; g < names.length; g++)
      for (let a = 0; a < sizes[f]; a++) for (let b = 0; b < sizes[g]; b++) uncovered.add(pair(f, a, g, b));
  const rows: number[][] = [];
  while (uncovered.size) {
    const row = new Array<number>(names.length).fill(-1);
    const first = [...uncovered].find((item) => item.includes(',')) ?? uncovered.values().next().value!;
    for (const part of first.split(',')) row[Number(part.split('=')[0])] = Number(part.split('=')[1]);
    for (let f = 0; f < names.length; f++) {
      if (row[f] >= 0) continue;
      const gain = (a: number) => row.filter((b, g) => b >= 0 && uncovered.has(pair(f, a, g, b))).length + (uncovered.has(`${f}=${a}`) ? 1 : 0);
      let best = 0;
      for (let a = 1; a < sizes[f]; a++) if (gain(a) > gain(best)) best = a;
      row[f] = best;
    }
    for (let f = 0; f < names.length; f++) {
      uncovered.delete(`${f}=${row[f]}`);
      for (let g = f + 1; g < names.length; g++) uncovered.delete(pair(f, row[f], g, row[g]));
    }
    rows.push(row);
  }
  return rows.map((row) => Object.fromEntries(names.map((name, f) => [name, factors[name][row[f]]])) as Row<F>);
}

/**
 * Strength 1: every value of every factor at least once, in as many rows as the largest factor has values
 * (row i takes value i mod size). For op-level tests whose kernels' choices are covered pairwise elsewhere.
 */
export function eachOnce<F extends Record<string, readonly unknown[]>>(factors: F): Row<F>[] {
  const names = Object.keys(factors);
  const rows = Math.max(...names.map((name) => factors[name].length));
  return Array.from({ length: rows }, (_, i) => Object.fromEntries(names.map((name) => [name, factors[name][i % factors[name].length]])) as Row<F>);
}

/** The pairs of values (by factor name) that `rows` leave out: empty for a covering array of strength 2. */
export function missingPairs(factors: Record<string, readonly unknown[]>, rows: readonly Record<string, unknown>[]): string[] {
  const names = Object.keys(factors);
  const missing: string[] = [];
  for (const [i, f] of names.entries())
    for (const g of names.slice(i + 1))
      for (const a of factors[f]) for (const b of factors[g]) if (!rows.some((r) => r[f] === a && r[g] === b)) missing.push(`${f}=${a} ${g}=${b}`);
  return missing;
}
