/**
 * Issue 5's targets, checked against this run's numbers; a missed one prints its gap and, once, the
 * profile's top kernels (where the time goes).
 */
import type { Ceilings } from './ceilings.js';
import type { KernelResults } from './kernels.js';
import type { KernelProfile } from './lenet.js';
import type { OurWorkload } from './workloads.js';
import type { SparsityResults } from './sparsity.js';
import type { Table, WorkloadRow } from './table.js';

export interface TargetInputs {
  ceilings: Ceilings;
  kernels: KernelResults | null;
  ours: OurWorkload[];
  profile: KernelProfile | null;
  workloads: WorkloadRow[];
  sparsity: SparsityResults | null;
  trainFlopPerImage: number;
}

interface Target {
  name: string;
  /** Measured value and the bar it must reach (both in the same unit, higher is better). */
  value: number;
  bar: number;
  unit: string;
}

export function reportTargets(table: Table, inputs: TargetInputs): void {
  const targets: Target[] = [];
  for (const w of inputs.workloads) {
    if (w.ratio !== null && (w.workload === 'infer' || w.batch === 32 || w.batch === 128)) {
      targets.push({ name: `${w.workload} b${w.batch}: sparsenet / TF.js webgpu >= 5x`, value: w.ratio, bar: 5, unit: 'x' });
    }
  }
  if (inputs.kernels) {
    targets.push({ name: 'matmul 1024^3 >= 50% of the FMA ceiling', value: inputs.kernels.matmul1024 / inputs.ceilings.gflops, bar: 0.5, unit: 'of FMA' });
    const train = inputs.ours.find((o) => o.workload === 'train' && o.batch === 128);
    if (train) {
      const gflops = (train.timing.imagesPerSecond * inputs.trainFlopPerImage) / 1e9;
      targets.push({ name: 'LeNet step b128 >= 50% of the best matmul', value: gflops / inputs.kernels.bestMatmul.gflops, bar: 0.5, unit: 'of best matmul' });
    }
  }
  for (const o of inputs.ours) {
    const c = o.timing.counts;
    targets.push({ name: `${o.workload} b${o.batch}: no buffer, pipeline or readback in the loop`, value: -(c.buffersCreated + c.pipelinesCreated + c.readbacks), bar: 0, unit: 'created/read' });
  }
  for (const s of inputs.sparsity?.structured ?? []) {
    targets.push({ name: `structured ${(100 * s.fraction).toFixed(0)}% compacted >= 80% of theoretical speedup`, value: s.speedup / s.theoretical, bar: 0.8, unit: 'of theoretical' });
  }
  const u95 = inputs.sparsity?.unstructured.find((u) => Math.abs(u.sparsity - 0.95) < 1e-9);
  if (u95) targets.push({ name: 'unstructured 95% faster than dense', value: u95.speedup, bar: 1, unit: 'x dense' });

  table.note('');
  table.note('targets (issue 5):');
  const missed = targets.filter((t) => !(t.value >= t.bar));
  for (const t of targets) {
    const ok = t.value >= t.bar;
    const shown = t.unit === 'created/read' ? `${-t.value}` : t.unit.startsWith('of') ? `${(100 * t.value).toFixed(0)}% ${t.unit}` : `${t.value.toFixed(2)} ${t.unit}`;
    const gap = ok ? '' : t.unit === 'created/read' ? '' : t.unit.startsWith('of') ? `  (gap: ${(100 * (t.bar - t.value)).toFixed(0)} points)` : `  (gap: needs ${(t.bar / t.value).toFixed(2)}x more)`;
    table.note(`  ${ok ? 'met   ' : 'MISSED'} ${t.name}: ${shown}${gap}`);
  }
  if (missed.length && inputs.profile) {
    table.note(`  where a training step's time goes (${inputs.profile.source}, top kernels):`);
    for (const k of inputs.profile.kernels.slice(0, 5)) {
      table.note(`    ${(100 * k.ms / inputs.profile.totalMs).toFixed(0).padStart(3)}%  ${k.ms.toFixed(2).padStart(8)} ms  ${k.count}x ${k.key}`);
    }
  }
}
