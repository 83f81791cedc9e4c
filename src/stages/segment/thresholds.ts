/**
 * Detection thresholds (spec §5): thr[c] = -κ · median |y[m·S, c]| over the first sample of
 * each ms block of the first buffer load, before any subtraction. No 0.6745 factor.
 */
import type { FilteredBuffer } from '../../core/window.js';

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

/** Hoare-partition quickselect: places the k-th smallest at index k, smaller ones before it (no NaN). */
export function select(a: Float32Array, left: number, right: number, k: number): number {
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

/** Bins of the first radix level: the top 11 of the 31 magnitude bits (8 exponent, 3 mantissa). */
const RADIX_SHIFT = 20;
const RADIX_BINS = 1 << 11;
/** Bin of +Infinity; bins at or above it hold Infinity or NaN. */
const INF_BIN = 0x7f800000 >>> RADIX_SHIFT;

/** Reused scratch of the radix median (thresholds are computed on one thread). */
let histScratch = new Uint32Array(RADIX_BINS);
let candScratch = new Float32Array(0);

/**
 * medianInPlace for magnitudes given as float32 bit patterns with the sign bit clear (|y|): same
 * value bit for bit. Non-negative floats order like their bits, so one histogram of the top bits
 * finds the bin holding the middle rank; only that bin's values (a few percent) go through the
 * quickselect. Columns with Infinity or NaN take medianInPlace itself. `bits` is not modified.
 */
export function medianOfMagnitudeBits(bits: Uint32Array, n: number): number {
  if (n <= 0) throw new RangeError('median of an empty set');
  const hist = histScratch;
  hist.fill(0);
  for (let i = 0; i < n; i++) hist[bits[i] >>> RADIX_SHIFT]++;
  let special = 0;
  for (let b = INF_BIN; b < RADIX_BINS; b++) special += hist[b];
  if (special > 0) {
    const f = new Float32Array(n);
    f.set(new Float32Array(bits.buffer, bits.byteOffset, n));
    return medianInPlace(f, n);
  }
  const h = n >> 1; // rank of the upper middle (0-based)
  let bin = 0;
  let below = 0; // values in bins < bin
  while (below + hist[bin] <= h) below += hist[bin++];
  const count = hist[bin];
  if (candScratch.length < count) candScratch = new Float32Array(Math.max(count, 2 * candScratch.length));
  const cand = candScratch;
  const candBits = new Uint32Array(cand.buffer, 0, count);
  let j = 0;
  for (let i = 0; i < n; i++) if (bits[i] >>> RADIX_SHIFT === bin) candBits[j++] = bits[i];
  const k = h - below;
  const hi = select(cand, 0, count - 1, k);
  if (n % 2 === 1) return hi;
  let lo: number;
  if (k > 0) {
    // The lower middle is the largest candidate left of position k after selection.
    lo = cand[0];
    for (let i = 1; i < k; i++) if (cand[i] > lo) lo = cand[i];
  } else {
    // The upper middle is its bin's smallest value: the lower middle is the largest value of
    // the bins below (there is one: h >= 1 values precede it).
    let maxBits = 0;
    for (let i = 0; i < n; i++) {
      const v = bits[i];
      if (v >>> RADIX_SHIFT < bin && v > maxBits) maxBits = v;
    }
    lo = new Float32Array(new Uint32Array([maxBits]).buffer)[0];
  }
  return Math.fround((lo + hi) / 2);
}

/**
 * |y| of the first sample of each ms block of a filtered window, as float32 bits with the sign
 * bit cleared (the value Math.abs gives; -0 becomes +0), laid out [m * C + c]: what §5 needs,
 * C values per ms instead of C x S.
 */
export function firstSampleMagnitudes(buf: FilteredBuffer, firstSlot: number, numMs: number, out: Uint32Array, outMs: number): void {
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const data = new Uint32Array(buf.data.buffer, buf.data.byteOffset, buf.data.length);
  for (let m = 0; m < numMs; m++) {
    const src = ((firstSlot + m) * C) * S;
    const dst = (outMs + m) * C;
    for (let c = 0; c < C; c++) out[dst + c] = data[src + c * S] & 0x7fffffff;
  }
}

/**
 * thr[c] = -κ · median over m < numMs of magnitudes[m * C + c] (see firstSampleMagnitudes).
 * The median is a value, independent of the order the column is gathered in.
 */
export function thresholdsFromMagnitudes(magnitudes: Uint32Array, numChannels: number, numMs: number, sensitivity: number): Float32Array {
  const C = numChannels;
  const thr = new Float32Array(C);
  // Channel tiles, ms outer: the gather walks memory forward instead of striding per channel.
  const TILE = 32;
  const cols = new Uint32Array(Math.min(TILE, C) * numMs);
  for (let c0 = 0; c0 < C; c0 += TILE) {
    const nt = Math.min(TILE, C - c0);
    for (let m = 0; m < numMs; m++) {
      const base = m * C + c0;
      for (let t = 0; t < nt; t++) cols[t * numMs + m] = magnitudes[base + t];
    }
    for (let t = 0; t < nt; t++) {
      thr[c0 + t] = -sensitivity * medianOfMagnitudeBits(cols.subarray(t * numMs, (t + 1) * numMs), numMs);
    }
  }
  return thr;
}

/**
 * @param buf filtered buffer whose slots 0..numMs-1 hold ms blocks 1..numMs of the recording
 * @param numMs min(4L, T-1)
 * @param sensitivity κ
 */
export function computeThresholds(buf: FilteredBuffer, numMs: number, sensitivity: number): Float32Array {
  const mags = new Uint32Array(numMs * buf.numChannels);
  firstSampleMagnitudes(buf, 0, numMs, mags, 0);
  return thresholdsFromMagnitudes(mags, buf.numChannels, numMs, sensitivity);
}
