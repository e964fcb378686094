/**
 * How image bytes become network inputs, the seed's transforms.Normalize. No Node imports: the web page
 * normalises its images with the same table.
 */

/** RGB. */
export const CHANNELS = 3;

/** Per-channel x' = (x/255 - mean) / std. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** The seed's Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)): bytes to [-1, 1]. */
export const DEFAULT_NORMALIZATION: Normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/** 256 float32 values per channel, so normalising a byte is one lookup. */
export function normalizationTable({ mean, std }: Normalization): Float32Array {
  if (mean.length !== CHANNELS || std.length !== CHANNELS || std.some((s) => !(s > 0))) {
    throw new Error(`normalization: need ${CHANNELS} means and ${CHANNELS} positive stds, got mean [${mean}] std [${std}]`);
  }
  const table = new Float32Array(CHANNELS * 256);
  for (let c = 0; c < CHANNELS; c++) for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  return table;
}

export const NORMALIZE_MODES = ['half', 'dataset'] as const;
export type NormalizeMode = (typeof NORMALIZE_MODES)[number];

/**
 * Per-channel mean and (population) standard deviation of interleaved RGB bytes, in [0, 1] units, as
 * transforms.Normalize takes them; a channel that never varies gets std 1 (so it maps to 0, not to NaN).
 */
export function measureNormalization(images: Uint8Array): Normalization {
  if (images.length === 0 || images.length % CHANNELS !== 0) throw new Error(`measureNormalization: ${images.length} bytes are not whole RGB pixels`);
  const sum = new Float64Array(CHANNELS);
  const squares = new Float64Array(CHANNELS);
  for (let i = 0; i < images.length; i += CHANNELS) {
    for (let c = 0; c < CHANNELS; c++) {
      const v = images[i + c] / 255;
      sum[c] += v;
      squares[c] += v * v;
    }
  }
  const n = images.length / CHANNELS;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(squares, (s, c) => Math.sqrt(Math.max(0, s / n - mean[c] * mean[c])) || 1);
  return { mean, std };
}
