import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { empty, runtime, tensor } from '@sparsenet/tensor';
import { expectClose, randomArray, useDevice } from './helpers.js';
import { sumAxesRef } from './reference/sum-axes.js';

useDevice();

// [outer, channels, inner]: single element, batch 1 and 33, conv-like planes (13*17), linear-like (inner 1),
// and totals below, at and past the 256-thread workgroup.
const SHAPES: [number, number, number][] = [[1, 1, 1], [1, 6, 221], [33, 6, 221], [33, 10, 1], [1, 3, 256], [7, 5, 257], [3, 300, 1], [2, 1, 70001]];

describe('sumAxes kernel', () => {
  it('plain and accumulate match the reference on odd shapes', async () => {
    const { runner } = runtime();
    for (const [si, [outer, channels, inner]] of SHAPES.entries()) {
      const what = `[${outer},${channels},${inner}]`;
      const xv = randomArray(outer * channels * inner, 10 + si);
      const x = tensor(xv, [outer, channels, inner]);
      const ref = sumAxesRef(xv, outer, channels, inner);

      const out = empty([channels]);
      k.sumAxes(runner, x.buffer, out.buffer, outer, channels, inner);
      expectClose(await out.toArray(), ref, `plain ${what}`);

      const initial = randomArray(channels, 20 + si);
      const acc = tensor(initial, [channels]);
      k.sumAxes(runner, x.buffer, acc.buffer, outer, channels, inner, true);
      expectClose(await acc.toArray(), ref.map((v, c) => v + initial[c]), `accumulate ${what}`);
    }
  });

  it('refuses more channels than one grid dimension holds', () => {
    const { runner } = runtime();
    const x = empty([4]);
    expect(() => k.sumAxes(runner, x.buffer, x.buffer, 1, 70000, 1)).toThrow('sum_axes: 70000 channels exceed one grid dimension');
  });
});
