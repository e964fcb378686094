/**
 * conv2d weight gradient: dw[o,c,ky,kx] = mask[o,c,ky,kx] * sum over n, oy, ox of
 * dy[n,o,oy,ox] * x[n,c, oy*sh - ph + ky, ox*sw - pw + kx].
 *
 * A split reduction in two passes. Pass 1: each thread takes one input channel, `channels` output channels
 * and a chunk of the (n, oy) rows, and keeps all channels x kh x kw sums of its chunk in registers (stack
 * spills are cheap next to loads on CPU drivers); per step it loads `pixels` adjacent dy values per output
 * channel and the kh input row segments under them, and every loaded value feeds many FMAs. It writes its
 * partial sums to `partials` [chunk, o, c, kh, kw]. Pass 2 sums the chunks and applies the mask, so pruned
 * weights get exactly zero. No atomics, no barriers.
 */
import { checkConv2dShape, CONV2D_UNIFORM_FIELDS, conv2dOutputSize, conv2dUniforms, evenBlockSize, conv2dStorageBindings, unrollWgsl, type Conv2dShape } from './conv2d-shape.js';
import { elementwiseGrid, elementwiseProgram } from './elementwise.js';
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import { cachedProgram } from './program-cache.js';
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 64;
/** Threads to aim for in pass 1: enough to keep every core busy, few enough to keep pass 2 short. */
const TARGET_THREADS = 512;
/** Sums one thread keeps (channels x kh x kw) and unrolled FMAs per step (that times pixels). */
const MAX_SUMS = 200;
const FMA_BUDGET = 800;

interface Conv2dWeightGradBlock {
  /** Output channels per thread. */
  channels: number;
  /** Adjacent dy pixels per step. */
  pixels: number;
}

interface Spec extends Conv2dWeightGradBlock {
  kh: number;
  kw: number;
  sw: number;
}

function partialsProgram(spec: Spec): Program {
  return cachedProgram(`conv2d_weight_grad_c${spec.channels}_p${spec.pixels}_k${spec.kh}x${spec.kw}_s${spec.sw}`, () => buildPartials(spec));
}

