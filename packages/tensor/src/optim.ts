/**
 * Optimizers as torch.optim's: Adam and SGD, each updating a parameter with one fused kernel per step.
 * A parameter may carry a mask (0/1, its shape): where the mask is 0 the kernel writes the weight and its
 * optimizer state as exactly 0, so pruned weights stay pruned whatever their gradient (and weight decay) say.
 * State (moments, momentum buffers) is made lazily at a parameter's first step, owned by the optimizer
 * (untracked from scopes), and saved or restored with stateDict / loadStateDict. Step counts are kept per
 * parameter, as PyTorch does, so a parameter that had no gradient on some steps gets PyTorch's bias correction.
 */
import * as k from '@sparsenet/kernels-wgsl';
import { untrack } from './memory.js';
import { runtime } from './runtime.js';
import { empty, tensor, Tensor } from './tensor.js';

/** A parameter, or a parameter with its pruning mask. */
export type ParamSpec = Tensor | { param: Tensor; mask?: Tensor | null };

/** One parameter's saved state: its step count and state tensors by PyTorch's names (exp_avg, ...). */
export interface ParamState {
  step: number;
  tensors: Record<string, Float32Array>;
}

/** Per parameter, in the order given to the constructor; null for a parameter never stepped. */
export interface OptimizerState {
  state: (ParamState | null)[];
}

interface Slot {
  param: Tensor;
  mask: Tensor | null;
  step: number;
  /** Named as `stateNames`; null until the first step with a gradient. */
  state: Tensor[] | null;
}

export abstract class Optimizer {
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  private readonly slots: Slot[] = [];
  /** One slot of `scalarsPerSlot` f32 per parameter, rewritten once per step. */
  private scalars: Tensor | null = null;

  protected constructor(
    private readonly name: string,
    params: Iterable<ParamSpec>,
    lr: number,
    private readonly stateNames: readonly string[],
    private readonly scalarsPerSlot: number,
  ) {
    if (!(lr >= 0)) throw new Error(`${name}: invalid learning rate ${lr}`);
    this.lr = lr;
    for (const spec of params) {
      const { param, mask = null } = spec instanceof Tensor ? { param: spec } : spec;
      if (param.dtype !== 'f32') throw new Error(`${name}: parameters must be f32, got ${param}`);
      if (this.slots.some((s) => s.param === param)) throw new Error(`${name}: parameter ${param} is given twice`);
      this.checkMask(param, mask);
      this.slots.push({ param, mask, step: 0, state: null });
    }
    if (!this.slots.length) throw new Error(`${name}: got an empty parameter list`);
  }

  /** Updates every parameter that has a gradient: one kernel launch each. */
  step(): void {
    for (const { param } of this.slots) {
      const grad = param.grad;
      if (grad && (grad.dtype !== 'f32' || `${grad.shape}` !== `${param.shape}`)) throw new Error(`${this.name}.step: gradient ${grad} does not match parameter ${param}`);
    }
    if (!this.slots.some((slot) => slot.param.grad)) return;
    const { runner } = runtime();
    this.scalars ??= owned(empty([this.slots.length * this.scalarsPerSlot], 'f32'), `${this.name} scalars`);
    const values = new Float32Array(this.slots.length * this.scalarsPerSlot);
    this.slots.forEach((slot, i) => {
      if (slot.param.grad) {
        slot.step++;
        slot.state ??= this.stateNames.map((stateName) => owned(tensor(new Float32Array(slot.param.size), slot.param.shape), `${this.name} ${stateName} of ${slot.param.origin}`));
      }
      if (slot.step > 0) values.set(this.slotScalars(slot.step), i * this.scalarsPerSlot);
    });
    runner.write(this.scalars.buffer, 0, values);
    this.slots.forEach((slot, i) => {
      if (slot.param.grad) this.update(this.scalars!.buffer, i, slot.param, slot.param.grad, slot.state!, slot.mask);
    });
  }

  /** Frees every parameter's gradient (sets it to null). */
  zeroGrad(): void {
    for (const { param } of this.slots) {
      param.grad?.dispose();
      param.grad = null;
    }
  }

  /** Sets or removes a parameter's mask (after pruning). The mask stays owned by the caller. */
  setMask(param: Tensor, mask: Tensor | null): void {
    const slot = this.slots.find((s) => s.param === param);
    if (!slot) throw new Error(`${this.name}.setMask: ${param} is not a parameter of this optimizer`);
    this.checkMask(param, mask);
    slot.mask = mask;
  }

  /**
   * Sets a parameter's state (moments, momentum) to 0 at `indices`, so that weights regrown by dynamic sparse
   * training start without history (RigL's reset_momentum). Reads the state back: for occasional use.
   */
  async zeroStateAt(param: Tensor, indices: readonly number[]): Promise<void> {
    const slot = this.slots.find((s) => s.param === param);
    if (!slot) throw new Error(`${this.name}.zeroStateAt: ${param} is not a parameter of this optimizer`);
    const outside = indices.find((i) => !(Number.isInteger(i) && i >= 0 && i < param.size));
    if (outside !== undefined) throw new Error(`${this.name}.zeroStateAt: index ${outside} is outside ${param} (${param.size} values)`);
    if (!slot.state || !indices.length) return;
    const { runner } = runtime();
    for (const t of slot.state) {
      const values = (await t.toArray()) as Float32Array;
      for (const i of indices) values[i] = 0;
      runner.write(t.buffer, 0, values);
    }
  }

