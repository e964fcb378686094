import { describe, expect, it } from 'vitest';
import { beginScope, conv2d, crossEntropy, flatten, labels, linear, maxPool2d, memory, nn, optim, runtime, tensor } from '@sparsenet/tensor';
import { randomArray, rng, useDevice } from './helpers.js';

useDevice();

describe('a long training loop', () => {
  it('holds constant GPU memory and creates no buffer after warm-up (1,000 steps of a small conv net)', async () => {
    const conv = new nn.Conv2d(3, 4, 3, { seed: 1 });
    const fc = new nn.Linear(4 * 5 * 5, 5, { seed: 2 });
    // A mask on the conv weight, as SparseNet has, so the masked kernels and masked Adam are in the loop too.
    const mask = tensor(Float32Array.from(randomArray(conv.weight.size, 3), (v) => (v > 0 ? 1 : 0)), conv.weight.shape);
    const adam = new optim.Adam([{ param: conv.weight, mask }, conv.bias!, fc.weight, fc.bias!], { lr: 1e-3, weightDecay: 1e-4 });
    const r = rng(4);
    const batch = 8;
    const x = randomArray(batch * 3 * 12 * 12, 5);
    const y = Int32Array.from({ length: batch }, () => Math.floor(r() * 5));
    const snapshots = new Map<number, ReturnType<typeof memory>>();
    const dispatchesBefore = runtime().runner.counters.dispatches;
    for (let step = 1; step <= 1000; step++) {
      const scope = beginScope();
      // Odd steps pool inside the conv op (as LeNet does), even steps after it.
      const input = tensor(x, [batch, 3, 12, 12]);
      const h = step % 2
        ? conv2d(input, conv.weight, conv.bias, { mask, activation: 'relu', maxPool: 2 })
        : maxPool2d(conv2d(input, conv.weight, conv.bias, { mask, activation: 'relu' }), 2);
      const loss = crossEntropy(linear(flatten(h), fc.weight, fc.bias), labels(y));
      loss.backward();
      adam.step();
      adam.zeroGrad();
      scope.end();
      if (step === 10 || step === 1000) snapshots.set(step, memory());
    }
    const at10 = snapshots.get(10)!;
    const at1000 = snapshots.get(1000)!;
    expect(at1000.liveBytes).toBe(at10.liveBytes);
    expect(at1000.liveBuffers).toBe(at10.liveBuffers);
    expect(at1000.pooledBytes).toBe(at10.pooledBytes);
    expect(at1000.buffersCreated).toBe(at10.buffersCreated);
    expect(runtime().runner.counters.dispatches - dispatchesBefore).toBeGreaterThan(1000 * 10);
    // The run really trained, and masked weights stayed exactly zero.
    const w = await conv.weight.toArray();
    const m = await mask.toArray();
    expect(Array.from(w).every((v, i) => m[i] !== 0 || v === 0)).toBe(true);
  });
});
