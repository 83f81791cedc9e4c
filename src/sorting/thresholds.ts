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
  const col = new Float32Array(numMs);
  const data = buf.data;
  for (let c = 0; c < C; c++) {
    for (let m = 0; m < numMs; m++) col[m] = Math.abs(data[(m * C + c) * S]);
    thr[c] = -sensitivity * medianInPlace(col, numMs);
  }
  return thr;
}
