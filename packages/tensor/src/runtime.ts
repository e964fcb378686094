/** The process-wide runtime: the device, its kernel runner and the tensor buffer pool. */
import { KernelRunner } from '@sparsenet/kernels-wgsl';

export type { Program, TuningRecord } from '@sparsenet/kernels-wgsl';
import { acquireCompileHelper, acquireDevice, type AdapterChoice } from './device.js';
import { BufferPool } from './pool.js';

export interface Runtime {
  device: GPUDevice;
  runner: KernelRunner;
  pool: BufferPool;
}

let current: Runtime | null = null;

/** Acquires the WebGPU device (once) and sets up the runtime every tensor op uses. */
export async function getDevice(choice?: AdapterChoice): Promise<GPUDevice> {
  const device = await acquireDevice(choice);
  if (!current) {
    const runner = new KernelRunner(device);
    runner.checkEachDispatch = typeof process !== 'undefined' && process.env?.SPARSENET_CHECK === '1';
    const forced = typeof process !== 'undefined' ? process.env?.SPARSENET_VARIANTS : undefined;
    if (forced) runner.tuner.force(parseVariants(forced));
    current = { device, runner, pool: new BufferPool(runner) };
  }
  return device;
}

/**
 * Gives the runner a second device that compiles kernels beside it, where the adapter works that way (lavapipe:
 * see acquireCompileHelper); true when it has one. For start-ups that compile many kernels at once.
 */
export async function useCompileHelper(): Promise<boolean> {
  const { runner } = runtime();
  if (!runner.compileHelpers.length) {
    const helper = await acquireCompileHelper();
    if (helper) runner.compileHelpers.push(helper);
  }
  return runner.compileHelpers.length > 0;
}

export function runtime(): Runtime {
  if (!current) throw new Error('no WebGPU device yet: call `await getDevice()` before creating tensors');
  return current;
}

/** "matmul=tiled,conv2d=direct" -> { matmul: 'tiled', conv2d: 'direct' }. */
export function parseVariants(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [kernel, variant] = part.split('=');
    if (!kernel || !variant) throw new Error(`SPARSENET_VARIANTS: '${part}' is not kernel=variant`);
    out[kernel.trim()] = variant.trim();
  }
  return out;
}
