import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { add, addRelu, empty, noGrad, relu, runtime, tensor } from '@sparsenet/tensor';
import { expectClose, numericGrad, randomArray, useDevice } from './helpers.js';
import { addReluBackwardRef, addReluRef } from './reference/add-relu.js';

useDevice();

// Batch 1 and 33 at odd sizes, and a flat size past one workgroup.
const SHAPES = [[1, 3, 13, 17], [33, 5, 7, 9], [1000]];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe('addRelu reference', () => {
  it('backward matches central finite differences away from the kink', () => {
    const a = Float64Array.from(randomArray(40, 1));
    // b keeps every sum at least 0.05 from zero, so a 1e-6 step never crosses the kink.
    const b = Float64Array.from(randomArray(40, 2), (v, i) => (Math.abs(a[i] + v) < 0.05 ? v + 0.1 : v));
    const dy = randomArray(40, 3);
    const loss = () => addReluRef(a, b).reduce((sum, v, i) => sum + v * dy[i], 0);
    const ref = addReluBackwardRef(a, b, dy);
    expectClose(ref, numericGrad(loss, a), 'da', 1e-6, 1e-7);
    expectClose(ref, numericGrad(loss, b), 'db', 1e-6, 1e-7);
    expect(ref.some((v) => v === 0) && ref.some((v) => v !== 0)).toBe(true);
  });
});

describe('addRelu', () => {
  it('kernel matches the reference', async () => {
    for (const [si, shape] of SHAPES.entries()) {
      const [av, bv] = [randomArray(size(shape), 10 + si), randomArray(size(shape), 20 + si)];
      const out = empty(shape);
      k.addRelu(runtime().runner, tensor(av, shape).buffer, tensor(bv, shape).buffer, out.buffer, out.size);
      expectClose(await out.toArray(), addReluRef(av, bv), `[${shape}]`);
    }
  });

  it('op: forward and GPU backward match the reference, and equal relu(add(a, b)) bit for bit', async () => {
    for (const [si, shape] of SHAPES.entries()) {
      const [av, bv, dy] = [randomArray(size(shape), 30 + si), randomArray(size(shape), 40 + si), randomArray(size(shape), 50 + si)];
      const [a, b] = [tensor(av, shape, { requiresGrad: true }), tensor(bv, shape, { requiresGrad: true })];
      const y = addRelu(a, b);
      expectClose(await y.toArray(), addReluRef(av, bv), `y [${shape}]`);
      y.backward(tensor(dy, shape));
      const want = addReluBackwardRef(av, bv, dy);
      expectClose(await a.grad!.toArray(), want, `da [${shape}]`);
      expectClose(await b.grad!.toArray(), want, `db [${shape}]`);

      const [a2, b2] = [tensor(av, shape, { requiresGrad: true }), tensor(bv, shape, { requiresGrad: true })];
      const unfused = relu(add(a2, b2));
      expect(Array.from(await y.toArray())).toEqual(Array.from(await unfused.toArray()));
      unfused.backward(tensor(dy, shape));
      expect(Array.from(await a.grad!.toArray())).toEqual(Array.from(await a2.grad!.toArray()));
      expect(Array.from(await b.grad!.toArray())).toEqual(Array.from(await b2.grad!.toArray()));
    }
  });

  it('gives a gradient only to inputs that require it, and twice to an input used twice', async () => {
    const shape = [2, 3, 5, 7];
    const [av, bv, dy] = [randomArray(size(shape), 60), randomArray(size(shape), 61), randomArray(size(shape), 62)];
    const a = tensor(av, shape, { requiresGrad: true });
    const b = tensor(bv, shape);
    addRelu(a, b).backward(tensor(dy, shape));
    expectClose(await a.grad!.toArray(), addReluBackwardRef(av, bv, dy), 'da');
    expect(b.grad).toBeNull();
    const x = tensor(av, shape, { requiresGrad: true });
    addRelu(x, x).backward(tensor(dy, shape));
    expectClose(await x.grad!.toArray(), addReluBackwardRef(av, av, dy).map((g) => 2 * g), 'dx of addRelu(x, x)');
    expect(noGrad(() => addRelu(x, x)).node).toBeNull();
  });

  it('rejects bad input naming the op and shapes', () => {
    expect(() => addRelu(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(6), [3, 2]))).toThrow('addRelu: shapes [2,3], [3,2] differ');
    expect(() => addRelu(tensor(new Int32Array(2), [2]), tensor(new Float32Array(2), [2]))).toThrow('addRelu: needs f32 tensors, got i32 [2] and f32 [2]');
  });
});
