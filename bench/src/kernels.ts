/**
 * Kernel rows: matmul at 1024^3 and at LeNet's fc shapes in the three forms training runs (forward, input
 * gradient, weight gradient), each variant the device has and the tuner's pick; conv2d forward and both
 * backwards at LeNet's conv shapes (batch 64); ReLU and Adam in GB/s. Each beside its ceiling.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { empty, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import type { Ceilings } from './ceilings.js';
import type { Table } from './table.js';
import { calibrated, type TimingOptions } from './timing.js';

export interface KernelResults {
  /** The best matmul GFLOP/s of the run (any variant, any shape), and where. */
  bestMatmul: { gflops: number; name: string };
  /** The tuner's pick at 1024^3. */
  matmul1024: number;
}

interface MatmulCase {
  name: string;
  m: number;
  n: number;
  k: number;
  options: { transA?: boolean; transB?: boolean };
}

/** LeNet's fc layers [in, out] and the three products of a training step at batch `b`. */
function fcCases(b: number): MatmulCase[] {
  const layers: [string, number, number][] = [['fc1', 2704, 120], ['fc2', 120, 84], ['fc3', 84, 7]];
  return layers.flatMap(([name, inF, outF]) => [
    { name: `${name} fwd ${b}x${inF}->${outF}`, m: b, n: outF, k: inF, options: { transB: true } },
    { name: `${name} dx`, m: b, n: inF, k: outF, options: {} },
    { name: `${name} dW`, m: outF, n: inF, k: b, options: { transA: true } },
  ]);
}

const LENET_CONVS: [string, k.Conv2dShape][] = [
  ['conv1 64x3x64x64 k5', { n: 64, c: 3, h: 64, w: 64, o: 6, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 0, padW: 0 }],
  ['conv2 64x6x30x30 k5', { n: 64, c: 6, h: 30, w: 30, o: 16, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 0, padW: 0 }],
];

function scratch(elements: number): Tensor {
  return empty([Math.max(elements, 1)]);
}

