/** The process-wide runtime: the device, its kernel runner and the tensor buffer pool. */
import { KernelRunner } from '@sparsenet/kernels-wgsl';
import { acquireDevice, type AdapterChoice } from './device.js';
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
    current = { device, runner, pool: new BufferPool(runner) };
  }
  return device;
}

export function runtime(): Runtime {
  if (!current) throw new Error('no WebGPU device yet: call `await getDevice()` before creating tensors');
  return current;
}
