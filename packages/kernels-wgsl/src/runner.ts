/**
 * The one place kernels are dispatched from. A kernel file describes a program (WGSL, bindings, workgroup
 * size) and computes its grid and uniforms from shapes; the runner caches pipelines, packs uniforms into
 * cached uniform buffers, and records dispatches into one open compute pass that is submitted in batches.
 * It knows nothing of tensors or autograd: buffers in, buffers out.
 */
import { BufferUsage, MapMode, ShaderStage } from './flags.js';
import { Profiler } from './profiler.js';
import { KernelTuner } from './tuner.js';

/** How a kernel uses each binding of group 0, in binding order. */
export type BindingKind = 'read' | 'write' | 'uniform';

export interface Program {
  /** Unique among programs: identifies the WGSL text (name plus every specialisation). */
  key: string;
  wgsl: string;
  bindings: readonly BindingKind[];
}

/** A uniform value: plain numbers are u32; wrap floats and signed ints. */
export type UniformValue = number | { f32: number } | { i32: number };

export interface Counters {
  buffersCreated: number;
  pipelinesCreated: number;
  dispatches: number;
  submits: number;
}

interface CompiledProgram {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Size of each scratch binding of a precompile dispatch: at least any kernel's uniform struct or smallest array. */
const PRECOMPILE_BINDING_BYTES = 256;
/** Dispatches per submit: long enough to amortise a submit, short enough to keep the device busy. */
const DISPATCHES_PER_SUBMIT = 48;
/** Uniform buffers are tiny and keyed by content; past this many, the cache is flushed and rebuilt. */
const UNIFORM_CACHE_LIMIT = 8192;

export class KernelRunner {
  readonly device: GPUDevice;
  readonly counters: Counters = { buffersCreated: 0, pipelinesCreated: 0, dispatches: 0, submits: 0 };
  /** Measured choices among kernel variants (see tuner.ts). */
  readonly tuner = new KernelTuner(this);
  /** When set, every dispatch runs in its own error scope so a validation error names its kernel. */
  checkEachDispatch = false;
  /** When set, each dispatch gets its own timed pass (timestamp queries) for `profile()`. */
  private profiler: Profiler | null = null;

  private readonly pipelines = new Map<string, CompiledProgram>();
  /** Programs whose pipelines `precompile` is creating (asynchronously) now. */
  private readonly compiling = new Map<string, Promise<unknown>>();
  /** Scratch bindings of the zero-workgroup dispatches of `precompile`, per device. */
  private readonly precompileScratch = new Map<GPUDevice, { indirect: GPUBuffer; uniform: GPUBuffer; storage: GPUBuffer[] }>();
  /**
   * Devices that only compile: `precompile` gives them a share of the programs, whose compiled code reaches
   * this device through the driver's disk cache (lavapipe: a device compiles on its own queue thread, so a
   * second device compiles on a second core). Set by whoever acquires them (the tensor package's runtime).
   */
  compileHelpers: GPUDevice[] = [];
  /** Set inside `programsOf`: dispatches are collected here instead of being compiled and recorded. */
  private captured: Program[] | null = null;
  private readonly uniforms = new Map<string, GPUBuffer>();
  /** Readback buffers by size, reused so that repeated reads of one shape create nothing. */
  private readonly staging = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly errors: Promise<string | null>[] = [];
  private deviceError: string | null = null;

