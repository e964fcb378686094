/**
 * N:M sparsity at inference: one layer's forward on dense kernels (the masked weight w * mask as a plain dense
 * weight), on the CSR kernels (the same nonzeros, forced onto the sparse variant) and on the packed N:M kernels
 * (values plus 2-bit indices), for LeNet's fc1 and fc2 and a ResNet 3x3 conv, at batch 1 and 256, with a 2:4
 * mask chosen by magnitude on seeded weights. Each layer's three rows are timed in turns (best of rounds) and
 * reported as a speedup over dense measured in the same run. 2:4 halves the multiply-adds and the weight loads;
 * WebGPU exposes no sparse tensor cores, so any gain is that of fewer loads and FMAs on ordinary lanes.
 */
import { nmMask, type PrunableLayer } from '@sparsenet/sparsenet';
import { MATMUL_NM_LAYOUTS, matmulNmDefaultLayout } from '@sparsenet/kernels-wgsl';
import { beginScope, conv2d, linear, nmConv2d, nmLinear, nmWeight, noGrad, Random, runtime, sparseConv2d, sparseConv2dWeight, sparseLinear, sparseLinearWeight, tensor, type Tensor } from '@sparsenet/tensor';
import { inTurns } from './layer-ops.js';
import type { Table } from './table.js';
import type { TimingOptions } from './timing.js';

const PATTERN = { n: 2, m: 4 };
const BATCHES = [1, 256];

interface NmLayer {
  name: string;
  /** [out, in] or [out, in, 3, 3]. */
  shape: number[];
  /** The input of one image: [in] or [c, h, w]. */
  input: number[];
}

/** LeNet's fc1 and fc2 (64x64 input), and a CIFAR ResNet's last-stage 3x3 conv (64 channels on 8x8, padding 1). */
const LAYERS: NmLayer[] = [
  { name: 'LeNet fc1', shape: [120, 2704], input: [2704] },
  { name: 'LeNet fc2', shape: [84, 120], input: [120] },
  { name: 'ResNet conv 3x3', shape: [64, 64, 3, 3], input: [64, 8, 8] },
];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export async function measureNm(table: Table, options: { quick: boolean }): Promise<void> {
  const { runner } = runtime();
  const timing: TimingOptions = options.quick ? { blocks: 3, budgetMs: 1500 } : { blocks: 5, budgetMs: 3000 };
  const rounds = options.quick ? 2 : 3;
  const random = new Random(13);
  for (const layer of LAYERS) {
    const weight = Float32Array.from({ length: size(layer.shape) }, () => random.uniform(-1, 1));
    const pruned: PrunableLayer = { name: layer.name, kind: layer.shape.length === 4 ? 'conv' : 'linear', shape: layer.shape, weight, mask: new Float32Array(weight.length).fill(1) };
    const mask = nmMask(pruned, PATTERN);
    const effective = weight.map((w, i) => (mask[i] ? w : 0));
    const conv = layer.shape.length === 4;
    const [o, c, kh, kw] = layer.shape;
    const dense = tensor(effective, layer.shape);
    const bias = tensor(Float32Array.from({ length: o }, () => random.uniform(-1, 1)));
    const csr = conv ? sparseConv2dWeight(weight, [o, c, kh, kw], mask) : sparseLinearWeight(weight, [o, c], mask);
    const packed = nmWeight(weight, layer.shape, PATTERN, mask, layer.name);
    const bytes = {
      dense: 4 * weight.length,
      csr: 4 * (csr.starts.size + csr.entries.size),
      nm: 4 * (packed.values.size + packed.indices.size),
    };
    try {
      for (const batch of BATCHES) {
        const x = tensor(Float32Array.from({ length: batch * size(layer.input) }, () => random.uniform(-1, 1)), [batch, ...layer.input]);
        // Linear layers: the N:M kernel in both its layouts (the default picks one by batch size).
        const forward: Record<string, () => Tensor> = conv
          ? {
              dense: () => conv2d(x, dense, bias, { padding: 1, activation: 'relu' }),
              CSR: () => sparseConv2d(x, csr as ReturnType<typeof sparseConv2dWeight>, bias, { padding: 1, activation: 'relu' }),
              '2:4 packed': () => nmConv2d(x, packed, bias, { padding: 1, activation: 'relu' }),
            }
          : {
              dense: () => linear(x, dense, bias, { activation: 'relu' }),
              CSR: () => sparseLinear(x, csr as ReturnType<typeof sparseLinearWeight>, bias, { activation: 'relu' }),
              ...Object.fromEntries(MATMUL_NM_LAYOUTS.map((layout) => [`2:4 packed ${layout}${layout === matmulNmDefaultLayout(batch) ? ' (default)' : ''}`, () => nmLinear(x, packed, bias, { activation: 'relu', layout })])),
            };
        const run = (f: () => Tensor) => () => {
          const scope = beginScope();
          noGrad(f);
          scope.end();
        };
        runner.tuner.force({ sparse_linear: 'sparse', sparse_conv2d: 'sparse' });
        try {
          // The dense ops' own tuner picks their variant first, so that the timed runs use its choice.
          Object.values(forward).forEach((f) => run(f)());
          await runner.tuner.tunePending();
          const ms = await inTurns(runner, Object.fromEntries(Object.entries(forward).map(([format, f]) => [format, run(f)])), timing, rounds);
          const what = `${layer.name} [${layer.shape}] b${batch}`;
          table.add({ section: 'nm', name: `${what} dense`, value: ms.dense, unit: 'ms', note: `masked weight on the dense kernels; weight ${(bytes.dense / 1024).toFixed(0)} KiB`, data: { layer: layer.name, batch, format: 'dense', ms: ms.dense, weightBytes: bytes.dense } });
          for (const format of Object.keys(forward).filter((f) => f !== 'dense')) {
            const speedup = ms.dense / ms[format];
            const weightBytes = format === 'CSR' ? bytes.csr : bytes.nm;
            table.add({
              section: 'nm', name: `${what} ${format}`, value: speedup, unit: 'x dense',
              note: `${ms[format].toFixed(3)} ms (dense ${ms.dense.toFixed(3)}); weight ${(weightBytes / 1024).toFixed(0)} KiB`,
              data: { layer: layer.name, batch, format, ms: ms[format], denseMs: ms.dense, speedup, weightBytes },
            });
          }
        } finally {
          runner.tuner.force({});
          x.dispose();
        }
      }
    } finally {
      [dense, bias, csr, packed].forEach((t) => t.dispose());
    }
  }
}
