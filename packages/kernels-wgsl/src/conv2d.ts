/**
 * conv2d forward (PyTorch's F.conv2d, see conv2d-shape.ts) on the variant the runner's tuner picks:
 *   - 'register' (conv2d-forward-register.ts): register-blocked, no workgroup memory and no barriers; each
 *     loaded value feeds many FMAs. Fastest on CPU Vulkan drivers (lavapipe), where a load costs tens of
 *     cycles and an FMA about one.
 *   - 'direct' (conv2d-forward-direct.ts): one thread per output, the usual shape for real GPUs.
 * The input gradient (conv2d-backward-input.ts) is the register kernel run transposed; the weight gradient
 * (conv2d-backward-weight.ts) is a split reduction.
 */
import { conv2dForwardDirect, conv2dForwardDirectProgram } from './conv2d-forward-direct.js';
import { conv2dForwardRegister, conv2dForwardRegisterProgram } from './conv2d-forward-register.js';
import { checkConv2dShape, conv2dOutputSize, conv2dShapeKey, type Conv2dForwardOptions, type Conv2dShape } from './conv2d-shape.js';
import { BufferUsage } from './flags.js';
import type { KernelRunner, Program } from './runner.js';
import { tuneRequest } from './tuner.js';

export const CONV2D_FORWARD_VARIANTS = ['register', 'direct'] as const;
export type Conv2dForwardVariant = (typeof CONV2D_FORWARD_VARIANTS)[number];

/** The program `variant` runs for this shape and these options. */
export function conv2dForwardVariantProgram(variant: Conv2dForwardVariant, shape: Conv2dShape, options: Conv2dForwardOptions = {}): Program {
  return variant === 'register' ? conv2dForwardRegisterProgram(shape, options) : conv2dForwardDirectProgram(options);
}

/** Runs one named variant of the forward kernel. */
export function conv2dForwardVariant(runner: KernelRunner, variant: Conv2dForwardVariant, x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, options: Conv2dForwardOptions = {}): void {
  checkConv2dShape('conv2d_forward', shape);
  if (variant === 'register') conv2dForwardRegister(runner, x, w, out, shape, options);
  else conv2dForwardDirect(runner, x, w, out, shape, options);
}

/** The tuner's shape key: the shape and the epilogue compiled into the WGSL, e.g. '64x3x64x64:6x5x5:s1x1:p0x0+bias+relu'. */
export function conv2dTuningShape(shape: Conv2dShape, options: Conv2dForwardOptions): string {
  return `${conv2dShapeKey(shape)}${options.bias ? '+bias' : ''}${options.relu ? '+relu' : ''}`;
}

/** out = act(conv2d(x, w) + bias) with the variant the runner's tuner picks for this shape. */
export function conv2dForward(runner: KernelRunner, x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, options: Conv2dForwardOptions = {}): void {
  checkConv2dShape('conv2d_forward', shape);
  const key = conv2dTuningShape(shape, options);
  const variant = runner.tuner.choose('conv2d', key, CONV2D_FORWARD_VARIANTS, 'register', () => {
    // Scratch operands, made at the first measurement (tunePending may never come).
    let scratch: { x: GPUBuffer; w: GPUBuffer; out: GPUBuffer; bias?: GPUBuffer } | null = null;
    const make = () => {
      const { oh, ow } = conv2dOutputSize(shape);
      const buffer = (elements: number) => runner.createBuffer(elements * 4, BufferUsage.STORAGE, 'conv2d tuning');
      return {
        x: buffer(shape.n * shape.c * shape.h * shape.w), w: buffer(shape.o * shape.c * shape.kh * shape.kw),
        out: buffer(shape.n * shape.o * oh * ow), bias: options.bias ? buffer(shape.o) : undefined,
      };
    };
    return tuneRequest({
      kernel: 'conv2d',
      shape: key,
      variants: CONV2D_FORWARD_VARIANTS,
      programs: CONV2D_FORWARD_VARIANTS.map((v) => conv2dForwardVariantProgram(v, shape, options)),
      run: (v) => {
        scratch ??= make();
        conv2dForwardVariant(runner, v, scratch.x, scratch.w, scratch.out, shape, { bias: scratch.bias, relu: options.relu });
      },
      release: () => {
        if (scratch) [scratch.x, scratch.w, scratch.out, scratch.bias].forEach((b) => b?.destroy());
        scratch = null;
      },
    });
  });
  conv2dForwardVariant(runner, variant, x, w, out, shape, options);
}
