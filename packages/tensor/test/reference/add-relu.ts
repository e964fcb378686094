/** Float64 reference of relu(a + b) and its backward (the gradient passes to both inputs where the output is positive). */
export function addReluRef(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v, i) => Math.max(v + b[i], 0));
}

export function addReluBackwardRef(a: ArrayLike<number>, b: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => (a[i] + b[i] > 0 ? g : 0));
}
