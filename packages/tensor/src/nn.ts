/**
 * Modules in PyTorch's shape: parameters, buffers and submodules registered by name, so that dotted names
 * (`conv1.weight`, `features.0.weight`, `fc1.weight_mask`) and state dicts match PyTorch's and PyTorch's
 * weights load as they are. A module owns the tensors registered on it: they leave every memory scope, and
 * replacing or disposing them frees them.
 */
import { generator, defaultBias, kaimingUniform } from './init.js';
import { untrack } from './memory.js';
import { batchNorm2d } from './ops/batchnorm.js';
import { dropout } from './ops/dropout.js';
import { conv2d } from './ops/conv.js';
import { relu } from './ops/elementwise.js';
import { linear } from './ops/matmul.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type Size2d } from './ops/pool.js';
import { flatten } from './ops/shape.js';
import type { Random } from './random.js';
import { runtime } from './runtime.js';
import { decode, encode, type SafetensorsEntry } from './safetensors.js';
import { numel, tensor, type DType, type Tensor } from './tensor.js';

/** One entry of a state dict: host data in row-major order. */
export interface TensorData {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export type StateDict = Record<string, TensorData>;

/** A parameter with the pruning mask registered beside it (`<name>_mask`), as optim.Adam takes them. */
export interface MaskedParameter {
  name: string;
  param: Tensor;
  mask?: Tensor;
}

const SAFETENSORS_DTYPE = { f32: 'F32', i32: 'I32' } as const;

export abstract class Module {
  /** Set by train()/eval(); layers whose behaviour differs in evaluation read it. */
  training = true;
  private readonly parametersByName = new Map<string, Tensor>();
  private readonly buffersByName = new Map<string, Tensor>();
  private readonly childrenByName = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Runs forward, as calling a torch module does. */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  /** Registers a trained f32 tensor under `name`; it now requires grad and belongs to this module. */
  registerParameter(name: string, t: Tensor): Tensor {
    this.checkName(name, this.parametersByName);
    if (t.dtype !== 'f32') throw new Error(`registerParameter: '${name}' must be f32, got ${t.dtype} [${t.shape}]`);
    t.requiresGrad = true;
    return this.adopt(this.parametersByName, name, t);
  }

