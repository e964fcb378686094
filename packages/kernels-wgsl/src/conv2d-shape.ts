/**
 * What the conv2d kernels share: the shape (PyTorch's F.conv2d: x [n,c,h,w], weight [o,c,kh,kw], zero
 * padding, NCHW output), its uniforms and checks, the forward options, and helpers for the WGSL they generate.
 */
import type { BindingKind } from './runner.js';

export interface Conv2dShape {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

export function conv2dOutputSize(s: Conv2dShape): { oh: number; ow: number } {
  return { oh: Math.floor((s.h + 2 * s.padH - s.kh) / s.strideH) + 1, ow: Math.floor((s.w + 2 * s.padW - s.kw) / s.strideW) + 1 };
}

/** Shape key for the tuner: '64x3x64x64:6x5x5:s1x1:p0x0'. */
export function conv2dShapeKey(s: Conv2dShape): string {
  return `${s.n}x${s.c}x${s.h}x${s.w}:${s.o}x${s.kh}x${s.kw}:s${s.strideH}x${s.strideW}:p${s.padH}x${s.padW}`;
}

/** The shape's numbers as u32 uniforms, in the order of `CONV2D_UNIFORM_FIELDS`. */
export function conv2dUniforms(s: Conv2dShape): number[] {
  const { oh, ow } = conv2dOutputSize(s);
  return [s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.strideH, s.strideW, s.padH, s.padW, oh, ow];
}

export const CONV2D_UNIFORM_FIELDS = 'n: u32, c: u32, h: u32, w: u32, o: u32, kh: u32, kw: u32, sh: u32, sw: u32, ph: u32, pw: u32, oh: u32, ow: u32,';

/** A block size of at most `max` that splits `size` into near-equal blocks, so the last is not mostly waste (6,8 -> 6; 16,8 -> 8; 60,16 -> 15). */
export function evenBlockSize(size: number, max: number): number {
  return Math.ceil(size / Math.ceil(size / max));
}

/** `count` WGSL lines from `line(i)`, for unrolled register blocks. */
export function unrollWgsl(count: number, line: (i: number) => string, separator = '\n  '): string {
  return Array.from({ length: count }, (_, i) => line(i)).join(separator);
}

/** A conv2d shape with positive sizes whose output is not empty, or an error naming the kernel. */
export function checkConv2dShape(kernel: string, s: Conv2dShape): void {
  const { oh, ow } = conv2dOutputSize(s);
  const sizes = [s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.strideH, s.strideW];
  if (sizes.some((d) => !Number.isInteger(d) || d < 1) || s.padH < 0 || s.padW < 0 || oh < 1 || ow < 1) {
    throw new Error(`${kernel}: invalid shape ${JSON.stringify(s)}`);
  }
}

/**
 * Storage bindings from 1 on (binding 0 is the uniform `u`): the named read-only arrays that are present
 * (optional operands pass false), then one read-write array.
 */
export function conv2dStorageBindings(reads: (string | false)[], write: string): { bindings: BindingKind[]; declarations: string } {
  const names = reads.filter((r): r is string => !!r);
  const bindings: BindingKind[] = ['uniform', ...names.map((): BindingKind => 'read'), 'write'];
  const declarations = [
    ...names.map((name, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${name}: array<f32>;`),
    `@group(0) @binding(${names.length + 1}) var<storage, read_write> ${write}: array<f32>;`,
  ].join('\n');
  return { bindings, declarations };
}

/**
 * A weight mask is not among these: callers multiply it into the weight first (one tiny elementwise pass),
 * which measured 1.5x faster on lavapipe than loading the mask next to every weight in the kernel.
 */
export interface Conv2dForwardOptions {
  /** [o], added before the activation. */
  bias?: GPUBuffer | null;
  relu?: boolean;
}