  /** Step counts and state tensors, read back from the GPU, for a checkpoint. */
  async stateDict(): Promise<OptimizerState> {
    const state = await Promise.all(this.slots.map(async (slot): Promise<ParamState | null> => {
      if (!slot.state) return null;
      const tensors: Record<string, Float32Array> = {};
      for (const [i, t] of slot.state.entries()) tensors[this.stateNames[i]] = (await t.toArray()) as Float32Array;
      return { step: slot.step, tensors };
    }));
    return { state };
  }

  /** Restores what `stateDict` returned (for the same parameters in the same order). */
  loadStateDict(dict: OptimizerState): void {
    if (dict.state.length !== this.slots.length) throw new Error(`${this.name}.loadStateDict: state for ${dict.state.length} parameters, optimizer has ${this.slots.length}`);
    const loaded = this.slots.map((slot, i) => {
      const saved = dict.state[i];
      if (!saved) return null;
      return this.stateNames.map((stateName) => {
        const values = saved.tensors[stateName];
        if (!values || values.length !== slot.param.size) {
          throw new Error(`${this.name}.loadStateDict: parameter ${i} ${slot.param} needs ${stateName} of ${slot.param.size} values, got ${values?.length ?? 'none'}`);
        }
        return values;
      });
    });
    this.slots.forEach((slot, i) => {
      slot.state?.forEach((t) => t.dispose());
      slot.step = dict.state[i]?.step ?? 0;
      slot.state = loaded[i]?.map((values, j) => owned(tensor(Float32Array.from(values), slot.param.shape), `${this.name} ${this.stateNames[j]} of ${slot.param.origin}`)) ?? null;
    });
  }

  /** Frees the optimizer's state on the GPU (parameters, gradients and masks are not its own). */
  dispose(): void {
    for (const slot of this.slots) {
      slot.state?.forEach((t) => t.dispose());
      slot.state = null;
      slot.step = 0;
    }
    this.scalars?.dispose();
    this.scalars = null;
  }

  /** The kernel's scalars for a parameter at `step` (1 for its first). */
  protected abstract slotScalars(step: number): number[];

  /** Records the one kernel that updates `param` and its state. */
  protected abstract update(scalars: GPUBuffer, slot: number, param: Tensor, grad: Tensor, state: Tensor[], mask: Tensor | null): void;

  private checkMask(param: Tensor, mask: Tensor | null): void {
    if (mask && (mask.dtype !== 'f32' || mask.size !== param.size || `${mask.shape}` !== `${param.shape}`)) {
      throw new Error(`${this.name}: mask ${mask.dtype} [${mask.shape}] does not match parameter [${param.shape}] (needs f32 of its shape)`);
    }
  }
}

/** A tensor the optimizer owns: out of every scope, named for error messages. */
function owned(t: Tensor, origin: string): Tensor {
  untrack(t);
  t.origin = origin;
  return t;
}

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

/** torch.optim.Adam (amsgrad off): L2 weight decay added to the gradient, bias-corrected moments. */
export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: Iterable<ParamSpec>, options: AdamOptions = {}) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = options;
    super('Adam', params, lr, ['exp_avg', 'exp_avg_sq'], k.ADAM_SCALARS);
    betas.forEach((beta, i) => {
      if (!(beta >= 0 && beta < 1)) throw new Error(`Adam: invalid beta parameter at index ${i}: ${beta}`);
    });
    if (!(eps >= 0)) throw new Error(`Adam: invalid epsilon value ${eps}`);
    if (!(weightDecay >= 0)) throw new Error(`Adam: invalid weight decay ${weightDecay}`);
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  protected slotScalars(step: number): number[] {
    return k.adamScalars({ lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay }, step);
  }

  protected update(scalars: GPUBuffer, slot: number, param: Tensor, grad: Tensor, [m, v]: Tensor[], mask: Tensor | null): void {
    k.adam(runtime().runner, scalars, slot, param.buffer, grad.buffer, m.buffer, v.buffer, mask?.buffer ?? null, param.size);
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

/** torch.optim.SGD with dampening 0 and no Nesterov. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;

  constructor(params: Iterable<ParamSpec>, options: SgdOptions) {
    const { lr, momentum = 0, weightDecay = 0 } = options;
    super('SGD', params, lr, momentum !== 0 ? ['momentum_buffer'] : [], k.SGD_SCALARS);
    if (!(momentum >= 0)) throw new Error(`SGD: invalid momentum value ${momentum}`);
    if (!(weightDecay >= 0)) throw new Error(`SGD: invalid weight decay ${weightDecay}`);
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  protected slotScalars(): number[] {
    return k.sgdScalars({ lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay });
  }

  protected update(scalars: GPUBuffer, slot: number, param: Tensor, grad: Tensor, state: Tensor[], mask: Tensor | null): void {
    k.sgd(runtime().runner, scalars, slot, param.buffer, grad.buffer, state[0]?.buffer ?? null, mask?.buffer ?? null, param.size);
  }
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR's closed form: the learning rate after `step` of `totalSteps`
 * scheduler steps, from `baseLr` down to `minLr` along half a cosine. Past totalSteps it stays at minLr (PyTorch
 * would climb back up; no run here goes past its end).
 */
export function cosineAnnealingLr(baseLr: number, step: number, totalSteps: number, minLr = 0): number {
  if (!(totalSteps >= 1) || !Number.isInteger(totalSteps)) throw new Error(`cosineAnnealingLr: totalSteps must be a positive integer, got ${totalSteps}`);
  if (!(step >= 0) || !Number.isInteger(step)) throw new Error(`cosineAnnealingLr: step must be a non-negative integer, got ${step}`);
  const t = Math.min(step, totalSteps);
  return minLr + ((baseLr - minLr) * (1 + Math.cos((Math.PI * t) / totalSteps))) / 2;
}
