/** Float64 reference of the channel sum: out[c] = sum over o, i of x[o, c, i]. */
export function sumAxesRef(x: ArrayLike<number>, outer: number, channels: number, inner: number): Float64Array {
  const out = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < inner; i++) out[c] += x[(o * channels + c) * inner + i];
    }
  }
  return out;
}
