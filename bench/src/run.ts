/**
 * `npm run bench`: our kernels and LeNet training and inference against ceilings measured in the same run and
 * against the peers a user would pick instead (TensorFlow.js WebGPU on the same adapter, its wasm backend,
 * PyTorch on the CPU), then what pruning buys in inference time; first, what compiling the kernels costs a
 * fresh machine. One table, optionally written as JSON.
 */
import { writeFileSync } from 'node:fs';
import { LeNet } from '@sparsenet/sparsenet';
import { getDevice, getDeviceInfo, runtime } from '@sparsenet/tensor';
import { parseBenchArgs, type BenchArgs } from './args.js';
import { measureCeilings, type Ceilings } from './ceilings.js';
import { measureColdCompile } from './cold-compile.js';
import { measureKernels, type KernelResults } from './kernels.js';
import { measureLayerOps } from './layer-ops.js';
import { profileTrainingStep, syntheticBatch, timeInference, timeTraining, type KernelProfile, type StepCounts, type WorkloadTiming } from './lenet.js';
import { measurePeers, type PeerResults } from './peers.js';
import { measureSparsity, type SparsityResults } from './sparsity.js';
import { measureNm } from './nm.js';
import { measureZoo } from './zoo.js';
import { Table, type WorkloadRow } from './table.js';
import { reportTargets } from './targets.js';
import { INFER_BATCH, lenetFlopsPerImage, TRAIN_BATCHES, workloadTiming, type OurWorkload } from './workloads.js';

