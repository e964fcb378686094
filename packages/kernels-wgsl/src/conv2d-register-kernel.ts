/**
 * The register-blocked convolution kernel that conv2d's forward ('register' variant, conv2d-forward-register.ts)
 * and its input gradient (conv2d-backward-input.ts, the same kernel run transposed: a transposed convolution of
 * the output gradient with the same weight) are both made of.
 *
 * Each thread computes `channels` output channels x `pixels` adjacent outputs of one row, in registers.
 * Per (input channel, kernel row) it loads the input row segment those pixels read once and reuses every
 * value for all taps and channels; the threads of a workgroup share their output channels, so the weight
 * loads are uniform. On lavapipe any load costs tens of cycles while an FMA costs about one, so the block
 * is as large as registers (and cheap stack spills) allow. No workgroup memory, no barriers.
 *
 * Forward: out[n,o,y,x] += in[n,c, y*sh - ph + ky, x*sw - pw + kx] * w[o,c,ky,kx].
 * Transposed: out[n,c,y,x] += in[n,o, (y + ph - ky)/sh, (x + pw - kx)/sw] * w[o,c,ky,kx] where divisible.
 */
import { CONV2D_UNIFORM_FIELDS, conv2dOutputSize, conv2dStorageBindings, conv2dUniforms, evenBlockSize, unrollWgsl, type Conv2dForwardOptions, type Conv2dShape } from './conv2d-shape.js';
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import type { BindingKind } from './runner.js';

export const CONV2D_REGISTER_WORKGROUP = 64;

export interface Conv2dRegisterBlock {
  /** Output channels per thread. */
  channels: number;
  /** Adjacent output pixels of a row per thread. */
  pixels: number;
}

export interface Conv2dRegisterSpec extends Conv2dRegisterBlock {
  transposed: boolean;
  kw: number;
  /** Strides are compile-time: the transposed kernel divides by them per row, and a constant divisor is cheap. */
  sh: number;
  sw: number;
  bias: boolean;
  relu: boolean;
}

/** The WGSL of the register kernel for `spec` (forward or transposed). */
export function conv2dRegisterWgsl(spec: Conv2dRegisterSpec): string {
  const { channels: OB, pixels: P, kw: KW, sh: SH, sw: SW, transposed: T } = spec;
  const SEG = T ? P + KW - 1 : (P - 1) * SW + KW;
  // Sizes of this kernel's output and input, and where tap (pixel j, column kx) reads the row segment.
  const [outC, outH, outW, inC, inH, inW] = T ? ['u.c', 'u.h', 'u.w', 'u.o', 'u.oh', 'u.ow'] : ['u.o', 'u.oh', 'u.ow', 'u.c', 'u.h', 'u.w'];
  const segIndex = (j: number, kx: number) => (T ? j - kx + KW - 1 : j * SW + kx);
  const { declarations } = conv2dRegisterBindings(spec);
  const src = T ? 'dy' : 'x';
  // All loads of a step first, then the FMAs: 1.4x faster on lavapipe than interleaving them, where every
  // load becomes a per-lane sequence of branches that all accumulators would otherwise stay live across.
  const weights = unrollWgsl(KW, (kx) => unrollWgsl(OB, (q) => `let v${q}_${kx} = wt[wr${q} + wk + ${kx}u];`, ' '), '\n      ');
  const taps = unrollWgsl(KW, (kx) => unrollWgsl(OB, (q) => unrollWgsl(P, (j) => `a${q}_${j} = fma(s${segIndex(j, kx)}, v${q}_${kx}, a${q}_${j});`, ' '), '\n      '), '\n      ');
  const store = (q: number) => `if (q0 + ${q}u < ${outC}) {
      let base = ((n * ${outC} + q0 + ${q}u) * ${outH} + oy) * ${outW} + ox0;
      ${unrollWgsl(P, (j) => `if (ox0 + ${j}u < ${outW}) { out[base + ${j}u] = ${spec.relu ? `max(a${q}_${j}, 0.0)` : `a${q}_${j}`}; }`, '\n      ')}
    }`;
  const column = T
    ? (t: number) => `let nx${t} = i32(ox0 + u.pw) - ${KW - 1 - t}; let vx${t} = nx${t} >= 0 && nx${t} % ${SW} == 0 && nx${t} / ${SW} < i32(${inW}); let cx${t} = u32(clamp(nx${t} / ${SW}, 0, i32(${inW}) - 1));`
    : (t: number) => `let nx${t} = i32(ox0 * ${SW}u) - i32(u.pw) + ${t}; let vx${t} = nx${t} >= 0 && nx${t} < i32(${inW}); let cx${t} = u32(clamp(nx${t}, 0, i32(${inW}) - 1));`;
  const row = T
    ? `let ny = i32(oy + u.ph) - i32(ky);
      let rowOk = ny >= 0 && ny % ${SH} == 0 && ny / ${SH} < i32(${inH});
      let row = (plane + u32(clamp(ny / ${SH}, 0, i32(${inH}) - 1))) * ${inW};`
    : `let ny = i32(oy * ${SH}u + ky) - i32(u.ph);
      let rowOk = ny >= 0 && ny < i32(${inH});
      let row = (plane + u32(clamp(ny, 0, i32(${inH}) - 1))) * ${inW};`;
  // Weight [o,c,ky,kx]: forward reads w[q][ci], transposed w[ci][q].
  const [rowOfQ, wk] = T ? [`u.kh * ${KW}u`, `(ci * u.c * u.kh + ky) * ${KW}u`] : [`u.c * u.kh * ${KW}u`, `(ci * u.kh + ky) * ${KW}u`];
  return /* wgsl */ `
struct U { ${CONV2D_UNIFORM_FIELDS} blocksPerRow: u32, pixelGroups: u32, workgroups: u32, }
@group(0) @binding(0) var<uniform> u: U;
${declarations}
@compute @workgroup_size(${CONV2D_REGISTER_WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  // Threads past the end recompute the last block and store nothing: returning early would make the
  // loads below divergent, and the weight loads would stop being uniform.
  let g = ${LINEAR_WORKGROUP};
  let gc = min(g, u.workgroups - 1u);
  let qb = gc / u.pixelGroups;
  let blocks = u.n * ${outH} * u.blocksPerRow;
  let p = (gc - qb * u.pixelGroups) * ${CONV2D_REGISTER_WORKGROUP}u + lid;
  let valid = g < u.workgroups && p < blocks;
  let pc = min(p, blocks - 1u);
  let bx = pc % u.blocksPerRow;
  let r = pc / u.blocksPerRow;
  let oy = r % ${outH};
  let n = r / ${outH};
  let ox0 = bx * ${P}u;
  ${unrollWgsl(SEG, column)}
  let q0 = qb * ${OB}u;
  ${unrollWgsl(OB, (q) => `let wr${q} = min(q0 + ${q}u, ${outC} - 1u) * ${rowOfQ};`)}
  ${unrollWgsl(OB, (q) => `let init${q} = ${spec.bias ? `bias[min(q0 + ${q}u, ${outC} - 1u)]` : '0.0'}; ${unrollWgsl(P, (j) => `var a${q}_${j} = init${q};`, ' ')}`)}
  for (var ci = 0u; ci < ${inC}; ci++) {
    let plane = (n * ${inC} + ci) * ${inH};
    for (var ky = 0u; ky < u.kh; ky++) {
      ${row}
      ${unrollWgsl(SEG, (t) => `let s${t} = select(0.0, ${src}[row + cx${t}], rowOk && vx${t});`, '\n      ')}
      let wk = ${wk};
      ${weights}
      ${taps}
    }
  }
  if (valid) {
    ${unrollWgsl(OB, store, '\n    ')}
  }
}`;
}