  /** Registers a tensor saved in the state dict but not trained, e.g. a pruning mask `weight_mask`. */
  registerBuffer(name: string, t: Tensor): Tensor {
    this.checkName(name, this.buffersByName);
    return this.adopt(this.buffersByName, name, t);
  }

  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name, this.childrenByName);
    this.childrenByName.set(name, module);
    return module;
  }

  /** This module's own parameter `name`; throws if there is none. */
  parameter(name: string): Tensor {
    const t = this.parametersByName.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter '${name}' (it has: ${[...this.parametersByName.keys()].join(', ') || 'none'})`);
    return t;
  }

  hasParameter(name: string): boolean {
    return this.parametersByName.has(name);
  }

  /** This module's own buffer `name`, if registered. */
  buffer(name: string): Tensor | undefined {
    return this.buffersByName.get(name);
  }

  /** Submodules with dotted names, this module first as '' (torch's named_modules). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childrenByName) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Parameters with dotted names in registration order, each tensor once even if shared. */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [path, module] of this.namedModules()) {
      for (const [name, t] of module.parametersByName) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([join(path, name), t]);
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedModules().flatMap(([path, module]) => [...module.buffersByName].map(([name, t]): [string, Tensor] => [join(path, name), t]));
  }

  /** Trained values: the number of elements of all parameters. */
  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Every parameter with its pruning mask (the buffer `<name>_mask` of the same module), for a masked optimizer. */
  parametersWithMasks(): MaskedParameter[] {
    return this.namedModules().flatMap(([path, module]) =>
      [...module.parametersByName].map(([name, param]) => ({ name: join(path, name), param, mask: module.buffer(`${name}_mask`) })),
    );
  }

  /** Sets training mode here and in every submodule. */
  train(mode = true): this {
    for (const [, module] of this.namedModules()) module.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by dotted name, in PyTorch's state-dict order (each module's parameters, then its buffers, then its children). */
  private stateTensors(): [string, Tensor][] {
    return this.namedModules().flatMap(([path, module]) =>
      [...module.parametersByName, ...module.buffersByName].map(([name, t]): [string, Tensor] => [join(path, name), t]),
    );
  }

  /** A copy of every parameter and buffer on the host, by PyTorch name. */
  async stateDict(): Promise<StateDict> {
    const entries = this.stateTensors();
    // Reads issued together wait on the device once, not once per tensor.
    const data = await Promise.all(entries.map(([, t]) => t.toArray()));
    return Object.fromEntries(entries.map(([name, t], i) => [name, { dtype: t.dtype, shape: [...t.shape], data: data[i] }]));
  }

  /**
   * Copies values into the parameters and buffers in place (tensors held elsewhere, e.g. by an optimizer,
   * see the new values). Everything is checked before anything is written: a wrong shape or dtype always
   * throws; missing and unexpected keys throw unless `strict` is false, when they are ignored.
   */
  loadStateDict(dict: StateDict, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const own = new Map(this.stateTensors());
    const problems: string[] = [];
    const writes: [Tensor, Float32Array | Int32Array][] = [];
    for (const [name, t] of own) {
      const entry = dict[name];
      if (!entry) {
        if (strict) problems.push(`missing key '${name}' (model [${t.shape}])`);
      } else if (entry.shape.length !== t.shape.length || entry.shape.some((d, i) => d !== t.shape[i])) {
        problems.push(`size mismatch for '${name}': state dict [${entry.shape}], model [${t.shape}]`);
      } else if (entry.dtype !== t.dtype) {
        problems.push(`dtype mismatch for '${name}': state dict ${entry.dtype}, model ${t.dtype}`);
      } else if (!(entry.data instanceof (t.dtype === 'f32' ? Float32Array : Int32Array)) || entry.data.length !== numel(entry.shape)) {
        problems.push(`'${name}' needs ${numel(entry.shape)} values in a ${t.dtype === 'f32' ? 'Float32Array' : 'Int32Array'}, got ${entry.data.length} in a ${entry.data.constructor.name}`);
      } else writes.push([t, entry.data]);
    }
    if (strict) {
      for (const [name, entry] of Object.entries(dict)) if (!own.has(name)) problems.push(`unexpected key '${name}' (state dict [${entry.shape}])`);
    }
    if (problems.length) throw new Error(`loadStateDict(${this.constructor.name}): ${problems.join('; ')}`);
    const { runner } = runtime();
    for (const [t, data] of writes) if (data.length) runner.write(t.buffer, 0, data);
  }

  /** The state dict as safetensors bytes, readable by PyTorch's `safetensors.torch.load`. */
  async saveSafetensors(metadata?: Record<string, string>): Promise<Uint8Array> {
    const tensors: Record<string, SafetensorsEntry> = {};
    for (const [name, { dtype, shape, data }] of Object.entries(await this.stateDict())) tensors[name] = { dtype: SAFETENSORS_DTYPE[dtype], shape, data };
    return encode(tensors, metadata);
  }

  /** Loads safetensors bytes as loadStateDict does; returns the file's metadata. */
  loadSafetensors(bytes: Uint8Array, options: { strict?: boolean } = {}): Record<string, string> {
    const { tensors, metadata } = decode(bytes);
    this.loadStateDict(stateDictFromSafetensors(tensors), options);
    return metadata;
  }

  /** Frees every parameter and buffer of this module and its submodules. */
  dispose(): void {
    for (const [, t] of this.stateTensors()) t.dispose();
  }

  private checkName(name: string, kind: Map<string, unknown>): void {
    if (!name || name.includes('.')) throw new Error(`${this.constructor.name}: invalid name '${name}' (non-empty, no dots)`);
    for (const other of [this.parametersByName, this.buffersByName, this.childrenByName]) {
      if (other !== kind && other.has(name)) throw new Error(`${this.constructor.name}: '${name}' is already registered as another kind (parameter, buffer or module)`);
    }
  }

  private adopt(map: Map<string, Tensor>, name: string, t: Tensor): Tensor {
    const previous = map.get(name);
    if (previous && previous !== t) previous.dispose();
    untrack(t);
    map.set(name, t);
    return t;
  }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** F32 and I32 safetensors entries as a state dict; other dtypes throw naming the key. */
export function stateDictFromSafetensors(tensors: Record<string, SafetensorsEntry>): StateDict {
  const out: StateDict = {};
  for (const [name, { dtype, shape, data }] of Object.entries(tensors)) {
    if (dtype === 'F32') out[name] = { dtype: 'f32', shape, data: data as Float32Array };
    else if (dtype === 'I32') out[name] = { dtype: 'i32', shape, data: data as Int32Array };
    else throw new Error(`stateDictFromSafetensors: '${name}' is ${dtype} [${shape}]; only F32 and I32 load into tensors`);
  }
  return out;
}

function pair(size: Size2d): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

/** Throws unless every size (an int, or [height, width]) is an integer >= least. */
function checkSizes(layer: string, sizes: Record<string, Size2d>, least = 1): void {
  for (const [name, size] of Object.entries(sizes)) {
    if (!pair(size).every((n) => Number.isInteger(n) && n >= least)) throw new Error(`${layer}: ${name} must be integers >= ${least}, got ${size}`);
  }
}

export interface LayerOptions {
  /** Default true. */
  bias?: boolean;
  /** A seed for this layer's own generator, or a generator to share; default: the one reseeded by init.manualSeed. */
  seed?: number | Random;
}

/** Weight and optional bias with PyTorch's default initialisation; a registered `weight_mask` buffer prunes the weight. */
abstract class WeightedLayer extends Module {
  constructor(weightShape: number[], options: LayerOptions) {
    super();
    const random = generator(options.seed);
    this.registerParameter('weight', tensor(kaimingUniform(weightShape, random), weightShape));
    if (options.bias ?? true) this.registerParameter('bias', tensor(defaultBias(weightShape, random), [weightShape[0]]));
  }

  get weight(): Tensor {
    return this.parameter('weight');
  }

  get bias(): Tensor | undefined {
    return this.hasParameter('bias') ? this.parameter('bias') : undefined;
  }

  /** The pruning mask (1 keeps a weight, 0 prunes it), when a `weight_mask` buffer is registered. */
  get weightMask(): Tensor | undefined {
    return this.buffer('weight_mask');
  }
}

/** y = x W^T + b, W [out, in]. */
export class Linear extends WeightedLayer {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LayerOptions = {},
  ) {
    checkSizes('Linear', { inFeatures, outFeatures });
    super([outFeatures, inFeatures], options);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { mask: this.weightMask });
  }
}

export interface Conv2dOptions extends LayerOptions {
  /** One int for both dimensions, or [height, width] (default 1). */
  stride?: Size2d;
  /** Zeros added on each side (default 0). */
  padding?: Size2d;
}

/** NCHW convolution, weight [out, in, kh, kw]. */
export class Conv2d extends WeightedLayer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2d,
    options: Conv2dOptions = {},
  ) {
    const { stride = 1, padding = 0 } = options;
    checkSizes('Conv2d', { inChannels, outChannels, kernelSize, stride });
    checkSizes('Conv2d', { padding }, 0);
    const [kh, kw] = pair(kernelSize);
    super([outChannels, inChannels, kh, kw], options);
    this.kernelSize = [kh, kw];
    this.stride = pair(stride);
    this.padding = pair(padding);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, mask: this.weightMask });
  }
}

export interface BatchNorm2dOptions {
  /** Added to the variance under the square root (default 1e-5). */
  eps?: number;
  /** Weight of each batch in the running statistics (default 0.1). */
  momentum?: number;
}

/**
 * torch.nn.BatchNorm2d (affine, tracking running statistics): parameters `weight` (ones) and `bias` (zeros),
 * buffers `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (i32 scalar, +1 per training
 * forward). Batch statistics in train(), the running ones in eval().
 */
export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    options: BatchNorm2dOptions = {},
  ) {
    super();
    checkSizes('BatchNorm2d', { numFeatures });
    const { eps = 1e-5, momentum = 0.1 } = options;
    if (!(eps > 0)) throw new Error(`BatchNorm2d: eps must be positive, got ${eps}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`BatchNorm2d: momentum must be in [0, 1], got ${momentum}`);
    this.eps = eps;
    this.momentum = momentum;
    this.registerParameter('weight', tensor(new Float32Array(numFeatures).fill(1), [numFeatures]));
    this.registerParameter('bias', tensor(new Float32Array(numFeatures), [numFeatures]));
    this.registerBuffer('running_mean', tensor(new Float32Array(numFeatures), [numFeatures]));
    this.registerBuffer('running_var', tensor(new Float32Array(numFeatures).fill(1), [numFeatures]));
    this.registerBuffer('num_batches_tracked', tensor(new Int32Array(1), []));
  }

  get weight(): Tensor {
    return this.parameter('weight');
  }

  get bias(): Tensor {
    return this.parameter('bias');
  }

  forward(x: Tensor): Tensor {
    return batchNorm2d(x, this.weight, this.bias, this.buffer('running_mean')!, this.buffer('running_var')!, {
      training: this.training, momentum: this.momentum, eps: this.eps, numBatchesTracked: this.buffer('num_batches_tracked'),
    });
  }
}

/** A pooling layer's window: kernel size and stride (defaulting to the kernel size, as in PyTorch). */
abstract class Pool2dLayer extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];

  constructor(layer: string, kernelSize: Size2d, stride: Size2d) {
    super();
    checkSizes(layer, { kernelSize, stride });
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride);
  }
}

export class MaxPool2d extends Pool2dLayer {
  constructor(kernelSize: Size2d, stride: Size2d = kernelSize) {
    super('MaxPool2d', kernelSize, stride);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.stride);
  }
}

export class AvgPool2d extends Pool2dLayer {
  constructor(kernelSize: Size2d, stride: Size2d = kernelSize) {
    super('AvgPool2d', kernelSize, stride);
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.stride);
  }
}

/** torch.nn.AdaptiveAvgPool2d for output size 1 (global average pooling); other sizes throw. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Size2d) {
    super();
    if (!pair(outputSize).every((d) => d === 1)) throw new Error(`AdaptiveAvgPool2d: only output size 1 is supported, got ${JSON.stringify(outputSize)}`);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/**
 * torch.nn.Dropout: zeroes each element with probability p in train(), scaling the rest by 1 / (1 - p); the
 * identity in eval(). Each training forward draws a new mask: `step` counts them (not in the state dict, as
 * PyTorch's Dropout has no state; a resumed run that must draw the same masks restores it).
 */
export class Dropout extends Module {
  /** The layer's random stream. */
  readonly seed: number;
  /** Training forwards so far: the next mask's draw. */
  step = 0;

  constructor(
    readonly p = 0.5,
    options: { seed?: number | Random } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
    this.seed = typeof options.seed === 'number' ? options.seed : Math.floor(generator(options.seed).next() * 2 ** 32);
  }

  forward(x: Tensor): Tensor {
    const step = this.training ? this.step++ % 2 ** 32 : 0;
    return dropout(x, this.p, { training: this.training, seed: this.seed, step });
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** [N, ...] -> [N, prod(...)], as torch.nn.Flatten(). */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return flatten(x);
  }
}

/** Modules applied in order, named '0', '1', ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  private readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): Module {
    const layer = this.layers[index];
    if (!layer) throw new Error(`Sequential: no layer ${index} (it has ${this.layers.length})`);
    return layer;
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.call(h), x);
  }
}