async function main(args: BenchArgs): Promise<void> {
  const started = performance.now();
  const table = new Table();
  await getDevice();
  const info = await getDeviceInfo();
  const { device } = runtime();
  table.note(`sparsenet bench ${new Date().toISOString()}${args.quick ? ' (--quick)' : ''}`);
  table.note(`adapter: ${info.kind}: ${info.description} (features: ${[...device.features].join(', ')})`);

  if (args.only.has('cold')) await measureColdCompile(table, { quick: args.quick });

  let ceilings: Ceilings = { gflops: NaN, gbs: NaN, memcpyGbs: NaN };
  if (args.only.has('ceilings') || args.only.has('kernels') || args.only.has('layers') || args.only.has('zoo')) {
    ceilings = await measureCeilings(runtime().runner);
    table.add({ section: 'ceiling', name: 'FMA throughput (registers only)', value: ceilings.gflops, unit: 'GFLOP/s', note: 'best of 8 and 12 scalar FMA chains per thread' });
    table.add({ section: 'ceiling', name: 'copy 64 MiB (shader)', value: ceilings.gbs, unit: 'GB/s', note: 'read + write bytes' });
    table.add({ section: 'ceiling', name: 'copy 64 MiB (copyBufferToBuffer)', value: ceilings.memcpyGbs, unit: 'GB/s', note: 'no shader: what memory gives' });
  }

  let kernels: KernelResults | null = null;
  if (args.only.has('kernels')) kernels = await measureKernels(table, ceilings, { quick: args.quick, batch: 128 });

  // The zoo's models come with their layer kernels beside ReLU's (the bar: BatchNorm at least ReLU's GB/s).
  if (args.only.has('layers') || args.only.has('zoo')) await measureLayerOps(table, ceilings, { quick: args.quick });

  const ours: OurWorkload[] = [];
  const timing = workloadTiming(args.quick);
  const flop = lenetFlopsPerImage();
  if (args.only.has('lenet')) {
    table.note(`LeNet FLOPs per image from flops(): inference ${(flop.infer / 1e6).toFixed(2)} M, training ${(flop.train / 1e6).toFixed(2)} M (forward + weight gradients + input gradients but conv1's)`);
    for (const batch of TRAIN_BATCHES) {
      const t = await timeTraining(syntheticBatch(batch, batch), timing);
      ours.push({ workload: 'train', batch, timing: t });
      addWorkloadRows(table, 'train', batch, t, flop.train, kernels);
    }
    const sparse = await timeTraining(syntheticBatch(128, 128), timing, { sparse: true });
    table.add({ section: 'lenet', name: 'train SparseNet (masked) b128', value: sparse.imagesPerSecond, unit: 'img/s', note: `${sparse.msPerStep.toFixed(0)} ms/step; masks all ones` });
    const model = new LeNet({ seed: 1 });
    const t = await timeInference(model, syntheticBatch(INFER_BATCH, INFER_BATCH), timing);
    model.dispose();
    ours.push({ workload: 'infer', batch: INFER_BATCH, timing: t });
    addWorkloadRows(table, 'infer', INFER_BATCH, t, flop.infer, kernels);
  }

  if (args.only.has('zoo')) await measureZoo(table, timing);

  let profile: KernelProfile | null = null;
  if (args.only.has('profile')) {
    const b128 = ours.find((o) => o.workload === 'train' && o.batch === 128);
    profile = await reportProfile(table, b128?.timing.msPerStep ?? null);
  }

  let peers: PeerResults | null = null;
  if (args.only.has('tfjs') || args.only.has('wasm') || args.only.has('torch')) {
    peers = await measurePeers(table, { ours, timing, quick: args.quick, tfjs: args.only.has('tfjs'), wasm: args.only.has('wasm'), torch: args.only.has('torch') });
  }
  for (const o of ours) {
    const row: WorkloadRow = { workload: o.workload, batch: o.batch, sparsenet: o.timing.imagesPerSecond, tfjs: null, ratio: null };
    const peer = peers?.workloads.find((p) => p.workload === o.workload && p.batch === o.batch);
    if (peer) Object.assign(row, peer.row);
    table.addWorkload(row);
  }

  let sparsity: SparsityResults | null = null;
  if (args.only.has('sparsity')) sparsity = await measureSparsity(table, { quick: args.quick, checkpoint: args.checkpoint, limit: args.limit, timing });
  if (args.only.has('nm')) await measureNm(table, { quick: args.quick });

  reportTargets(table, { ceilings, kernels, ours, profile, workloads: table.workloads, sparsity, trainFlopPerImage: flop.train });
  table.note(`bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (args.json) {
    const out = { date: new Date().toISOString(), adapter: info, quick: args.quick, rows: [...table.rows, ...table.workloads] };
    writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
    table.note(`rows written to ${args.json}`);
  }
}

function addWorkloadRows(table: Table, workload: 'train' | 'infer', batch: number, t: WorkloadTiming, flop: number, kernels: KernelResults | null): void {
  table.add({ section: 'lenet', name: `${workload} LeNet b${batch}`, value: t.imagesPerSecond, unit: 'img/s', note: `${t.msPerStep.toFixed(0)} ms/step`, data: { workload, batch, msPerStep: t.msPerStep } });
  const gflops = (t.imagesPerSecond * flop) / 1e9;
  table.add({
    section: 'lenet', name: `${workload} b${batch} effective`, value: gflops, unit: 'GFLOP/s',
    ...(kernels ? { fraction: gflops / kernels.bestMatmul.gflops, of: 'best matmul' } : {}),
    note: `${(flop / 1e6).toFixed(1)} MFLOP/img`,
  });
  table.add({ section: 'lenet', name: `${workload} b${batch} created/read in loop`, value: countTotal(t.counts), unit: 'count', note: formatCounts(t.counts), data: { ...t.counts } });
}

function countTotal(c: StepCounts): number {
  return c.buffersCreated + c.pipelinesCreated + c.readbacks;
}

function formatCounts(c: StepCounts): string {
  return `${c.steps} timed steps: ${c.buffersCreated} buffers, ${c.pipelinesCreated} pipelines, ${c.readbacks} readbacks, live bytes ${c.liveBytesChange >= 0 ? '+' : ''}${c.liveBytesChange}`;
}

async function reportProfile(table: Table, stepMs: number | null): Promise<KernelProfile> {
  const { timestamps, isolation } = await profileTrainingStep(syntheticBatch(128, 128), stepMs ?? NaN);
  const usable = timestamps && !timestamps.reason ? timestamps : null;
  const profile = usable ?? isolation;
  if (!timestamps) table.note('profile: this adapter has no timestamp queries; kernels timed in isolation (wall time, replayed dispatches)');
  else if (!usable) table.note(`profile: timestamps unusable here (${timestamps.reason}); kernels timed in isolation instead (wall time, replayed dispatches)`);
  else table.note(`profile: timestamp queries (sum ${timestamps.totalMs.toFixed(1)} ms; isolation replay sum ${isolation.totalMs.toFixed(1)} ms) against a ${stepMs?.toFixed(1)} ms step`);
  const iso = new Map(isolation.kernels.map((k) => [k.key, k.ms]));
  for (const k of profile.kernels.slice(0, 12)) {
    const cross = profile === usable && iso.has(k.key) ? `; isolated ${iso.get(k.key)!.toFixed(2)} ms` : '';
    table.add({ section: 'profile', name: k.key.slice(0, 44), value: k.ms, unit: 'ms', fraction: k.ms / profile.totalMs, of: 'kernels', note: `${k.count} dispatches${cross}`, data: { key: k.key, source: profile.source } });
  }
  const rest = profile.kernels.slice(12);
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.ms, 0);
    table.add({ section: 'profile', name: `${rest.length} other kernels`, value: ms, unit: 'ms', fraction: ms / profile.totalMs, of: 'kernels' });
  }
  return profile;
}

parseArgsAndRun();

function parseArgsAndRun(): void {
  Promise.resolve()
    .then(() => main(parseBenchArgs(process.argv.slice(2))))
    // process.exit also ends Dawn's event loop, which would otherwise keep the process alive.
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      process.stderr.write(`${process.env.SPARSENET_DEBUG === '1' ? (err.stack ?? err.message) : err.message}\n`);
      process.exit(1);
    });
}
