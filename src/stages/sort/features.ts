/**
 * Inter-channel difference vector of a mean waveform (spec §9): 20 numbers that describe how
 * a spike's shape differs between the channels of its neighbourhood, independent of where the
 * neighbourhood sits on the probe. Used to accept or reject splits and to steer matching.
 */

export const FEATURE_LENGTH = 20;

/**
 * @param w mean waveform, `numChannels` rows of `width` (= 2S) samples, row-major
 * @param numChannels 4 or 5 (the neighbourhood size)
 * @param out optional destination of length 20
 */
export function differenceVector(w: Float32Array, numChannels: number, width: number, out?: Float32Array, wOffset = 0): Float32Array {
  const f = out ?? new Float32Array(FEATURE_LENGTH);
  if (numChannels < 4 || numChannels > 5) {
    throw new RangeError(`differenceVector: numChannels must be 4 or 5, got ${numChannels}`);
  }
  let k = 0;
  // Pairs (i, j), i < j, ordered by j then i: (0,1), (0,2), (1,2), (0,3), ...
  for (let j = 1; j < numChannels; j++) {
    const oj = wOffset + j * width;
    for (let i = 0; i < j; i++) {
      const oi = wOffset + i * width;
      let up = 0;
      let down = 0;
      for (let t = 0; t < width; t++) {
        const a = w[oj + t];
        const b = w[oi + t];
        // float32 differences, as the reference computes them on float32 arrays
        const d1 = Math.fround(a - b);
        const d2 = Math.fround(b - a);
        if (d1 > up) up = d1;
        if (d2 > down) down = d2;
      }
      f[k++] = up;
      f[k++] = down;
    }
  }
  if (numChannels === 4) {
    // 12 pair entries; the remaining 8 describe each channel's own extremes.
    for (let c = 0; c < 4; c++) {
      const oc = wOffset + c * width;
      let neg = 0;
      let pos = 0;
      for (let t = 0; t < width; t++) {
        const v = w[oc + t];
        if (-v > neg) neg = -v;
        if (v > pos) pos = v;
      }
      f[k++] = neg;
      f[k++] = pos;
    }
  }
  return f;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
