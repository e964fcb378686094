import { describe, expect, it } from 'vitest';
import { crossEntropy, labels, noGrad, scale, tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, rng, useDevice } from './helpers.js';
import { crossEntropyRef } from './reference/cross-entropy.js';

useDevice();

function randomLabels(n: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
}

describe('crossEntropy', () => {
  // Rows past one workgroup (300), one class, many classes (1000), batch 1 and 33.
  const cases: [number, number][] = [[1, 7], [33, 7], [33, 1], [300, 10], [5, 1000]];

  it('loss and GPU gradient match the reference', async () => {
    for (const [rows, classes] of cases) {
      const lv = randomArray(rows * classes, rows + classes, -4, 4);
      const yv = randomLabels(rows, classes, rows * classes);
      const logits = tensor(lv, [rows, classes], { requiresGrad: true });
      const loss = crossEntropy(logits, labels(yv));
      expect(loss.shape).toEqual([]);
      const ref = crossEntropyRef(lv, yv, rows, classes);
      expectClose([await loss.item()], [ref.loss], `loss [${rows},${classes}]`);
      loss.backward();
      expectClose(await logits.grad!.toArray(), ref.grad, `grad [${rows},${classes}]`);
    }
  });

  it('scales the stored gradient by the incoming one on the GPU', async () => {
    const lv = randomArray(33 * 7, 3, -4, 4);
    const yv = randomLabels(33, 7, 4);
    const logits = tensor(lv, [33, 7], { requiresGrad: true });
    scale(crossEntropy(logits, labels(yv)), -2.5).backward();
    expectClose(await logits.grad!.toArray(), crossEntropyRef(lv, yv, 33, 7).grad.map((g) => -2.5 * g), 'scaled grad');
  });

  it('is stable for large logits (log-sum-exp)', async () => {
    const lv = randomArray(33 * 7, 5, -4, 4).map((v, i) => v + (i % 2 ? 1000 : -1000));
    const yv = randomLabels(33, 7, 6);
    const logits = tensor(lv, [33, 7], { requiresGrad: true });
    const loss = crossEntropy(logits, labels(yv));
    const ref = crossEntropyRef(lv, yv, 33, 7);
    expectClose([await loss.item({ checkFinite: true })], [ref.loss], 'loss');
    loss.backward();
    expectClose(await logits.grad!.toArray({ checkFinite: true }), ref.grad, 'grad');
  });

  it('records nothing without gradients, with the same loss', async () => {
    const lv = randomArray(33 * 7, 7, -4, 4);
    const yv = randomLabels(33, 7, 8);
    const logits = tensor(lv, [33, 7], { requiresGrad: true });
    const loss = noGrad(() => crossEntropy(logits, labels(yv)));
    expect(loss.node).toBeNull();
    expectClose([await loss.item()], [crossEntropyRef(lv, yv, 33, 7).loss], 'loss');
  });

  it('rejects out-of-range host labels with the label, its index and the class count', () => {
    const logits = tensor(randomArray(5 * 7, 9), [5, 7]);
    expect(() => crossEntropy(logits, labels([0, 6, 2, 9, 1]))).toThrow(/^crossEntropy: label 9 at index 3 out of range for 7 classes$/);
    expect(() => crossEntropy(logits, labels([0, 1, -1, 2, 3]))).toThrow(/^crossEntropy: label -1 at index 2 out of range for 7 classes$/);
    expect(() => crossEntropy(logits, labels([0, 8, -3, 2, 3]))).toThrow(/^crossEntropy: label 8 at index 1 out of range for 7 classes$/);
    expect(() => labels([0, 1.5])).toThrow(/labels: value 1.5 at index 1 is not an i32 integer/);
  });

  it('makes the loss and that row of the gradient NaN for out-of-range labels the host never saw', async () => {
    for (const bad of [7, -1]) {
      const lv = randomArray(3 * 7, 10, -4, 4);
      const logits = tensor(lv, [3, 7], { requiresGrad: true });
      const loss = crossEntropy(logits, tensor(new Int32Array([0, bad, 2]), [3]));
      expect(Number.isNaN(await loss.item()), `label ${bad}`).toBe(true);
      loss.backward();
      const g = await logits.grad!.toArray();
      for (let j = 0; j < 7; j++) {
        expect(Number.isNaN(g[7 + j]), `row 1 of the gradient, label ${bad}`).toBe(true);
        expect(Number.isFinite(g[j]) && Number.isFinite(g[14 + j])).toBe(true);
      }
    }
  });

  it('rejects bad dtypes and shapes naming the op and shapes', () => {
    const logits = tensor(randomArray(4 * 7, 11), [4, 7]);
    expect(() => crossEntropy(logits, tensor(new Float32Array(4), [4]))).toThrow('crossEntropy: labels must be i32 class indices; got logits f32 [4,7] and labels f32 [4]');
    expect(() => crossEntropy(logits, labels([0, 1, 2]))).toThrow('crossEntropy: logits f32 [4,7] and labels i32 [3] do not match (labels must be [4])');
    expect(() => crossEntropy(logits, tensor(new Int32Array(4), [4, 1]))).toThrow(/do not match \(labels must be \[4\]\)/);
    expect(() => crossEntropy(tensor(randomArray(7, 12), [7]), labels([0]))).toThrow(/crossEntropy: logits must be f32 \[N, classes\]; got logits f32 \[7\]/);
    expect(() => crossEntropy(tensor(new Float32Array(0), [0, 7]), labels([]))).toThrow(/crossEntropy: empty input/);
  });
});

describe('crossEntropy reference', () => {
  it('gradient matches central finite differences', () => {
    for (const [rows, classes] of [[3, 5], [1, 7], [4, 2]]) {
      const x = Float64Array.from(randomArray(rows * classes, 13 + rows, -3, 3));
      const y = randomLabels(rows, classes, 14 + classes);
      const numeric = numericGrad((v) => crossEntropyRef(v, y, rows, classes).loss, x);
      expectClose(crossEntropyRef(x, y, rows, classes).grad, numeric, `[${rows},${classes}]`, 1e-6);
    }
  });
});
