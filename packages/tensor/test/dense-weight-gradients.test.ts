import { describe, expect, it } from 'vitest';
import { conv2d, crossEntropy, denseWeightGradients, flatten, labels, linear, scoped, tensor, type Tensor } from '@sparsenet/tensor';
import { expectClose, randomArray, useDevice } from './helpers.js';

useDevice();

const convShape = [5, 3, 3, 3];
const fcShape = [4, 5 * 4 * 4];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const maskOf = (n: number, seed: number) => Float32Array.from(randomArray(n, seed), (v) => (v < -0.2 ? 0 : 1));

/** Gradients of conv -> linear -> cross-entropy on fixed data; masks given or left out. */
async function gradients(wConv: Float32Array, wFc: Float32Array, masks: [Float32Array, Float32Array] | null, dense: boolean): Promise<Float32Array[]> {
  return scoped(async () => {
    const x = tensor(randomArray(2 * 3 * 6 * 6, 11), [2, 3, 6, 6]);
    const y = labels(new Int32Array([1, 3]));
    const a = tensor(wConv, convShape, { requiresGrad: true });
    const b = tensor(wFc, fcShape, { requiresGrad: true });
    const [ma, mb]: (Tensor | null)[] = masks ? [tensor(masks[0], convShape), tensor(masks[1], fcShape)] : [null, null];
    const run = () => crossEntropy(linear(flatten(conv2d(x, a, null, { mask: ma })), b, null, { mask: mb }), y).backward();
    if (dense) denseWeightGradients(run);
    else run();
    return [(await a.grad!.toArray()) as Float32Array, (await b.grad!.toArray()) as Float32Array];
  });
}

describe('denseWeightGradients', () => {
  const wConv = randomArray(size(convShape), 1);
  const wFc = randomArray(size(fcShape), 2);
  const masks: [Float32Array, Float32Array] = [maskOf(size(convShape), 3), maskOf(size(fcShape), 4)];
  const effective = [wConv.map((v, i) => v * masks[0][i]), wFc.map((v, i) => v * masks[1][i])];

  it('gives masked layers the gradient of the effective weight w * mask, pruned entries included', async () => {
    const dense = await gradients(wConv, wFc, masks, true);
    const unmasked = await gradients(effective[0], effective[1], null, false);
    dense.forEach((g, i) => expectClose(g, unmasked[i], `dense gradient of layer ${i}`));
    // The pruned entries' gradients are really there (not all zero).
    const pruned = dense.flatMap((g, i) => [...g].filter((_, j) => masks[i][j] === 0));
    expect(pruned.some((v) => Math.abs(v) > 1e-6)).toBe(true);
  });

  it('leaves the ordinary mode masked, and is off again after the call', async () => {
    const dense = await gradients(wConv, wFc, masks, true);
    const masked = await gradients(wConv, wFc, masks, false);
    masked.forEach((g, i) => expectClose(g, dense[i].map((v, j) => v * masks[i][j]), `masked gradient of layer ${i}`));
    masked.forEach((g, i) => expect([...g].every((v, j) => masks[i][j] !== 0 || v === 0)).toBe(true));
  });
});
