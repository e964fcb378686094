/**
 * The peers, timed by the same loop as ours on the same shapes and host data: TensorFlow.js 4.22 on its
 * WebGPU backend (on the same adapter as ours) and its wasm backend (inference), and PyTorch on the CPU (a
 * subprocess running pytorch/bench_torch.py, where Debian's python3-torch is installed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { getDeviceInfo } from '@sparsenet/tensor';
import type { OurWorkload } from './workloads.js';
import type { Table } from './table.js';
import { timeSync, type TimingOptions } from './timing.js';
import { syntheticBatch, type HostBatch } from './lenet.js';
import { tfjsLeNet, type TfModule } from './tfjs-lenet.js';

export interface PeerWorkload {
  workload: 'train' | 'infer';
  batch: number;
  /** Fields merged into the workload's JSON row. */
  row: Record<string, number | string | null>;
}

export interface PeerResults {
  workloads: PeerWorkload[];
  tfjsAdapter: string | null;
}

export interface PeerOptions {
  ours: OurWorkload[];
  timing: TimingOptions;
  quick: boolean;
  tfjs: boolean;
  wasm: boolean;
  torch: boolean;
}

const TORCH_PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../../pytorch/bench_torch.py', import.meta.url));

// Dawn's Node binding can crash when V8 collects the GPU object or the adapter while a device lives.
const keepAlive: unknown[] = [];

export async function measurePeers(table: Table, options: PeerOptions): Promise<PeerResults> {
  // --quick leaves out the batch the issue's targets do not name (TF.js takes seconds a step here).
  const compared = options.ours.filter((o) => !(options.quick && o.workload === 'train' && o.batch === 64));
  const workloads: PeerWorkload[] = compared.map((o) => ({ workload: o.workload, batch: o.batch, row: {} }));
  const ourRate = (w: PeerWorkload) => options.ours.find((o) => o.workload === w.workload && o.batch === w.batch)!.timing.imagesPerSecond;
  const record = (w: PeerWorkload, peer: string, rate: number | null, note: string) => {
    const ratio = rate ? ourRate(w) / rate : null;
    w.row[peer] = rate;
    w.row[peer === 'tfjs' ? 'ratio' : `ratio_${peer}`] = ratio;
    table.add({ section: 'peer', name: `${w.workload} b${w.batch} ${PEER_NAMES[peer]}`, value: rate, unit: 'img/s', note: `${ratio ? `sparsenet ${ratio.toFixed(2)}x; ` : ''}${note}`, data: { peer, workload: w.workload, batch: w.batch, ratio } });
  };
  if (!options.ours.length) table.note('peers: the lenet section did not run, so there is nothing to compare with');
  let tfjsAdapter: string | null = null;
  if ((options.tfjs || options.wasm) && options.ours.length) {
    const tf = await loadTfjs();
    if (options.tfjs) {
      tfjsAdapter = await useWebgpuBackend(tf);
      const ours = (await getDeviceInfo()).description;
      table.note(`TF.js webgpu adapter: ${tfjsAdapter}${tfjsAdapter === ours ? ' (the same as ours)' : `; OURS IS ${ours}: NOT THE SAME ADAPTER`}`);
      for (const w of workloads) {
        const ms = await timeTfjs(tf, w.workload, syntheticBatch(w.batch, w.batch), options.timing);
        record(w, 'tfjs', (1000 * w.batch) / ms, `${ms.toFixed(0)} ms/step`);
      }
    }
    if (options.wasm) {
      const flags = await useWasmBackend(tf);
      for (const w of workloads.filter((x) => x.workload === 'infer')) {
        const ms = await timeTfjs(tf, 'infer', syntheticBatch(w.batch, w.batch), options.timing);
        record(w, 'tfjs_wasm', (1000 * w.batch) / ms, `${ms.toFixed(0)} ms/step; ${flags}`);
      }
    }
  }
  if (options.torch && options.ours.length) {
    const probe = spawnSync(TORCH_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      table.note(`PyTorch rows skipped: ${TORCH_PYTHON} has no torch (apt-get install python3-torch to compare with PyTorch on the CPU)`);
    } else {
      for (const w of workloads) {
        const result = runTorch(w.workload, w.batch, options.timing);
        record(w, 'torch', (1000 * w.batch) / result.ms, `${result.ms.toFixed(0)} ms/step; torch ${result.version}, ${result.threads} threads`);
      }
    }
  }
  return { workloads, tfjsAdapter };
}

