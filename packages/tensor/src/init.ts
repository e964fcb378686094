/**
 * PyTorch's default initialisation of Linear and Conv2d, drawn from our seeded Random. The distributions
 * equal PyTorch's; the numbers cannot (its generator differs), so equality with PyTorch is shown by loading
 * PyTorch's weights instead.
 */
import { Random } from './random.js';

/** The generator layers use when given no seed, like torch's global generator; reset it with `manualSeed`. */
let defaultRandom = new Random(0);

/** Reseeds the default generator, as torch.manual_seed does. */
export function manualSeed(seed: number): void {
  defaultRandom = new Random(seed);
}

/** A layer's generator: its own from a seed, a shared one passed in, or the default one. */
export function generator(seed?: number | Random): Random {
  if (seed === undefined) return defaultRandom;
  return seed instanceof Random ? seed : new Random(seed);
}

/** Inputs feeding each output of a weight [out, in, ...kernel]: in * prod(kernel), as torch's fan_in. */
export function fanIn(shape: readonly number[]): number {
  if (shape.length < 2) throw new Error(`fanIn: a weight needs at least 2 dimensions [out, in, ...], got [${shape}]`);
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/** n values uniform in [-bound, bound). */
export function uniform(n: number, bound: number, random: Random): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = random.uniform(-bound, bound);
  return out;
}

/**
 * torch.nn.init.kaiming_uniform_ (fan_in mode, leaky_relu gain): U(-b, b) with b = gain * sqrt(3 / fan_in) and
 * gain = sqrt(2 / (1 + a^2)). PyTorch's layers use a = sqrt(5), which makes b = 1 / sqrt(fan_in).
 */
export function kaimingUniform(shape: readonly number[], random: Random, a = Math.sqrt(5)): Float32Array {
  const gain = Math.sqrt(2 / (1 + a * a));
  const n = shape.reduce((x, y) => x * y, 1);
  return uniform(n, gain * Math.sqrt(3 / fanIn(shape)), random);
}

/** PyTorch's default bias for a layer with this weight shape: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function defaultBias(weightShape: readonly number[], random: Random): Float32Array {
  const fan = fanIn(weightShape);
  return uniform(weightShape[0], fan > 0 ? 1 / Math.sqrt(fan) : 0, random);
}
