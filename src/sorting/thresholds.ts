/**
 * Detection thresholds (spec §5): thr[c] = -κ · median |y[m·S, c]| over the first sample of
 * each ms block of the first buffer load, before any subtraction. No 0.6745 factor.
 */
import type { FilteredBuffer } from '../preprocess/signal-processor.js';

/** Median of the first `n` values (sorted in place); an even count takes the mean of the middle two. */
export function medianInPlace(values: Float32Array, n: number): number {
  if (n <= 0) throw new RangeError('median of an empty set');
  const v = values.subarray(0, n);
  v.sort();
  const h = n >> 1;
  return n % 2 === 1 ? v[h] : Math.fround((v[h - 1] + v[h]) / 2);
}

/**
 * @param buf filtered buffer whose slots 0..numMs-1 hold ms blocks 1..numMs of the recording
 * @param numMs min(4L, T-1)
 * @param sensitivity κ
 */
export function computeThresholds(buf: FilteredBuffer, numMs: number, sensitivity: number): Float32Array {
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const thr = new Float32Array(C);
  const col = new Float32Array(numMs);
  const data = buf.data;
  for (let c = 0; c < C; c++) {
    for (let m = 0; m < numMs; m++) col[m] = Math.abs(data[(m * C + c) * S]);
    thr[c] = -sensitivity * medianInPlace(col, numMs);
  }
  return thr;
}