const PEER_NAMES: Record<string, string> = { tfjs: 'TF.js webgpu', tfjs_wasm: 'TF.js wasm', torch: 'PyTorch CPU' };

async function loadTfjs(): Promise<TfModule> {
  // A navigator.gpu from the same Dawn package and environment (VK_ICD_FILENAMES as our device acquisition
  // left it), set before the WebGPU backend's module registers itself (it checks navigator.gpu on import).
  const { create } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU };
  const gpu = create([]);
  keepAlive.push(gpu);
  const requestAdapter = async (options?: GPURequestAdapterOptions) => {
    const adapter = await gpu.requestAdapter(options);
    keepAlive.push(adapter);
    return adapter;
  };
  const g = globalThis as { navigator?: { gpu?: unknown } };
  g.navigator ??= {};
  g.navigator.gpu = { requestAdapter, getPreferredCanvasFormat: () => 'rgba8unorm', wgslLanguageFeatures: new Set() };
  // The union package, not tfjs-core alone: tfjs-core's Node bundle registers no gradients (TF.js registers
  // them in the union's bundle), so training fails with "gradient function not found".
  const tf = (await import('@tensorflow/tfjs')) as unknown as TfModule;
  await import('@tensorflow/tfjs-backend-webgpu');
  await import('@tensorflow/tfjs-backend-wasm');
  return tf;
}

/** Switches TF.js to WebGPU and returns its adapter's description, as Dawn reports it. */
async function useWebgpuBackend(tf: TfModule): Promise<string> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend failed to initialise');
  await tf.ready();
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const info = device.adapterInfo;
  return info.description || `${info.vendor} ${info.architecture}`;
}

/** Switches TF.js to wasm with its .wasm files from node_modules (no download); returns what it runs with. */
async function useWasmBackend(tf: TfModule): Promise<string> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as { setWasmPaths: (prefix: string) => void };
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  if (!existsSync(join(dist, 'tfjs-backend-wasm-simd.wasm'))) throw new Error(`TF.js wasm: no .wasm files in ${dist}`);
  wasm.setWasmPaths(`${dist}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js: the wasm backend failed to initialise');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : 'one thread (TF.js has no wasm threads in Node)'}`;
}

/** Milliseconds per step of the TF.js LeNet on the current backend. */
async function timeTfjs(tf: TfModule, workload: 'train' | 'infer', batch: HostBatch, timing: TimingOptions): Promise<number> {
  const model = tfjsLeNet(tf, batch);
  try {
    const run = workload === 'train' ? () => model.trainStep() : () => model.inferStep();
    return (await timeSync(run, () => model.sync(), timing)).ms;
  } finally {
    model.dispose();
  }
}

interface TorchResult {
  ms: number;
  threads: number;
  version: string;
}

function runTorch(workload: 'train' | 'infer', batch: number, timing: TimingOptions): TorchResult {
  const { warmup = 2, perBlock = 5, blocks = 5, budgetMs = 20_000 } = timing;
  const args = [TORCH_SCRIPT, '--workload', workload, '--batch', String(batch), '--warmup', String(warmup), '--per-block', String(perBlock), '--blocks', String(blocks), '--budget-ms', String(budgetMs)];
  const result = spawnSync(TORCH_PYTHON, args, { encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`PyTorch bench (${TORCH_PYTHON} ${args.join(' ')}) failed: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as TorchResult;
}
