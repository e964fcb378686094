/**
 * Class-label tensors made from host data remember the range of their values, so that crossEntropy can
 * reject an out-of-range label on the host with a clear message, without reading the GPU back.
 */
import { tensor, type Tensor } from './tensor.js';

export interface LabelRange {
  min: number;
  /** First index holding `min`. */
  minIndex: number;
  max: number;
  /** First index holding `max`. */
  maxIndex: number;
}

const ranges = new WeakMap<Tensor, LabelRange>();

/** An i32 [n] tensor of class indices whose value range is known to the host. */
export function labels(data: Int32Array | number[]): Tensor {
  data.forEach((value, i) => {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new Error(`labels: value ${value} at index ${i} is not an i32 integer`);
  });
  const values = data instanceof Int32Array ? data : Int32Array.from(data);
  const t = tensor(values, [values.length], { dtype: 'i32' });
  if (values.length) {
    const range: LabelRange = { min: values[0], minIndex: 0, max: values[0], maxIndex: 0 };
    values.forEach((value, i) => {
      if (value < range.min) Object.assign(range, { min: value, minIndex: i });
      if (value > range.max) Object.assign(range, { max: value, maxIndex: i });
    });
    ranges.set(t, range);
  }
  return t;
}

/** The range of a tensor made by `labels`, or undefined for any other tensor. */
export function labelRange(t: Tensor): LabelRange | undefined {
  return ranges.get(t);
}
