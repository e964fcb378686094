/**
 * What the register-blocked matmuls (matmul-register.ts, matmul-subgroup.ts) share: a thread's (or lane's)
 * block of C in named vec4 accumulators, how it reads its rows of op(A), and the unrolled FMAs of a step of k.
 * The WGSL is generated unrolled so that no driver has to unroll loops or promote arrays to registers.
 */
import { matmulAVec4, matmulBVec4, type MatmulSpec } from './matmul-spec.js';

export const XYZW = ['x', 'y', 'z', 'w'];
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const lines = (items: string[], pad = '  ') => items.join(`\n${pad}`);

/** How a thread (or lane) reads its rows of op(A), its fixed offsets, and the FMAs of one step of k. */
export class MatmulRegisterBlock {
  readonly aAlongK: boolean;
  readonly bAlongK: boolean;
  readonly groups: number;

  constructor(
    readonly s: MatmulSpec,
    readonly rows: number,
    readonly cols: number,
  ) {
    // A is read along k (stored [M,K]) or along m (stored [K,M], transA); B along n (stored [K,N]) or
    // along k (stored [N,K], transB).
    this.aAlongK = !s.transA;
    this.bAlongK = s.transB;
    this.groups = cols / 4;
    if (!this.aAlongK && rows % 4) throw new Error(`matmul: ${rows} rows per thread must be a multiple of 4 when A is transposed`);
    if (cols % 4) throw new Error(`matmul: ${cols} columns per thread must be a multiple of 4`);
  }

  /** Element offsets of this thread's rows, fixed for the whole loop (vec4 groups clamp as a whole). */
  aOffsets(): string[] {
    const clamp = matmulAVec4(this.s) ? 'u.M - 4u' : 'u.M - 1u';
    return this.aAlongK
      ? range(this.rows).map((i) => `let aRow${i} = min(row0 + ${i}u, u.M - 1u) * u.K;`)
      : range(this.rows / 4).map((g) => `let aCol${g} = min(row0 + ${4 * g}u, ${clamp});`);
  }

  /** Loads of A for a step of `width` k from k: four k at once (vec4 along k) or one. */
  aLoads(width: 1 | 4): string[] {
    if (this.aAlongK) return range(this.rows).map((i) => `let a${i} = ${width === 4 ? 'loadA4' : 'loadA1'}(aRow${i} + k);`);
    return range(width).flatMap((kk) => range(this.rows / 4).map((g) => `let a${kk}_${g} = loadA4((k + ${kk}u) * u.M + aCol${g});`));
  }

  /** A's value at row i and step kk. */
  aValue(i: number, kk: number, width: 1 | 4): string {
    if (this.aAlongK) return width === 4 ? `a${i}.${XYZW[kk]}` : `a${i}`;
    return `a${kk}_${i >> 2}.${XYZW[i & 3]}`;
  }

  fmas(width: 1 | 4, bVector: (g: number, kk: number) => string): string[] {
    return range(width).flatMap((kk) =>
      range(this.rows).flatMap((i) =>
        range(this.groups).map((g) => `acc${i}_${g} = fma(vec4<f32>(${this.aValue(i, kk, width)}), ${bVector(g, kk)}, acc${i}_${g});`),
      ),
    );
  }

  accumulators(): string[] {
    return range(this.rows).flatMap((i) => range(this.groups).map((g) => `var acc${i}_${g} = vec4<f32>(0.0);`));
  }

  stores(): string[] {
    return range(this.rows).flatMap((i) => range(this.groups).map((g) => `store4(row0 + ${i}u, col0 + ${4 * g}u, acc${i}_${g});`));
  }

  /** Clamp bound for the first column of a vec4 group of B read along n. */
  get bGroupClamp(): string {
    return matmulBVec4(this.s) ? 'u.N - 4u' : 'u.N - 1u';
  }
}
