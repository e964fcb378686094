/** Float64 reference of PyTorch's F.cross_entropy (mean reduction, class indices) and its logits gradient. */

export function crossEntropyRef(logits: ArrayLike<number>, labels: ArrayLike<number>, rows: number, classes: number): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(rows * classes);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let top = -Infinity;
    for (let j = 0; j < classes; j++) top = Math.max(top, logits[r * classes + j]);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logits[r * classes + j] - top);
    const lse = top + Math.log(sum);
    total += lse - logits[r * classes + labels[r]];
    for (let j = 0; j < classes; j++) {
      const p = Math.exp(logits[r * classes + j] - lse);
      grad[r * classes + j] = (p - (j === labels[r] ? 1 : 0)) / rows;
    }
  }
  return { loss: total / rows, grad };
}