function buildPartials(spec: Spec): Omit<Program, 'key'> {
  const { channels: OB, pixels: P, kh: KH, kw: KW, sw: SW } = spec;
  const SEG = (P - 1) * SW + KW;
  const { bindings, declarations } = conv2dStorageBindings(['x', 'dy'], 'partials');
  const acc = (q: number, ky: number, kx: number) => `a${q}_${ky}_${kx}`;
  const step = unrollWgsl(OB, (q) => unrollWgsl(KH, (ky) => unrollWgsl(KW, (kx) => `${acc(q, ky, kx)} = ${unrollWgsl(P, (j) => `fma(d${q}_${j}, s${ky}_${j * SW + kx}, `, '')}${acc(q, ky, kx)}${')'.repeat(P)};`, ' '), '\n        '), '\n        ');
  const wgsl = /* wgsl */ `
struct U { ${CONV2D_UNIFORM_FIELDS} oblocks: u32, rowsPerChunk: u32, threads: u32, }
@group(0) @binding(0) var<uniform> u: U;
${declarations}
@compute @workgroup_size(${WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  let t = ${LINEAR_WORKGROUP} * ${WORKGROUP}u + lid;
  if (t >= u.threads) { return; }
  let chunks = u.threads / (u.c * u.oblocks);
  let chunk = t % chunks;
  let ci = (t / chunks) % u.c;
  let o0 = (t / (chunks * u.c)) * ${OB}u;
  ${unrollWgsl(OB, (q) => `let dyPlane${q} = min(o0 + ${q}u, u.o - 1u) * u.oh; let live${q} = o0 + ${q}u < u.o;`)}
  ${unrollWgsl(OB * KH * KW, (i) => `var ${acc(Math.floor(i / (KH * KW)), Math.floor(i / KW) % KH, i % KW)} = 0.0;`, ' ')}
  let rowEnd = min((chunk + 1u) * u.rowsPerChunk, u.n * u.oh);
  let lastRow = i32(u.h) - 1;
  let lastCol = i32(u.w) - 1;
  for (var r = chunk * u.rowsPerChunk; r < rowEnd; r++) {
    let n = r / u.oh;
    let oy = r - n * u.oh;
    let xPlane = (n * u.c + ci) * u.h;
    ${unrollWgsl(KH, (ky) => `let ny${ky} = i32(oy * u.sh + ${ky}u) - i32(u.ph); let rowOk${ky} = ny${ky} >= 0 && ny${ky} <= lastRow; let row${ky} = (xPlane + u32(clamp(ny${ky}, 0, lastRow))) * u.w;`, '\n    ')}
    ${unrollWgsl(OB, (q) => `let dyRow${q} = ((n * u.o) * u.oh + dyPlane${q} + oy) * u.ow;`, '\n    ')}
    for (var ox0 = 0u; ox0 < u.ow; ox0 += ${P}u) {
        ${unrollWgsl(P, (j) => `let in${j} = ox0 + ${j}u < u.ow; let ox${j} = min(ox0 + ${j}u, u.ow - 1u);`, ' ')}
        ${unrollWgsl(OB, (q) => unrollWgsl(P, (j) => `let d${q}_${j} = select(0.0, dy[dyRow${q} + ox${j}], live${q} && in${j});`, ' '), '\n        ')}
        let nx = i32(ox0 * ${SW}u) - i32(u.pw);
        ${unrollWgsl(SEG, (s) => `let vx${s} = nx + ${s} >= 0 && nx + ${s} <= lastCol; let cx${s} = u32(clamp(nx + ${s}, 0, lastCol));`, ' ')}
        ${unrollWgsl(KH, (ky) => unrollWgsl(SEG, (s) => `let s${ky}_${s} = select(0.0, x[row${ky} + cx${s}], rowOk${ky} && vx${s});`, ' '), '\n        ')}
        ${step}
    }
  }
  // partials [chunk, o, c, ky, kx]
  let wsize = u.o * u.c * ${KH * KW}u;
  ${unrollWgsl(OB, (q) => `if (live${q}) {
    let base = chunk * wsize + ((o0 + ${q}u) * u.c + ci) * ${KH * KW}u;
    ${unrollWgsl(KH * KW, (i) => `partials[base + ${i}u] = ${acc(q, Math.floor(i / KW), i % KW)};`, ' ')}
  }`)}
}`;
  return { wgsl, bindings };
}

/** Pass 2: dw[i] = sum over chunks of partials[chunk, i], times the mask (exactly +0 where it is 0). */
function sumProgram(masked: boolean): Program {
  return elementwiseProgram(`conv2d_weight_grad_sum${masked ? '_mask' : ''}`, masked ? ['read', 'read', 'write'] : ['read', 'write'],
    `@group(0) @binding(1) var<storage, read> partials: array<f32>;
${masked ? '@group(0) @binding(2) var<storage, read> mask: array<f32>;' : ''}
@group(0) @binding(${masked ? 3 : 2}) var<storage, read_write> dw: array<f32>;`,
    'chunks: u32,',
    `var s = 0.0; for (var k = 0u; k < u.chunks; k++) { s += partials[k * u.n + i]; } dw[i] = ${masked ? 'select(0.0, s * mask[i], mask[i] != 0.0)' : 's'};`);
}

const sumPrograms = { plain: sumProgram(false), masked: sumProgram(true) };

/**
 * The pass-1 block for a shape: up to 8 output channels (fewer for large kernels, to bound the sums a
 * thread keeps) and up to 4 pixels per step, within an unrolled-FMA budget that keeps compile time sane.
 */
function conv2dWeightGradBlock(shape: Conv2dShape): Conv2dWeightGradBlock {
  const taps = shape.kh * shape.kw;
  const maxChannels = Math.max(1, Math.min(8, Math.floor(MAX_SUMS / taps)));
  const channels = evenBlockSize(shape.o, maxChannels);
  const { ow } = conv2dOutputSize(shape);
  return { channels, pixels: Math.max(1, Math.min(4, ow, Math.floor(FMA_BUDGET / (channels * taps)))) };
}

function layout(shape: Conv2dShape, block: Conv2dWeightGradBlock) {
  const { oh } = conv2dOutputSize(shape);
  const oblocks = Math.ceil(shape.o / block.channels);
  const rows = shape.n * oh;
  const rowsPerChunk = Math.max(1, Math.ceil(rows / Math.ceil(TARGET_THREADS / (shape.c * oblocks))));
  const chunks = Math.ceil(rows / rowsPerChunk);
  return { oblocks, rowsPerChunk, chunks };
}

/** f32 elements the `partials` scratch buffer of `conv2dBackwardWeight` needs. */
export function conv2dBackwardWeightScratch(shape: Conv2dShape): number {
  return layout(shape, conv2dWeightGradBlock(shape)).chunks * shape.o * shape.c * shape.kh * shape.kw;
}

export function conv2dBackwardWeight(runner: KernelRunner, x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer, partials: GPUBuffer, shape: Conv2dShape, options: { mask?: GPUBuffer | null } = {}): void {
  checkConv2dShape('conv2d_backward_weight', shape);
  const block = conv2dWeightGradBlock(shape);
  const { oblocks, rowsPerChunk, chunks } = layout(shape, block);
  const threads = chunks * shape.c * oblocks;
  const spec: Spec = { ...block, kh: shape.kh, kw: shape.kw, sw: shape.strideW };
  runner.run(partialsProgram(spec), [x, dy, partials], [...conv2dUniforms(shape), oblocks, rowsPerChunk, threads], foldGrid(Math.ceil(threads / WORKGROUP)));
  const weights = shape.o * shape.c * shape.kh * shape.kw;
  if (options.mask) runner.run(sumPrograms.masked, [partials, options.mask, dw], [weights, chunks], elementwiseGrid(weights));
  else runner.run(sumPrograms.plain, [partials, dw], [weights, chunks], elementwiseGrid(weights));
}
