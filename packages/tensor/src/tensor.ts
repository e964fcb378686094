/**
 * A Tensor: a shape and a dtype over GPU storage, plus what autograd needs (requiresGrad, grad, the op that
 * made it). Storage is reference-counted so that reshapes share a buffer; `dispose()` drops this tensor's
 * reference and the buffer returns to the pool with the last one.
 */
import { runtime } from './runtime.js';
import { track } from './memory.js';

export type DType = 'f32' | 'i32';
export type Shape = readonly number[];

export class Storage {
  private refs = 1;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) runtime().pool.release(this.buffer);
  }
}

/** How a tensor was made, for autograd: its inputs and the function from its gradient to theirs. */
export interface GradNode {
  inputs: Tensor[];
  backward: (grad: Tensor) => (Tensor | null)[];
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** Set by ops when gradients are recorded. */
  node: GradNode | null = null;
  /** The op and input shapes that produced this tensor, for error messages (`crossEntropy([64,7], [64])`). */
  origin: string;
  private store: Storage | null;

  constructor(storage: Storage, shape: Shape, dtype: DType, origin: string, requiresGrad = false) {
    this.store = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = numel(shape);
    this.origin = origin;
    this.requiresGrad = requiresGrad;
    track(this);
  }

  get disposed(): boolean {
    return this.store === null;
  }

  get storage(): Storage {
    if (!this.store) throw new Error(`use of a disposed tensor [${this.shape}] (made by ${this.origin})`);
    return this.store;
  }

  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }

  /** Reads the values back from the GPU; with `checkFinite`, throws naming the op if any is NaN or infinite. */
  async toArray(options: { checkFinite?: boolean } = {}): Promise<Float32Array | Int32Array> {
    const bytes = await runtime().runner.read(this.buffer, 0, this.size * 4);
    const values = this.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
    if (options.checkFinite && this.dtype === 'f32') {
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`${this.origin}: non-finite value ${values[bad]} at index ${bad} of [${this.shape}]`);
    }
    return values;
  }

  /** The single value of a one-element tensor. */
  async item(options: { checkFinite?: boolean } = {}): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs one element; [${this.shape}] has ${this.size}`);
    return (await this.toArray(options))[0];
  }

  /** Frees this tensor's GPU buffer (shared storage is freed with its last tensor). Safe to call twice. */
  dispose(): void {
    this.store?.release();
    this.store = null;
    this.node = null;
  }

  /** Autograd: gradients of this (scalar) tensor with respect to every leaf that requires them. */
  backward(grad?: Tensor): void {
    backwardHook(this, grad);
  }

  toString(): string {
    return `Tensor(${this.dtype} [${this.shape}] from ${this.origin})`;
  }
}

// autograd.ts fills this in; the indirection keeps tensor.ts free of an import cycle.
let backwardHook: (root: Tensor, grad?: Tensor) => void = () => {
  throw new Error('autograd is not loaded');
};
export function setBackward(fn: typeof backwardHook): void {
  backwardHook = fn;
}

export function numel(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(...tensors: Tensor[]): string {
  return tensors.map((t) => `[${t.shape}]`).join(', ');
}

/** A new uninitialised tensor from the pool. */
export function empty(shape: Shape, dtype: DType = 'f32', origin = 'empty'): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${origin}: invalid shape [${shape}]`);
  }
  const bytes = Math.max(numel(shape), 1) * 4;
  return new Tensor(new Storage(runtime().pool.acquire(bytes), bytes), shape, dtype, origin);
}

/** A tensor from host data: Float32Array (or number[]) for f32, Int32Array for i32. */
export function tensor(
  data: Float32Array | Int32Array | number[],
  shape?: Shape,
  options: { requiresGrad?: boolean; dtype?: DType } = {},
): Tensor {
  const dtype = options.dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
  const dims = shape ?? [data.length];
  if (numel(dims) !== data.length) throw new Error(`tensor: ${data.length} values do not fill shape [${dims}] (${numel(dims)} elements)`);
  if (dtype === 'i32' && data instanceof Float32Array) throw new Error(`tensor: dtype i32 needs an Int32Array, got a Float32Array for [${dims}]`);
  if (dtype === 'f32' && data instanceof Int32Array) throw new Error(`tensor: dtype f32 needs a Float32Array, got an Int32Array for [${dims}]`);
  if (options.requiresGrad && dtype !== 'f32') throw new Error(`tensor: only f32 tensors can require gradients ([${dims}] is ${dtype})`);
  const values = data instanceof Float32Array || data instanceof Int32Array ? data : dtype === 'i32' ? Int32Array.from(data) : Float32Array.from(data);
  const t = empty(dims, dtype, 'tensor');
  t.requiresGrad = options.requiresGrad ?? false;
  if (values.length) runtime().runner.write(t.buffer, 0, values);
  return t;
}
