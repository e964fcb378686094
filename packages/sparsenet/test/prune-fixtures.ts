/** Fixtures for the pruning tests: seeded layers, LeNet's layer stack, and a float64 reference LeNet forward. */
import { Random } from '@sparsenet/tensor';
import type { PrunableLayer } from '@sparsenet/sparsenet';

/** A layer with normal(0, scale) weights, uniform biases, all-one masks. */
export function randomLayer(name: string, kind: 'conv' | 'linear', shape: number[], seed: number, scale = 1): PrunableLayer {
  const random = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    kind,
    shape,
    weight: Float32Array.from({ length: n }, () => scale * random.normal()),
    mask: new Float32Array(n).fill(1),
    bias: Float32Array.from({ length: shape[0] }, () => random.uniform(-0.5, 0.5)),
  };
}

export const LENET_INPUT: [number, number] = [64, 64];

/** conv1 [6,3,5,5], conv2 [16,6,5,5], fc1 [120,16*13*13], fc2 [84,120], fc3 [7,84] (output). */
export function lenetLayers(seed: number): PrunableLayer[] {
  return [
    randomLayer('conv1', 'conv', [6, 3, 5, 5], seed, 0.2),
    randomLayer('conv2', 'conv', [16, 6, 5, 5], seed + 1, 0.1),
    randomLayer('fc1', 'linear', [120, 16 * 13 * 13], seed + 2, 0.03),
    randomLayer('fc2', 'linear', [84, 120], seed + 3, 0.1),
    { ...randomLayer('fc3', 'linear', [7, 84], seed + 4, 0.1), isOutput: true },
  ];
}

export function randomInput(length: number, seed: number): Float64Array {
  const random = new Random(seed);
  return Float64Array.from({ length }, () => random.uniform(-1, 1));
}

/**
 * Float64 LeNet forward of one CHW image with the effective weights (weight * mask, bias * biasMask): each conv
 * (valid, stride 1) then ReLU then 2x2 max-pool, flatten, linears with ReLU except the last.
 */
export function referenceForward(layers: readonly PrunableLayer[], image: Float64Array, [height, width]: [number, number]): Float64Array {
  let x = image;
  let h = height;
  let w = width;
  layers.forEach((layer, index) => {
    const weight = (j: number) => layer.weight[j] * layer.mask[j];
    const bias = (o: number) => (layer.bias ? layer.bias[o] * (layer.biasMask ? layer.biasMask[o] : 1) : 0);
    const last = index === layers.length - 1;
    if (layer.kind === 'conv') {
      const [out, inC, kh, kw] = layer.shape;
      const oh = h - kh + 1;
      const ow = w - kw + 1;
      const y = new Float64Array(out * oh * ow);
      for (let o = 0; o < out; o++) {
        for (let r = 0; r < oh; r++) {
          for (let c = 0; c < ow; c++) {
            let sum = bias(o);
            for (let i = 0; i < inC; i++) {
              for (let p = 0; p < kh; p++) {
                for (let q = 0; q < kw; q++) sum += weight(((o * inC + i) * kh + p) * kw + q) * x[(i * h + r + p) * w + c + q];
              }
            }
            y[(o * oh + r) * ow + c] = Math.max(0, sum);
          }
        }
      }
      const ph = Math.floor(oh / 2);
      const pw = Math.floor(ow / 2);
      const pooled = new Float64Array(out * ph * pw);
      for (let o = 0; o < out; o++) {
        for (let r = 0; r < ph; r++) {
          for (let c = 0; c < pw; c++) {
            const at = (dr: number, dc: number) => y[(o * oh + 2 * r + dr) * ow + 2 * c + dc];
            pooled[(o * ph + r) * pw + c] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
          }
        }
      }
      x = pooled;
      h = ph;
      w = pw;
    } else {
      const [out, inF] = layer.shape;
      if (x.length !== inF) throw new Error(`referenceForward: '${layer.name}' takes ${inF} inputs, got ${x.length}`);
      const y = new Float64Array(out);
      for (let o = 0; o < out; o++) {
        let sum = bias(o);
        for (let i = 0; i < inF; i++) sum += weight(o * inF + i) * x[i];
        y[o] = last ? sum : Math.max(0, sum);
      }
      x = y;
    }
  });
  return x;
}

/** Indices where the mask is 0. */
export function prunedIndices(mask: Float32Array): number[] {
  return [...mask.keys()].filter((j) => mask[j] === 0);
}

export function countZeros(mask: Float32Array): number {
  let n = 0;
  for (const m of mask) if (m === 0) n++;
  return n;
}

/** Element-wise equality (vitest's toEqual is slow on arrays of 300k). */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
