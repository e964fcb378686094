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
