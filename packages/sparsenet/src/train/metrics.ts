/**
 * Classification metrics from logits on the host: mean cross-entropy, accuracy, balanced accuracy (the mean of
 * per-class recall, the fair number on HAM10000 where 67% of images are nv), per-class recall and the confusion
 * matrix (rows: true class, columns: predicted).
 */
export interface ClassificationMetrics {
  count: number;
  loss: number;
  accuracy: number;
  balancedAccuracy: number;
  /** NaN for a class with no examples. */
  recall: number[];
  confusion: number[][];
}

export function classificationMetrics(logits: Float32Array, labels: Int32Array, classes: number): ClassificationMetrics {
  const n = labels.length;
  if (logits.length !== n * classes) throw new Error(`classificationMetrics: ${logits.length} logits for ${n} labels x ${classes} classes`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      if (row[c] > max) {
        max = row[c];
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(row[c] - max);
    const label = labels[i];
    lossSum += Math.log(sum) + max - row[label];
    confusion[label][best]++;
    if (best === label) correct++;
  }
  const recall = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[c] / total : NaN;
  });
  const present = recall.filter((r) => !Number.isNaN(r));
  return {
    count: n,
    loss: n ? lossSum / n : NaN,
    accuracy: n ? correct / n : NaN,
    balancedAccuracy: present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
    recall,
    confusion,
  };
}

/** Numerically stable softmax in float64 (class probabilities from one row of logits). */
export function softmax(logits: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** A metric as text: `digits` decimals, '-' for NaN (a class with no images). */
export const formatMetric = (v: number, digits = 4): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** Per-class recall (with each class's image count) and the confusion matrix, as text lines. */
export function formatClassMetrics(m: ClassificationMetrics, classNames: readonly string[]): string[] {
  const width = Math.max(...classNames.map((c) => c.length), ...m.confusion.flat().map((n) => String(n).length)) + 2;
  const cell = (text: string | number) => String(text).padStart(width);
  const support = m.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  return [
    'recall per class:',
    ...classNames.map((c, i) => `  ${c.padEnd(width - 2)} ${formatMetric(m.recall[i])}  (${support[i]} images)`),
    '',
    'confusion matrix (rows: true class, columns: predicted):',
    `  ${' '.repeat(width - 2)}${classNames.map(cell).join('')}`,
    ...m.confusion.map((row, r) => `  ${classNames[r].padEnd(width - 2)}${row.map(cell).join('')}`),
  ];
}
