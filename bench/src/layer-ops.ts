/**
 * The zoo's layer kernels beside the ReLU kernel, timed in the same run at a CIFAR-style ResNet's activation
 * sizes: BatchNorm forward (training: batch statistics, then the normalisation) and backward (both per-channel
 * sums, then the input gradient) in GB/s; the residual sum's fused addRelu against add then relu, forward and
 * forward + backward through autograd. Bytes are those the kernels read plus write. Rows that are compared
 * are timed in turns, best of rounds: the host's load moves between rows, and one turn sees it alike for all.
 */
import * as k from '@sparsenet/kernels-wgsl';
import type { KernelRunner } from '@sparsenet/kernels-wgsl';
import { add, addRelu, beginScope, empty, relu, runtime, tensor, type Tensor } from '@sparsenet/tensor';
import type { Ceilings } from './ceilings.js';
import type { Table } from './table.js';
import { calibrated, type TimingOptions } from './timing.js';

/** [N, C, H, W]: a ResNet's first stage at batch 64, and its last stage at batch 128. */
const SHAPES: [number, number, number, number][] = [[64, 16, 32, 32], [128, 64, 8, 8]];

/** calibrated() of each workload in turn, `rounds` times; the best of each, in milliseconds per run. */
export async function inTurns(runner: KernelRunner, workloads: Record<string, () => void>, timing: TimingOptions, rounds: number): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(workloads)) best[name] = Math.min(best[name] ?? Infinity, await calibrated(runner, run, timing));
  }
  return best;
}

/** Adds the rows, then a note saying whether BatchNorm reached the ReLU kernel's GB/s (the zoo issue's bar). */
export async function measureLayerOps(table: Table, ceilings: Ceilings, options: { quick: boolean }): Promise<void> {
  const { runner } = runtime();
  const timing: TimingOptions = options.quick ? { blocks: 3, budgetMs: 2000 } : { blocks: 5, budgetMs: 4000 };
  const rounds = options.quick ? 2 : 3;
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

    const sum = empty([size]);
    const operand = (requiresGrad: boolean) => tensor(new Float32Array(size).fill(0.5), [n, c, h, w], { requiresGrad });
    const [a, b, g] = [operand(true), operand(true), operand(false)];
    const step = (f: (a: Tensor, b: Tensor) => Tensor) => () => {
      const scope = beginScope();
      f(a, b).backward(g);
      scope.end();
      for (const t of [a, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    };
    const ms = await inTurns(runner, {
      relu: () => k.relu(runner, x.buffer, y.buffer, size),
      // Training forward: the statistics, then the normalisation.
      batchNormForward: () => {
        k.batchNormStatistics(runner, x.buffer, stats.buffer, runningMean.buffer, runningVar.buffer, null, shape, { momentum: 0.1, eps: 1e-5 });
        k.batchNormNormalize(runner, x.buffer, stats.buffer, weight.buffer, bias.buffer, y.buffer, shape);
      },
      batchNormBackward: () => {
        k.batchNormBackwardReduce(runner, x.buffer, dy.buffer, stats.buffer, gradWeight.buffer, gradBias.buffer, shape);
        k.batchNormBackwardInput(runner, x.buffer, dy.buffer, stats.buffer, weight.buffer, gradWeight.buffer, gradBias.buffer, y.buffer, shape);
      },
      addReluForward: () => k.addRelu(runner, x.buffer, dy.buffer, y.buffer, size),
      addThenReluForward: () => {
        k.binary(runner, 'add', x.buffer, dy.buffer, sum.buffer, size);
        k.relu(runner, sum.buffer, y.buffer, size);
      },
      addReluStep: step(addRelu),
      addThenReluStep: step((p, q) => relu(add(p, q))),
    }, timing, rounds);

    const reluGbs = gbs(8 * size, ms.relu);
    table.add({ section: 'layers', name: `relu ${name}`, value: reluGbs, unit: 'GB/s', fraction: reluGbs / ceilings.gbs, of: 'copy', note: 'the bar for BatchNorm' });
    // Statistics read x; the normalisation reads x and writes y.
    const forward = gbs(12 * size, ms.batchNormForward);
    table.add({ section: 'layers', name: `batchnorm train fwd ${name}`, value: forward, unit: 'GB/s', fraction: forward / reluGbs, of: 'relu', note: `${ms.batchNormForward.toFixed(2)} ms; 2 kernels, 3 floats moved per element` });
    // The sums read x and dy; the input gradient reads x and dy and writes dx.
    const backward = gbs(20 * size, ms.batchNormBackward);
    table.add({ section: 'layers', name: `batchnorm train bwd ${name}`, value: backward, unit: 'GB/s', fraction: backward / reluGbs, of: 'relu', note: `${ms.batchNormBackward.toFixed(2)} ms; 2 kernels, 5 floats moved per element` });
    if (forward < reluGbs) missed.push(`forward ${name}`);
    if (backward < reluGbs) missed.push(`backward ${name}`);
    table.add({ section: 'layers', name: `addRelu fwd ${name}`, value: ms.addThenReluForward / ms.addReluForward, unit: 'x', note: `fused ${ms.addReluForward.toFixed(2)} ms, add then relu ${ms.addThenReluForward.toFixed(2)} ms` });
    table.add({ section: 'layers', name: `addRelu fwd+bwd ${name}`, value: ms.addThenReluStep / ms.addReluStep, unit: 'x', note: `fused ${ms.addReluStep.toFixed(2)} ms, add then relu ${ms.addThenReluStep.toFixed(2)} ms (ops, autograd)` });
    [x, dy, y, sum, weight, bias, runningMean, runningVar, gradWeight, gradBias, stats, a, b, g].forEach((t) => t.dispose());
  }
  table.note(`target: BatchNorm forward and backward at least the ReLU kernel's GB/s: ${missed.length ? `missed (${missed.join(', ')})` : 'met'}`);
}
