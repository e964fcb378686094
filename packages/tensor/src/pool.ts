/**
 * GPU buffers for tensors, reused. Sizes are rounded up to size classes (four per power of two, so at most
 * 25% is wasted) rather than kept exact: exact-size pools (TF.js's) fragment when shapes vary.
 */
import { BufferUsage, type KernelRunner } from '@sparsenet/kernels-wgsl';

const MIN_BYTES = 256;
const USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export interface MemoryCounters {
  /** Bytes of buffers held by live tensors (by size class). */
  liveBytes: number;
  liveBuffers: number;
  /** Bytes and buffers freed by tensors and kept for reuse. */
  pooledBytes: number;
  pooledBuffers: number;
  /** Every GPU buffer created so far (tensors, uniforms, readback), from the kernel runner. */
  buffersCreated: number;
}

export function sizeClass(bytes: number): number {
  const n = Math.max(bytes, MIN_BYTES);
  const octave = 2 ** Math.floor(Math.log2(n));
  const step = octave / 4;
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private live = 0;
  private liveCount = 0;
  private pooled = 0;
  private pooledCount = 0;

  constructor(private readonly runner: KernelRunner) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const maxSize = this.runner.device.limits.maxStorageBufferBindingSize;
    if (size > maxSize) throw new Error(`a tensor of ${bytes} bytes exceeds this device's largest storage binding (${maxSize} bytes)`);
    const reused = this.free.get(size)?.pop();
    if (reused) {
      this.pooled -= size;
      this.pooledCount--;
    }
    this.live += size;
    this.liveCount++;
    return reused ?? this.runner.createBuffer(size, USAGE, 'tensor');
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.live -= size;
    this.liveCount--;
    this.pooled += size;
    this.pooledCount++;
    const list = this.free.get(size);
    if (list) list.push(buffer);
    else this.free.set(size, [buffer]);
  }

  /** Destroys every pooled buffer (live ones are untouched). */
  trim(): void {
    this.runner.flush();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
    this.pooledCount = 0;
  }

  counters(): MemoryCounters {
    return { liveBytes: this.live, liveBuffers: this.liveCount, pooledBytes: this.pooled, pooledBuffers: this.pooledCount, buffersCreated: this.runner.counters.buffersCreated };
  }
}