export async function measureKernels(table: Table, ceilings: Ceilings, options: { quick: boolean; batch: number }): Promise<KernelResults> {
  const { runner } = runtime();
  const variants = k.matmulVariants(runner.device);
  const timing: TimingOptions = options.quick ? { blocks: 3, budgetMs: 3000 } : { blocks: 5, budgetMs: 8000 };
  let best = { gflops: 0, name: '' };
  let matmul1024 = 0;
  const cases: MatmulCase[] = [{ name: 'matmul 1024^3', m: 1024, n: 1024, k: 1024, options: {} }, ...fcCases(options.batch)];
  for (const c of cases) {
    const a = scratch(c.m * c.k);
    const b = scratch(c.k * c.n);
    const out = scratch(c.m * c.n);
    const flop = 2 * c.m * c.n * c.k;
    const perVariant: Record<string, number> = {};
    for (const variant of variants) {
      // The tiled variant is a GPU kernel: at 1024^3 on a CPU driver it takes seconds a run; --quick skips it.
      if (options.quick && variant === 'tiled' && c.m === 1024) continue;
      const ms = await calibrated(runner, () => k.runMatmulVariant(variant, runner, a.buffer, b.buffer, out.buffer, c.m, c.n, c.k, c.options), timing);
      perVariant[variant] = flop / (ms * 1e6);
      if (perVariant[variant] > best.gflops) best = { gflops: perVariant[variant], name: `${c.name} ${variant}` };
    }
    // The dispatcher, after the tuner has measured this shape: what the library runs.
    k.matmul(runner, a.buffer, b.buffer, out.buffer, c.m, c.n, c.k, c.options);
    await runner.tuner.tunePending();
    const shapeKey = `matmul:${k.matmulTuningShape(c.m, c.n, c.k, k.matmulSpec(c.m, c.n, c.k, c.options))}`;
    const pick = runner.tuner.forcedVariant('matmul') ?? runner.tuner.export()[shapeKey]?.variant ?? '?';
    const ms = await calibrated(runner, () => k.matmul(runner, a.buffer, b.buffer, out.buffer, c.m, c.n, c.k, c.options), timing);
    const gflops = flop / (ms * 1e6);
    if (c.m === 1024) matmul1024 = gflops;
    const note = `pick ${pick}; ${Object.entries(perVariant).map(([v, g]) => `${v} ${g.toFixed(2)}`).join(', ')}`;
    table.add({ section: 'kernel', name: c.name, value: gflops, unit: 'GFLOP/s', fraction: gflops / ceilings.gflops, of: 'FMA', note, data: { m: c.m, n: c.n, k: c.k, ...c.options, pick, variants: perVariant } });
    [a, b, out].forEach((t) => t.dispose());
  }

  for (const [name, shape] of LENET_CONVS) {
    const { oh, ow } = k.conv2dOutputSize(shape);
    const x = scratch(shape.n * shape.c * shape.h * shape.w);
    const w = scratch(shape.o * shape.c * shape.kh * shape.kw);
    const bias = scratch(shape.o);
    const y = scratch(shape.n * shape.o * oh * ow);
    const dx = scratch(x.size);
    const dw = scratch(w.size);
    const partials = scratch(k.conv2dBackwardWeightScratch(shape));
    const flop = 2 * shape.n * shape.o * oh * ow * shape.c * shape.kh * shape.kw;
    const forwardOptions = { bias: bias.buffer, relu: true };
    const perVariant: Record<string, number> = {};
    for (const variant of k.CONV2D_FORWARD_VARIANTS) {
      const ms = await calibrated(runner, () => k.conv2dForwardVariant(runner, variant, x.buffer, w.buffer, y.buffer, shape, forwardOptions), timing);
      perVariant[variant] = flop / (ms * 1e6);
    }
    k.conv2dForward(runner, x.buffer, w.buffer, y.buffer, shape, forwardOptions);
    await runner.tuner.tunePending();
    const pick = runner.tuner.forcedVariant('conv2d') ?? runner.tuner.export()[`conv2d:${k.conv2dTuningShape(shape, forwardOptions)}`]?.variant ?? '?';
    const rows: [string, () => void, string][] = [
      ['fwd+bias+relu', () => k.conv2dForward(runner, x.buffer, w.buffer, y.buffer, shape, forwardOptions), `pick ${pick}; ${Object.entries(perVariant).map(([v, g]) => `${v} ${g.toFixed(2)}`).join(', ')}`],
      ['dx', () => k.conv2dBackwardInput(runner, y.buffer, w.buffer, dx.buffer, shape), 'register kernel, transposed'],
      ['dW', () => k.conv2dBackwardWeight(runner, x.buffer, y.buffer, dw.buffer, partials.buffer, shape), 'split reduction, 2 passes'],
    ];
    for (const [form, record, note] of rows) {
      const ms = await calibrated(runner, record, timing);
      const gflops = flop / (ms * 1e6);
      table.add({ section: 'kernel', name: `${name} ${form}`, value: gflops, unit: 'GFLOP/s', fraction: gflops / ceilings.gflops, of: 'FMA', note, data: { shape, form, ...(form.startsWith('fwd') ? { pick, variants: perVariant } : {}) } });
    }
    [x, w, bias, y, dx, dw, partials].forEach((t) => t.dispose());
  }

  // Memory-bound kernels: ReLU at conv1's output size (batch 64) and Adam at fc1's weight size, and both at
  // the copy ceiling's 16M elements. Bytes are those read plus written.
  for (const n of [64 * 6 * 60 * 60, 16 * 1024 * 1024]) {
    const x = scratch(n);
    const y = scratch(n);
    const ms = await calibrated(runner, () => k.relu(runner, x.buffer, y.buffer, n), timing);
    const gbs = (8 * n) / (ms * 1e6);
    table.add({ section: 'kernel', name: `relu ${n.toLocaleString('en')} floats`, value: gbs, unit: 'GB/s', fraction: gbs / ceilings.gbs, of: 'copy', data: { n } });
    [x, y].forEach((t) => t.dispose());
  }
  const scalars = tensor(Float32Array.from(k.adamScalars({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, 1)));
  for (const n of [120 * 2704, 4 * 1024 * 1024]) {
    const [p, g, m, v] = [0, 1, 2, 3].map(() => tensor(new Float32Array(n)));
    const ms = await calibrated(runner, () => k.adam(runner, scalars.buffer, 0, p.buffer, g.buffer, m.buffer, v.buffer, null, n), timing);
    // Reads p, g, m, v; writes p, m, v.
    const gbs = (28 * n) / (ms * 1e6);
    table.add({ section: 'kernel', name: `adam ${n.toLocaleString('en')} params`, value: gbs, unit: 'GB/s', fraction: gbs / ceilings.gbs, of: 'copy', note: '7 floats moved per param', data: { n } });
    [p, g, m, v].forEach((t) => t.dispose());
  }
  scalars.dispose();
  return { bestMatmul: best, matmul1024 };
}
