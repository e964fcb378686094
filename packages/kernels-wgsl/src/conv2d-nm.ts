/**
 * conv2d forward (NCHW, PyTorch's F.conv2d) with a weight [o, c, kh, kw] pruned to N:M along its reduction
 * dimension c * kh * kw (ASP's grouping for convolutions) and stored packed as a [o, c * kh * kw] matrix by
 * `packNm` (matmul-nm.ts): an implicit im2col, whose columns are the kept taps.
 *
 * The lanes are laid out as conv2d-csr's (a workgroup per output channel, each lane `pixels` adjacent outputs of
 * one row, the walk over taps uniform), but a tap's channel and offsets are decoded from its column
 * gi * M + index (two divisions by uniforms per tap) where CSR stores them ready in a second word.
 */
import { conv2dPixelBlockStoreWgsl, conv2dPixelBlockWgsl, conv2dTapLayout, conv2dTapWgsl } from './conv2d-csr.js';
import { CONV2D_UNIFORM_FIELDS, checkConv2dShape, conv2dOutputSize, conv2dUniforms, unrollWgsl, type Conv2dForwardOptions, type Conv2dShape } from './conv2d-shape.js';
import { foldGrid, WORKGROUP_BUILTINS } from './grid.js';
import { nmIndexBits, nmIndexWgsl, nmPackedBindings, type NmPattern } from './matmul-nm.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;

/** The program `conv2dNm` runs for this shape, pattern and these options. */
export function conv2dNmProgram(shape: Conv2dShape, pattern: NmPattern, options: Conv2dForwardOptions = {}): Program {
  const { pixels, padded } = conv2dTapLayout(shape);
  const bias = !!options.bias;
  const relu = !!options.relu;
  const key = `conv2d_nm_${pattern.n}of${pattern.m}_p${pixels}${padded ? '_padded' : ''}${bias ? '_bias' : ''}${relu ? '_relu' : ''}`;
  return cachedProgram(key, () => build(pattern, pixels, padded, bias, relu));
}

function build({ n, m }: NmPattern, pixels: number, padded: boolean, bias: boolean, relu: boolean): Omit<Program, 'key'> {
  const P = pixels;
  const packed = nmPackedBindings(bias);
  const bindings = packed.bindings;
  const { columns, rowOf, load } = conv2dTapWgsl(padded);
  const taps = Array.from({ length: n }, (_, t) => t);
  const wgsl = /* wgsl */ `
struct U { ${CONV2D_UNIFORM_FIELDS} blocksPerRow: u32, pixelGroups: u32, wordsPerRow: u32, }
${packed.wgsl}
@compute @workgroup_size(${WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  ${conv2dPixelBlockWgsl(P, columns)}
  let taps = u.kh * u.kw;
  let groups = u.c * taps / ${m}u;
  let valueBase = o * groups * ${n}u;
  let wordBase = o * u.wordsPerRow;
  for (var gi = 0u; gi < groups; gi++) {
    ${taps.map((t) => `{
    let j = gi * ${n}u + ${t}u;
    let col = gi * ${m}u + (${nmIndexWgsl(nmIndexBits(m), 'j')});
    let c = col / taps;
    let ky = (col - c * taps) / u.kw;
    let kx = col - c * taps - ky * u.kw;
    let w = values[valueBase + j];
    ${rowOf}
    ${unrollWgsl(P, load, '\n    ')}
    }`).join('\n    ')}
  }
  ${conv2dPixelBlockStoreWgsl(P, bias, relu)}
}`;
  return { wgsl, bindings };
}

/** out = act(conv2d(x, W) + bias) with W [o, c, kh, kw] packed N:M as [o, c * kh * kw] by packNm. */
export function conv2dNm(runner: KernelRunner, x: GPUBuffer, values: GPUBuffer, indices: GPUBuffer, out: GPUBuffer, shape: Conv2dShape, pattern: NmPattern, options: Conv2dForwardOptions = {}): void {
  checkConv2dShape('conv2d_nm', shape);
  const reduction = shape.c * shape.kh * shape.kw;
  if (reduction % pattern.m !== 0) throw new Error(`conv2d_nm: in*kh*kw = ${shape.c}*${shape.kh}*${shape.kw} = ${reduction} is not a multiple of M=${pattern.m} (${pattern.n}:${pattern.m})`);
  const { oh, ow } = conv2dOutputSize(shape);
  const { pixels } = conv2dTapLayout(shape);
  const blocksPerRow = Math.ceil(ow / pixels);
  const pixelGroups = Math.ceil((shape.n * oh * blocksPerRow) / WORKGROUP);
  const wordsPerRow = Math.ceil(((reduction / pattern.m) * pattern.n * nmIndexBits(pattern.m)) / 32);
  const buffers = [x, values, indices, ...(options.bias ? [options.bias] : []), out];
  runner.run(conv2dNmProgram(shape, pattern, options), buffers, [...conv2dUniforms(shape), blocksPerRow, pixelGroups, wordsPerRow], foldGrid(pixelGroups * shape.o));
}
