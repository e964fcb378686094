/**
 * Grids larger than WebGPU's 65,535 workgroups per dimension: a 1-D count of workgroups is folded into
 * x and y, and the shader unfolds it with `LINEAR_WORKGROUP` (workgroups past the count must return early).
 */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

export function foldGrid(workgroups: number, limit = MAX_WORKGROUPS_PER_DIMENSION): [number, number, number] {
  if (workgroups <= limit) return [workgroups, 1, 1];
  const y = Math.ceil(workgroups / limit);
  const x = Math.ceil(workgroups / y);
  if (y > limit) throw new Error(`grid of ${workgroups} workgroups exceeds ${limit}^2`);
  return [x, y, 1];
}

/** WGSL expression for the linear workgroup index of a folded grid (needs `wid` and `nwg` builtins). */
export const LINEAR_WORKGROUP = '(wid.x + wid.y * nwg.x)';

/** Entry-point builtins matching LINEAR_WORKGROUP. */
export const WORKGROUP_BUILTINS = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32';