  constructor(device: GPUDevice) {
    this.device = device;
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.deviceError ??= `WebGPU error: ${error.message}`;
    });
    device.lost.then((info) => {
      this.deviceError ??= `WebGPU device lost (${info.reason}): ${info.message}`;
    });
  }

  /** A buffer counted in `counters.buffersCreated`; the tensor library's pool allocates through this. */
  createBuffer(size: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    this.counters.buffersCreated++;
    return this.device.createBuffer({ size, usage, label });
  }

  /** Records one dispatch of `program` over `grid` workgroups. Buffers bind in the program's order. */
  run(program: Program, buffers: GPUBuffer[], uniforms: UniformValue[], grid: readonly [number, number, number]): void {
    if (this.captured) {
      this.captured.push(program);
      return;
    }
    this.throwIfFailed();
    const { pipeline, layout } = this.pipeline(program);
    const entries: GPUBindGroupEntry[] = [];
    let b = 0;
    for (let i = 0; i < program.bindings.length; i++) {
      const kind = program.bindings[i];
      const buffer = kind === 'uniform' ? this.uniformBuffer(uniforms) : buffers[b++];
      if (!buffer) throw new Error(`${program.key}: binding ${i} has no buffer (got ${buffers.length} buffers)`);
      entries.push({ binding: i, resource: { buffer } });
    }
    if (b !== buffers.length) throw new Error(`${program.key}: ${buffers.length} buffers for ${b} storage bindings`);
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (grid.some((g) => g > limit)) throw new Error(`${program.key}: grid [${grid}] exceeds ${limit} workgroups per dimension`);
    if (grid.some((g) => g === 0)) return;
    const bindGroup = this.device.createBindGroup({ layout, entries });
    if (this.checkEachDispatch) this.device.pushErrorScope('validation');
    if (this.profiler) this.endPass();
    const pass = this.profiler ? this.profiler.beginPass(this.openEncoder(), program.key) : this.openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    if (this.profiler) pass.end();
    if (this.checkEachDispatch) {
      this.errors.push(this.device.popErrorScope().then((e) => (e ? `${program.key}: ${e.message}` : null)));
    }
    this.counters.dispatches++;
    if (++this.pending >= DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Records a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.throwIfFailed();
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /**
   * Writes host data into a buffer. Recorded dispatches are submitted first: queue writes run before any
   * command buffer submitted after them, so a pooled buffer could otherwise be overwritten under a reader.
   */
  write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.throwIfFailed();
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reads `size` bytes of `buffer` back to the host: the one synchronisation point. */
  async read(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    const bytes = align(size, 4);
    const free = this.staging.get(bytes);
    const staging = free?.pop() ?? this.createBuffer(bytes, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
    this.copy(buffer, offset, staging, 0, bytes);
    this.flush();
    await staging.mapAsync(MapMode.READ);
    const out = staging.getMappedRange(0, size).slice(0);
    staging.unmap();
    if (free) free.push(staging);
    else this.staging.set(bytes, [staging]);
    await this.checkErrors();
    return out;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    const commands = this.encoder.finish();
    this.encoder = null;
    this.pending = 0;
    this.device.queue.submit([commands]);
    this.counters.submits++;
  }

  /** Waits for the device to finish all submitted work, then reports any error it raised. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /** Throws the first validation error or device loss seen so far, naming the kernel where it is known. */
  async checkErrors(): Promise<void> {
    const scoped = (await Promise.all(this.errors.splice(0))).filter((e): e is string => e !== null);
    // A scoped error names its kernel and is the cause; an uncaptured one seen earlier is often its echo
    // ("Invalid ComputePipeline ... due to a previous error"), so the scoped message leads.
    if (scoped.length) this.deviceError = `WebGPU validation error in ${scoped[0]}${this.deviceError ? `\n(then: ${this.deviceError})` : ''}`;
    this.throwIfFailed();
  }

  /** Starts timing each dispatch with timestamp queries (where the adapter has them). */
  startProfile(): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.flush();
    this.profiler = new Profiler(this);
    return true;
  }

  /** Stops timing and returns GPU milliseconds per kernel key, summed over the dispatches since `startProfile`. */
  async stopProfile(): Promise<Map<string, { ms: number; count: number }>> {
    const profiler = this.profiler;
    this.profiler = null;
    this.flush();
    return profiler ? profiler.collect() : new Map();
  }

  /**
   * The programs `record` would dispatch, in order, collected instead of compiled or recorded: what a tuning
   * record's version hashes, and what a cold start compiles ahead with `precompile`.
   */
  programsOf(record: () => void): Program[] {
    const outer = this.captured;
    const captured: Program[] = [];
    this.captured = captured;
    try {
      record();
    } finally {
      this.captured = outer;
    }
    return captured;
  }

  /**
   * Makes `programs` ready ahead of their first use, each with createComputePipelineAsync and one dispatch of
   * zero workgroups (an indirect count, so nothing runs and nothing is written). The dispatch matters on
   * lavapipe: llvmpipe compiles a shader with LLVM at its first dispatch, not when the pipeline is made, and it
   * does so on the queue's own thread, so the compiles proceed while JavaScript does other work (loading data).
   * Resolves when every program is ready, with how many of them this call started. A program `run` meets
   * before its pipeline exists is compiled there, synchronously, as always.
   */
  async precompile(programs: readonly Program[]): Promise<number> {
    const fresh = [...new Map(programs.filter((p) => !this.pipelines.has(p.key) && !this.compiling.has(p.key)).map((p) => [p.key, p])).values()];
    const devices = [this.device, ...this.compileHelpers];
    fresh.forEach((program, i) => {
      const compiler = devices[i % devices.length];
      // A helper's share is compiled there first; this device then finds it in the driver's disk cache (or, where
      // the helper failed, compiles it itself).
      const compiledElsewhere = compiler === this.device ? Promise.resolve() : this.compileOn(compiler, program).catch(() => undefined);
      const ready = compiledElsewhere.then(async () => {
        const { layout, descriptor } = this.describe(this.device, program);
        const pipeline = await this.device.createComputePipelineAsync(descriptor).catch((error: Error) => {
          throw new Error(`${program.key} (pipeline): ${error.message}`);
        });
        // `run` may have needed the program meanwhile and compiled it itself.
        if (this.pipelines.has(program.key)) return;
        this.pipelines.set(program.key, { pipeline, layout });
        this.counters.pipelinesCreated++;
        await this.compileOn(this.device, program, { pipeline, layout });
      });
      this.compiling.set(program.key, ready.finally(() => this.compiling.delete(program.key)));
    });
    await Promise.all(programs.map((p) => this.compiling.get(p.key)));
    return fresh.length;
  }

  /** Makes `program`'s pipeline on `device` (unless given) and dispatches it once, with zero workgroups. */
  private async compileOn(device: GPUDevice, program: Program, made?: CompiledProgram): Promise<void> {
    let compiled = made;
    if (!compiled) {
      const { layout, descriptor } = this.describe(device, program);
      compiled = { layout, pipeline: await device.createComputePipelineAsync(descriptor) };
    }
    device.pushErrorScope('validation');
    this.firstDispatch(device, compiled, program);
    const error = await device.popErrorScope();
    if (error) throw new Error(`${program.key} (precompile dispatch): ${error.message}`);
    await device.queue.onSubmittedWorkDone();
  }

  /** Records and submits a zero-workgroup dispatch of a compiled program on scratch buffers (see `precompile`). */
  private firstDispatch(device: GPUDevice, { pipeline, layout }: CompiledProgram, program: Program): void {
    let scratch = this.precompileScratch.get(device);
    if (!scratch) {
      scratch = {
        indirect: device.createBuffer({ size: 12, usage: BufferUsage.INDIRECT | BufferUsage.STORAGE, label: 'precompile indirect' }),
        uniform: device.createBuffer({ size: PRECOMPILE_BINDING_BYTES, usage: BufferUsage.UNIFORM, label: 'precompile uniform' }),
        storage: [],
      };
      this.precompileScratch.set(device, scratch);
    }
    const { indirect, uniform, storage } = scratch;
    let s = 0;
    const entries = program.bindings.map((kind, binding) => {
      // Writable storage bindings may not alias: one scratch buffer per storage binding.
      const buffer = kind === 'uniform' ? uniform : (storage[s++] ??= device.createBuffer({ size: PRECOMPILE_BINDING_BYTES, usage: BufferUsage.STORAGE, label: 'precompile storage' }));
      return { binding, resource: { buffer } };
    });
    const encoder = device.createCommandEncoder({ label: `precompile ${program.key}` });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout, entries }));
    pass.dispatchWorkgroupsIndirect(indirect, 0);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  private throwIfFailed(): void {
    if (this.deviceError) throw new Error(this.deviceError);
  }

  private pipeline(program: Program): CompiledProgram {
    let entry = this.pipelines.get(program.key);
    if (entry) return entry;
    this.device.pushErrorScope('validation');
    const { layout, descriptor } = this.describe(this.device, program);
    const pipeline = this.device.createComputePipeline(descriptor);
    this.errors.push(this.device.popErrorScope().then((e) => (e ? `${program.key} (pipeline): ${e.message}` : null)));
    this.counters.pipelinesCreated++;
    entry = { pipeline, layout };
    this.pipelines.set(program.key, entry);
    return entry;
  }

  /** The bind group layout and pipeline descriptor of a program on `device` (entry point `main`, group 0 in binding order). */
  private describe(device: GPUDevice, program: Program): { layout: GPUBindGroupLayout; descriptor: GPUComputePipelineDescriptor } {
    const layout = device.createBindGroupLayout({
      label: program.key,
      entries: program.bindings.map((kind, binding) => ({
        binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const module = device.createShaderModule({ label: program.key, code: program.wgsl });
    const descriptor: GPUComputePipelineDescriptor = {
      label: program.key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    };
    return { layout, descriptor };
  }

  private uniformBuffer(values: UniformValue[]): GPUBuffer {
    const data = packUniforms(values);
    const key = Array.from(data).join(',');
    let buffer = this.uniforms.get(key);
    if (buffer) return buffer;
    if (this.uniforms.size >= UNIFORM_CACHE_LIMIT) {
      this.flush();
      for (const old of this.uniforms.values()) old.destroy();
      this.uniforms.clear();
    }
    buffer = this.createBuffer(Math.max(16, data.byteLength), BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'uniforms');
    // A new buffer is not yet used by any recorded command, so a queue write needs no flush here.
    this.device.queue.writeBuffer(buffer, 0, data.buffer, 0, data.byteLength);
    this.uniforms.set(key, buffer);
    return buffer;
  }

  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    this.pass ??= this.openEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}

export function packUniforms(values: UniformValue[]): Uint32Array {
  // Uniform structs here hold only 4-byte scalars; round up to 16 bytes as uniform buffers require.
  const data = new Uint32Array(align(Math.max(values.length, 1), 4));
  const f32 = new Float32Array(data.buffer);
  const i32 = new Int32Array(data.buffer);
  values.forEach((v, i) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`uniform ${i}: ${v} is not a u32`);
      data[i] = v;
    } else if ('f32' in v) f32[i] = v.f32;
    else i32[i] = v.i32;
  });
  return data;
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
