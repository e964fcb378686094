/** Reference of the dropout kernel's mask (the same PCG hash chain in u32 arithmetic) and of dropout with it. */

function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Whether element i is kept for drop probability p under (seed, step). */
export function dropoutKeeps(i: number, p: number, seed: number, step: number): boolean {
  const h = pcg((pcg((pcg(i) + seed) >>> 0) + step) >>> 0);
  return (h >>> 8) / 2 ** 24 >= Math.fround(p);
}

/** y = x * mask / (1 - p), in float64. */
export function dropoutRef(x: ArrayLike<number>, p: number, seed: number, step: number): Float64Array {
  return Float64Array.from(x, (v, i) => (dropoutKeeps(i, p, seed, step) ? v / (1 - p) : 0));
}
