/**
 * Detection thresholds (spec §5): thr[c] = -κ · median |y[m·S, c]| over the first sample of
 * each ms block of the first buffer load, before any subtraction. No 0.6745 factor.
 */
import type { FilteredBuffer } from '../preprocess/signal-processor.js';

/**
 * Median of the first `n` values (reordered in place); an even count takes the mean of the
 * middle two. Selection (expected O(n)) rather than a full sort: 384 channels x 40 000 blocks
 * sorted took ~0.9 s, selection takes a few ms.
 */
export function medianInPlace(values: Float32Array, n: number): number {
  if (n <= 0) throw new RangeError('median of an empty set');
  const h = n >> 1;
  const hi = select(values, 0, n - 1, h);
  if (n % 2 === 1) return hi;
  // The lower middle is the largest value left of position h after selection.
  let lo = values[0];
  for (let i = 1; i < h; i++) if (values[i] > lo) lo = values[i];
  return Math.fround((lo + hi) / 2);
}

/** Hoare-partition quickselect: places the k-th smallest at index k, smaller ones before it. */
function select(a: Float32Array, left: number, right: number, k: number): number {
  while (right > left) {
    // median of three as pivot, to stay linear on sorted or constant runs
    const mid = (left + right) >> 1;
    const x = a[left], y = a[mid], z = a[right];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break; // a[k] equals the pivot
  }
  return a[k];
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
  const data = buf.data;
  // Channel tiles, ms outer: each ms block's first samples of a tile sit S floats apart, so
  // the gather walks memory forward instead of striding across the whole buffer per channel.
  const TILE = 32;
  const cols = new Float32Array(Math.min(TILE, C) * numMs);
  for (let c0 = 0; c0 < C; c0 += TILE) {
    const nt = Math.min(TILE, C - c0);
    for (let m = 0; m < numMs; m++) {
      const base = (m * C + c0) * S;
      for (let t = 0; t < nt; t++) cols[t * numMs + m] = Math.abs(data[base + t * S]);
    }
    for (let t = 0; t < nt; t++) {
      thr[c0 + t] = -sensitivity * medianInPlace(cols.subarray(t * numMs, (t + 1) * numMs), numMs);
    }
  }
  return thr;
}