/** Unrolled FMAs per loop step: more reuses each load more, but compile time grows fast past this. */
const FMA_BUDGET = 640;

/**
 * The register block for a kernel writing `outChannels` planes of width `outWidth`: up to 8 channels and
 * 16 pixels, split into near-equal blocks so that little of the last block is wasted, and shrunk for wide
 * kernels to keep the unrolled step within FMA_BUDGET.
 */
function conv2dRegisterBlock(outChannels: number, outWidth: number, kw: number): Conv2dRegisterBlock {
  const channels = evenBlockSize(outChannels, 8);
  return { channels, pixels: evenBlockSize(outWidth, Math.max(1, Math.min(16, Math.floor(FMA_BUDGET / (channels * kw))))) };
}

/**
 * The register kernel's specialisation, uniforms and grid for `src` (x, or dy when transposed) into `out` (the
 * conv output, or dx when transposed). The options apply to the forward only.
 */
export function conv2dRegisterLaunch(transposed: boolean, shape: Conv2dShape, options: Conv2dForwardOptions): { spec: Conv2dRegisterSpec; uniforms: number[]; grid: [number, number, number] } {
  const { oh, ow } = conv2dOutputSize(shape);
  const [outChannels, outHeight, outWidth] = transposed ? [shape.c, shape.h, shape.w] : [shape.o, oh, ow];
  const { channels, pixels } = conv2dRegisterBlock(outChannels, outWidth, shape.kw);
  const blocksPerRow = Math.ceil(outWidth / pixels);
  const pixelGroups = Math.ceil((shape.n * outHeight * blocksPerRow) / CONV2D_REGISTER_WORKGROUP);
  const workgroups = pixelGroups * Math.ceil(outChannels / channels);
  const spec: Conv2dRegisterSpec = { transposed, channels, pixels, kw: shape.kw, sh: shape.strideH, sw: shape.strideW, bias: !!options.bias, relu: !!options.relu };
  return { spec, uniforms: [...conv2dUniforms(shape), blocksPerRow, pixelGroups, workgroups], grid: foldGrid(workgroups) };
}

/** The register kernel's bindings: uniforms, its source (x or dy), the weight, [bias], its output. */
export function conv2dRegisterBindings(spec: Conv2dRegisterSpec): { bindings: BindingKind[]; declarations: string } {
  return conv2dStorageBindings([spec.transposed ? 'dy' : 'x', 'wt', spec.bias && 'bias'], 'out');
}

/** The program key part naming a register specialisation, e.g. 'c6_p15_k5_s1x1_bias_relu'. */
export function conv2dRegisterKey(spec: Conv2dRegisterSpec): string {
  return `c${spec.channels}_p${spec.pixels}_k${spec.kw}_s${spec.sh}x${spec.sw}${spec.bias ? '_bias' : ''}${spec.relu ? '_relu' : ''}`;
}
