/**
 * conv2d forward (NCHW, PyTorch's F.conv2d) with a pruned weight stored as per-output-channel lists of its
 * nonzero taps: inference for conv layers whose masks come from unstructured pruning. Only the nonzero taps
 * are read and multiplied, so time falls with density.
 *
 * Format (built on the host when masks change, see `packConv2dTaps`): `tapStart` [o + 1] u32 offsets into
 * `taps`, one vec2<u32> per nonzero weight: ((c << 16) | (ky << 8) | kx, bitcast of the value). A workgroup
 * owns one output channel, so its walk over the taps is uniform (one load per SIMD vector on CPU drivers);
 * each lane computes `pixels` adjacent outputs of one row, loading one input value per output and tap.
 * Unpadded shapes (LeNet's) need no bounds checks: clamped columns stay inside the input and are not stored.
 */
import { CONV2D_UNIFORM_FIELDS, checkConv2dShape, conv2dOutputSize, conv2dUniforms, evenBlockSize, unrollWgsl, type Conv2dForwardOptions, type Conv2dShape } from './conv2d-shape.js';
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import { cachedProgram } from './program-cache.js';
import type { BindingKind, KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;
/** Most adjacent outputs per lane (independent accumulators for the same tap). */
const MAX_PIXELS = 16;

export interface Conv2dTaps {
  tapStart: Uint32Array;
  /** Pairs (packed c, ky, kx; f32 bits of the value). */
  taps: Uint32Array;
  nonzeros: number;
}

/** Per output channel, the nonzero taps of `weight` [o, c, kh, kw] times `mask` (0/1, optional). */
export function packConv2dTaps(weight: Float32Array, shape: readonly [number, number, number, number], mask?: Float32Array | null): Conv2dTaps {
  const [o, c, kh, kw] = shape;
  if (weight.length !== o * c * kh * kw) throw new Error(`packConv2dTaps: ${weight.length} weights do not fill [${shape}]`);
  if (mask && mask.length !== weight.length) throw new Error(`packConv2dTaps: mask of ${mask.length} does not match [${shape}]`);
  if (c > 0xffff || kh > 0xff || kw > 0xff) throw new Error(`packConv2dTaps: [${shape}] exceeds 65535 channels or 255 taps per side`);
  const tapStart = new Uint32Array(o + 1);
  const pairs: number[] = [];
  const bits = new Uint32Array(1);
  const f32 = new Float32Array(bits.buffer);
  for (let q = 0; q < o; q++) {
    for (let ci = 0; ci < c; ci++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const i = ((q * c + ci) * kh + ky) * kw + kx;
          const v = mask && mask[i] === 0 ? 0 : weight[i];
          if (v === 0) continue;
          f32[0] = v;
          pairs.push((ci << 16) | (ky << 8) | kx, bits[0]);
        }
    tapStart[q + 1] = pairs.length / 2;
  }
  return { tapStart, taps: Uint32Array.from(pairs), nonzeros: pairs.length / 2 };
}

/** Adjacent outputs per lane, and whether the shape needs bounds checks (conv2d-nm lays its lanes out alike). */
export function conv2dTapLayout(shape: Conv2dShape): { pixels: number; padded: boolean } {
  return { pixels: evenBlockSize(conv2dOutputSize(shape).ow, MAX_PIXELS), padded: shape.padH > 0 || shape.padW > 0 };
}

/**
 * WGSL of one tap (input channel `c`, offsets `ky`, `kx`, value `w` in scope) applied to a lane's `pixels` outputs:
 * per lane the columns (`columns(j)`, once), per tap the input row (`rowOf`) and the fma per pixel (`load(j)`).
 * Shared with conv2d-nm, which walks the same lanes over a different weight format.
 */
export function conv2dTapWgsl(padded: boolean): { columns: (j: number) => string; rowOf: string; load: (j: number) => string } {
  // Per tap: the input row under output row oy, and per pixel the column; padded shapes check both.
  const load = padded
    ? (j: number) => `a${j} = fma(select(0.0, x[plane + u32(clamp(iy, 0, i32(u.h) - 1)) * u.w + u32(clamp(ix${j} + i32(kx), 0, i32(u.w) - 1))], rowOk && ix${j} + i32(kx) >= 0 && ix${j} + i32(kx) < i32(u.w)), w, a${j});`
    : (j: number) => `a${j} = fma(x[row + cx${j}], w, a${j});`;
  const columns = padded
    ? (j: number) => `let ix${j} = i32(min(ox0 + ${j}u, u.ow - 1u) * u.sw) - i32(u.pw);`
    : (j: number) => `let cx${j} = min(ox0 + ${j}u, u.ow - 1u) * u.sw;`;
  const rowOf = padded
    ? `let iy = i32(oy * u.sh + ky) - i32(u.ph);
    let rowOk = iy >= 0 && iy < i32(u.h);
    let plane = image + c * u.h * u.w;`
    : `let row = image + (c * u.h + oy * u.sh + ky) * u.w + kx;`;
  return { columns, rowOf, load };
}

/**
 * The start of a pixel-block conv kernel's main(), shared with conv2d-nm: the workgroup's output channel o, this
 * lane's block of P pixels of output row oy of image n, their input columns and accumulators a0..a(P-1).
 */
export function conv2dPixelBlockWgsl(P: number, columns: (j: number) => string): string {
  return `let g = ${LINEAR_WORKGROUP};
  let o = g / u.pixelGroups;
  if (o >= u.o) { return; }
  let blocks = u.n * u.oh * u.blocksPerRow;
  let p = (g - o * u.pixelGroups) * ${WORKGROUP}u + lid;
  // Lanes past the last block recompute it and store nothing, keeping the tap walk uniform.
  let pc = min(p, blocks - 1u);
  let bx = pc % u.blocksPerRow;
  let r = pc / u.blocksPerRow;
  let oy = r % u.oh;
  let n = r / u.oh;
  let ox0 = bx * ${P}u;
  let image = n * u.c * u.h * u.w;
  ${unrollWgsl(P, columns)}
  ${unrollWgsl(P, (j) => `var a${j} = 0.0;`, ' ')}`;
}

/** The end of a pixel-block conv kernel's main(), shared with conv2d-nm: a0..a(P-1) plus the bias, through the
 * ReLU if asked, stored for the lane's pixels inside the output row. */
export function conv2dPixelBlockStoreWgsl(P: number, bias: boolean, relu: boolean): string {
  return `if (p < blocks) {
    let b = ${bias ? 'bias[o]' : '0.0'};
    let base = ((n * u.o + o) * u.oh + oy) * u.ow + ox0;
    ${unrollWgsl(P, (j) => `if (ox0 + ${j}u < u.ow) { out[base + ${j}u] = ${relu ? `max(a${j} + b, 0.0)` : `a${j} + b`}; }`, '\n    ')}
  }`;
}

/** The program `conv2dCsr` runs for this shape and these options. */
export function conv2dCsrProgram(shape: Conv2dShape, options: Conv2dForwardOptions = {}): Program {
  const { pixels, padded } = conv2dTapLayout(shape);
  const bias = !!options.bias;
  const relu = !!options.relu;
  return cachedProgram(`conv2d_csr_p${pixels}${padded ? '_padded' : ''}${bias ? '_bias' : ''}${relu ? '_relu' : ''}`, () => build(pixels, padded, bias, relu));
}

function build(pixels: number, padded: boolean, bias: boolean, relu: boolean): Omit<Program, 'key'> {
  const P = pixels;
  const bindings: BindingKind[] = ['uniform', 'read', 'read', 'read', ...(bias ? (['read'] as BindingKind[]) : []), 'write'];
  const { columns, rowOf, load } = conv2dTapWgsl(padded);
  const wgsl = /* wgsl */ `
struct U { ${CONV2D_UNIFORM_FIELDS} blocksPerRow: u32, pixelGroups: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tapStart: array<u32>;
@group(0) @binding(3) var<storage, read> taps: array<vec2<u32>>;
${bias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 5 : 4}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  ${conv2dPixelBlockWgsl(P, columns)}
  let end = tapStart[o + 1u];
  for (var t = tapStart[o]; t < end; t++) {
    let tap = taps[t];
    let c = tap.x >> 16u;
    let ky = (tap.x >> 8u) & 255u;
    let kx = tap.x & 255u;
    let w = bitcast<f32>(tap.y);
    ${rowOf}
    ${unrollWgsl(P, load, '\n    ')}
  }
  ${conv2dPixelBlockStoreWgsl(P, bias, relu)}
}`;
  return { wgsl, bindings };
}

/** out = act(conv2d(x, W) + bias) with W's nonzero taps in `tapStart` [o + 1] and `taps` (see packConv2dTaps). */
export function conv2dCsr(runner: KernelRunner, x: GPUBuffer, tapStart: GPUBuffer, taps: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, options: Conv2dForwardOptions = {}): void {
  checkConv2dShape('conv2d_csr', shape);
  const { oh, ow } = conv2dOutputSize(shape);
  const { pixels } = conv2dTapLayout(shape);
  const blocksPerRow = Math.ceil(ow / pixels);
  const pixelGroups = Math.ceil((shape.n * oh * blocksPerRow) / WORKGROUP);
  const buffers = [x, tapStart, taps, ...(options.bias ? [options.bias] : []), out];
  runner.run(conv2dCsrProgram(shape, options), buffers, [...conv2dUniforms(shape), blocksPerRow, pixelGroups], foldGrid(pixelGroups * shape.o));
}
