/**
 * Shared shape of the elementwise kernels: one thread per element, a folded 1-D grid, `n` in a uniform.
 * Each elementwise kernel file supplies only its bindings and the body that computes element `i`.
 */
import { foldGrid, LINEAR_WORKGROUP, WORKGROUP_BUILTINS } from './grid.js';
import type { BindingKind, Program } from './runner.js';

export const ELEMENTWISE_WORKGROUP = 256;

/** `declarations` name the storage bindings from 1 on (binding 0 is the uniform `u` with `n` first). */
export function elementwiseProgram(key: string, bindings: BindingKind[], declarations: string, uniformFields: string, body: string): Program {
  return {
    key,
    bindings: ['uniform', ...bindings],
    wgsl: /* wgsl */ `
struct U { n: u32, ${uniformFields} }
@group(0) @binding(0) var<uniform> u: U;
${declarations}
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(${WORKGROUP_BUILTINS}) {
  let i = ${LINEAR_WORKGROUP} * ${ELEMENTWISE_WORKGROUP}u + lid;
  if (i >= u.n) { return; }
  ${body}
}`,
  };
}

export function elementwiseGrid(n: number): [number, number, number] {
  return foldGrid(Math.ceil(n / ELEMENTWISE_WORKGROUP));
}
