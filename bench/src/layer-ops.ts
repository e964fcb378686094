/**
 * The zoo's layer kernels beside the ReLU kernel, timed in the same run at a CIFAR-style ResNet's activation
 * sizes: BatchNorm forward (training: batch statistics, then the normalisation) and backward (both per-channel
 * sums, then the input gradient) in GB/s; the residual sum's fused addRelu against add then relu, forward and
 * forward + backward through autograd. Bytes are those the kernels read plus write.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { add, addRelu, beginScope, empty, relu, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import type { Ceilings } from './ceilings.js';
import type { Table } from './table.js';
import { calibrated, type TimingOptions } from './timing.js';

/** [N, C, H, W]: a ResNet's first stage at batch 64, and its last stage at batch 128. */
const SHAPES: [number, number, number, number][] = [[64, 16, 32, 32], [128, 64, 8, 8]];

/** Adds the rows, then a note saying whether BatchNorm reached the ReLU kernel's GB/s (the zoo issue's bar). */
export async function measureLayerOps(table: Table, ceilings: Ceilings, options: { quick: boolean }): Promise<void> {
  const { runner } = runtime();
  const timing: TimingOptions = options.quick ? { blocks: 3, budgetMs: 3000 } : { blocks: 5, budgetMs: 8000 };
  const missed: string[] = [];
  const gbs = (bytes: number, ms: number) => bytes / (ms * 1e6);
  for (const [n, c, h, w] of SHAPES) {
    const size = n * c * h * w;
    const shape = { images: n, channels: c, plane: h * w };
    const name = `[${n},${c},${h},${w}]`;
    const x = empty([size]);
    const dy = empty([size]);
    const y = empty([size]);
    const perChannel = () => tensor(new Float32Array(c).fill(1), [c]);
    const [weight, bias, runningMean, runningVar, gradWeight, gradBias] = [0, 1, 2, 3, 4, 5].map(perChannel);
    const stats = tensor(new Float32Array(2 * c).fill(1), [c, 2]);
    runner.write(x.buffer, 0, new Float32Array(size).fill(0.5));
    runner.write(dy.buffer, 0, new Float32Array(size).fill(0.25));

    const reluMs = await calibrated(runner, () => k.relu(runner, x.buffer, y.buffer, size), timing);
    const reluGbs = gbs(8 * size, reluMs);
    table.add({ section: 'layers', name: `relu ${name}`, value: reluGbs, unit: 'GB/s', fraction: reluGbs / ceilings.gbs, of: 'copy', note: 'the bar for BatchNorm' });

    const forwardMs = await calibrated(runner, () => {
      k.batchNormStatistics(runner, x.buffer, stats.buffer, runningMean.buffer, runningVar.buffer, null, shape, { momentum: 0.1, eps: 1e-5 });
      k.batchNormNormalize(runner, x.buffer, stats.buffer, weight.buffer, bias.buffer, y.buffer, shape);
    }, timing);
    // Statistics read x; the normalisation reads x and writes y.
    const forward = gbs(12 * size, forwardMs);
    table.add({ section: 'layers', name: `batchnorm train fwd ${name}`, value: forward, unit: 'GB/s', fraction: forward / reluGbs, of: 'relu', note: `${forwardMs.toFixed(2)} ms; 2 kernels, 3 floats moved per element` });

    const backwardMs = await calibrated(runner, () => {
      k.batchNormBackwardReduce(runner, x.buffer, dy.buffer, stats.buffer, gradWeight.buffer, gradBias.buffer, shape);
      k.batchNormBackwardInput(runner, x.buffer, dy.buffer, stats.buffer, weight.buffer, gradWeight.buffer, gradBias.buffer, y.buffer, shape);
    }, timing);
    // The sums read x and dy; the input gradient reads x and dy and writes dx.
    const backward = gbs(20 * size, backwardMs);
    table.add({ section: 'layers', name: `batchnorm train bwd ${name}`, value: backward, unit: 'GB/s', fraction: backward / reluGbs, of: 'relu', note: `${backwardMs.toFixed(2)} ms; 2 kernels, 5 floats moved per element` });
    if (forward < reluGbs) missed.push(`forward ${name}`);
    if (backward < reluGbs) missed.push(`backward ${name}`);

    const fusedForward = await calibrated(runner, () => k.addRelu(runner, x.buffer, dy.buffer, y.buffer, size), timing);
    const sum = empty([size]);
    const unfusedForward = await calibrated(runner, () => {
      k.binary(runner, 'add', x.buffer, dy.buffer, sum.buffer, size);
      k.relu(runner, sum.buffer, y.buffer, size);
    }, timing);
    sum.dispose();
    table.add({ section: 'layers', name: `addRelu fwd ${name}`, value: unfusedForward / fusedForward, unit: 'x', note: `fused ${fusedForward.toFixed(2)} ms, add then relu ${unfusedForward.toFixed(2)} ms` });
    const [a, b, g] = [x, dy, y].map((t) => tensor(new Float32Array(size).fill(0.5), [n, c, h, w], { requiresGrad: t !== y }));
    const step = (f: (a: Tensor, b: Tensor) => Tensor) => () => {
      const scope = beginScope();
      f(a, b).backward(g);
      scope.end();
      for (const t of [a, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    };
    const fused = await calibrated(runner, step(addRelu), timing);
    const unfused = await calibrated(runner, step((p, q) => relu(add(p, q))), timing);
    table.add({ section: 'layers', name: `addRelu fwd+bwd ${name}`, value: unfused / fused, unit: 'x', note: `fused ${fused.toFixed(2)} ms, add then relu ${unfused.toFixed(2)} ms (ops, autograd)` });
    [x, dy, y, weight, bias, runningMean, runningVar, gradWeight, gradBias, stats, a, b, g].forEach((t) => t.dispose());
  }
  table.note(`target: BatchNorm forward and backward at least the ReLU kernel's GB/s: ${missed.length ? `missed (${missed.join(', ')})` : 'met'}`);
}
