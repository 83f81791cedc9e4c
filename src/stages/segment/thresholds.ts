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

/** Bins of the radix pre-selection: the top 11 bits of an order-preserving key of the float32 bits. */
const MEDIAN_SHIFT = 21;
const MEDIAN_BINS = 1 << 11;
const medianHist = new Uint32Array(MEDIAN_BINS);
let medianScratch = new Float32Array(0);

/**
 * Unsigned keys that order like the float32 values (negative values' bits inverted, the others'
 * sign bit set). Without a branch: a branch first taken late (the first negative value) threw
 * the compiled medianOf away.
 */
function sortKey(bits: number): number {
  return (bits ^ ((bits >> 31) | 0x80000000)) >>> 0;
}

/**
 * The median of `a` as sorting gives it: the middle value, or for an even count the float64
 * mean of the middle two (not rounded to float32); `a` is not modified (0 for none). One
 * histogram of the top key bits names the bin(s) holding the middle ranks; only their values (a
 * few percent) go through a quickselect. Used for recovery's template scores (two per template
 * and segment over every block: a quickselect over all of them took ~0.3 ms per 12 000 scores,
 * most of the recovery pass at 384 channels) and units' noise floors (thousands of vectors per
 * sort: ~110 µs each at 1536 channels when a copy was sorted). Values with Infinity or NaN are
 * sorted (NaN orders last).
 */
export function medianOf(a: Float32Array): number {
  const n = a.length;
  if (n === 0) return 0;
  const bits = new Uint32Array(a.buffer, a.byteOffset, n);
  const hist = medianHist;
  const h = n >> 1;
  if (keyHistogram(bits, hist)) {
    const s = Float32Array.from(a).sort();
    return n % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
  }
  // The bins holding ranks h - 1 (even n only) and h, and how many values lie below each.
  const [highBin, highBelow] = binOfRank(hist, h);
  const [lowBin, base] = n % 2 ? [highBin, highBelow] : binOfRank(hist, h - 1);
  const count = hist[lowBin] + (highBin !== lowBin ? hist[highBin] : 0);
  if (medianScratch.length < count) medianScratch = new Float32Array(Math.max(count, 2 * medianScratch.length));
  const cand = medianScratch;
  gatherBins(a, bits, lowBin, highBin, cand);
  const hi = select(cand, 0, count - 1, h - base);
  if (n % 2) return hi;
  // The lower middle is the largest candidate left of the upper middle's position.
  let lo = cand[0];
  for (let i = 1; i < h - base; i++) if (cand[i] > lo) lo = cand[i];
  return 0.5 * (lo + hi);
}

// medianOf's passes over its values are functions of their own (see "Code shape" in
// stages/sort/kernels-cpu.ts; medianOf was compiled six times in a 32-channel sort).

/** hist[b] = how many keys have top bits b (hist cleared first); whether any value is Infinity or NaN. */
function keyHistogram(bits: Uint32Array, hist: Uint32Array): boolean {
  hist.fill(0);
  let special = false;
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000) special = true;
    hist[sortKey(b) >>> MEDIAN_SHIFT]++;
  }
  return special;
}

/** The bin of hist holding rank `rank`, and how many values lie in the bins below it. */
function binOfRank(hist: Uint32Array, rank: number): [number, number] {
  let bin = 0;
  let below = 0;
  while (below + hist[bin] <= rank) below += hist[bin++];
  return [bin, below];
}

/** The values of `a` whose keys lie in bins lowBin or highBin, in order, into `cand`. */
function gatherBins(a: Float32Array, bits: Uint32Array, lowBin: number, highBin: number, cand: Float32Array): void {
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const bin = sortKey(bits[i]) >>> MEDIAN_SHIFT;
    if (bin === lowBin || bin === highBin) cand[j++] = a[i];
  }
}

/**
 * The top.length indices of `a` with the largest values, largest first, ties by index: the first
 * entries of the order `Array.from(a.keys()).sort((x, y) => a[y] - a[x] || x - y)` gives, in one
 * pass instead of a sort of every index (recovery's templates, the burst merge's footprints: at
 * 1536 channels those sorts took ~0.4 s of the recovery pass and ~0.5 s of the segments' burst
 * merges). False when `a` holds a NaN (that comparator's order is then the sort's own: the
 * caller sorts) or fewer than top.length values.
 */
export function largestIndices(a: Float32Array | Float64Array, top: Int32Array): boolean {
  const J = top.length;
  let n = 0;
  for (let c = 0; c < a.length; c++) {
    const v = a[c];
    if (v !== v) return false;
    // After every kept index of the same or a larger value (they are smaller indices).
    if (n === J && !(v > a[top[J - 1]])) continue;
    let p = n < J ? n++ : J - 1;
    while (p > 0 && a[top[p - 1]] < v) {
      top[p] = top[p - 1];
      p--;
    }
    top[p] = c;
  }
  return n === J;
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
/** Channels counted together (their histograms: 512 KiB). */
const COUNT_TILE = 64;

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
 * thr[c] = -κ · median over the window's ms blocks of |y| at their first sample, built up
 * while pass 1 streams the window: the filter threads write each chunk's first samples into
 * the accumulator's shared rows, whose magnitudes (float32 bits with the sign bit cleared) are
 * counted into per-channel histograms of their top bits as the chunk arrives, while the filter
 * works on the next one. Non-negative floats order like their bits, so the histogram names the
 * bin holding each column's middle rank; once the window is complete one pass in memory order
 * keeps those bins' values (a few percent) and a quickselect among them gives the median, the
 * same value medianInPlace gives. Columns with Infinity or NaN take medianInPlace itself.
 * (Computed after the window, as before, this took ~165 ms at 384 channels with the filter
 * threads idle; a separate buffer for the filter's values and a copy of their magnitudes held
 * another 4L x C floats, at 1536 channels 247 MB and ~60 000 page faults.)
 */
export class ThresholdAccumulator {
  /**
   * The window's first samples, [m * C + c], as float32 bits: the caller (or a filter thread:
   * the buffer is shared) writes each row, y or |y|, before counting it; count() clears the
   * sign bits in place, leaving |y| (the value Math.abs gives, -0 becomes +0). Rows from numMs
   * on (up to capacityMs) may be written and are ignored.
   */
  readonly magnitudes: Uint32Array;
  /** The same memory as float32 values: where a filter writes y at each ms block's first sample (FilteredBuffer.firstSamples). */
  readonly firstSamples: Float32Array;
  private readonly hist: Uint32Array;
  private counted = 0;
  /** Set by thresholds(): the rows may then be another's (a window's slots, see `storage`). */
  private spent = false;

  /**
   * @param capacityMs rows held (>= numMs): a filter's last chunk may run past the window.
   * @param storage where to keep the rows (capacityMs x C floats in shared memory) instead of a
   *   buffer of its own; its contents are the accumulator's until thresholds() returns.
   */
  constructor(readonly numChannels: number, readonly numMs: number, capacityMs = numMs, storage: Float32Array | null = null) {
    const n = Math.max(numMs, capacityMs) * numChannels;
    if (storage && (storage.length < n || !(storage.buffer instanceof SharedArrayBuffer))) {
      throw new RangeError(`ThresholdAccumulator: storage must be ${n} floats of shared memory, got ${storage.length}${storage.buffer instanceof SharedArrayBuffer ? '' : ' (not shared)'}`);
    }
    this.firstSamples = storage ? storage.subarray(0, n) : new Float32Array(new SharedArrayBuffer(n * 4));
    this.magnitudes = new Uint32Array(this.firstSamples.buffer, this.firstSamples.byteOffset, n);
    this.hist = new Uint32Array(numChannels * RADIX_BINS);
  }

  /** Clears the sign bits of rows [m0, m1) of `magnitudes` and counts them; rows are counted in order, each once. */
  count(m0: number, m1: number): void {
    if (this.spent) throw new RangeError('ThresholdAccumulator.count: the thresholds were already taken');
    if (m0 !== this.counted || m1 < m0 || m1 > this.numMs) throw new RangeError(`ThresholdAccumulator.count: rows [${m0}, ${m1}) after ${this.counted} of ${this.numMs}`);
    const C = this.numChannels;
    const { hist, magnitudes } = this;
    // Channel tiles whose histograms stay in cache (64 x 8 KiB): all channels at once missed
    // the cache on every increment at 1536 channels (12.6 MB of histograms; 1.15 s per run).
    for (let c0 = 0; c0 < C; c0 += COUNT_TILE) {
      const c1 = Math.min(C, c0 + COUNT_TILE);
      for (let m = m0; m < m1; m++) {
        const base = m * C;
        for (let c = c0; c < c1; c++) {
          const v = magnitudes[base + c] & 0x7fffffff;
          magnitudes[base + c] = v;
          hist[c * RADIX_BINS + (v >>> RADIX_SHIFT)]++;
        }
      }
    }
    this.counted = m1;
  }

  /** thr[c] = -sensitivity * median of column c, once every row is counted. */
  thresholds(sensitivity: number): Float32Array {
    const C = this.numChannels;
    const n = this.numMs;
    if (this.spent) throw new RangeError('ThresholdAccumulator.thresholds: already taken (its rows may have been reused)');
    if (this.counted !== n) throw new RangeError(`ThresholdAccumulator.thresholds: ${this.counted} of ${n} rows counted`);
    if (n <= 0) throw new RangeError('median of an empty set');
    const { hist, magnitudes } = this;
    const thr = new Float32Array(C);
    const h = n >> 1; // rank of the upper middle (0-based)
    const bin = new Int32Array(C).fill(-1);  // -1: Infinity or NaN in the column
    const below = new Int32Array(C);
    const offset = new Int32Array(C + 1);
    for (let c = 0; c < C; c++) {
      const hc = hist.subarray(c * RADIX_BINS, (c + 1) * RADIX_BINS);
      let special = 0;
      for (let b = INF_BIN; b < RADIX_BINS; b++) special += hc[b];
      let count = 0;
      if (special === 0) {
        let b = 0;
        let sum = 0;
        while (sum + hc[b] <= h) sum += hc[b++];
        bin[c] = b;
        below[c] = sum;
        count = hc[b];
      }
      offset[c + 1] = offset[c] + count;
    }
    // One pass in memory order collects every channel's median bin.
    const cand = new Float32Array(offset[C]);
    const candBits = new Uint32Array(cand.buffer);
    const fill = offset.slice(0, C);
    for (let m = 0; m < n; m++) {
      const base = m * C;
      for (let c = 0; c < C; c++) {
        const v = magnitudes[base + c];
        if (v >>> RADIX_SHIFT === bin[c]) candBits[fill[c]++] = v;
      }
    }
    for (let c = 0; c < C; c++) {
      let median: number;
      if (bin[c] < 0) {
        const col = new Float32Array(n);
        const colBits = new Uint32Array(col.buffer);
        for (let m = 0; m < n; m++) colBits[m] = magnitudes[m * C + c];
        median = medianInPlace(col, n);
      } else {
        const off = offset[c];
        const k = h - below[c];
        const hi = select(cand, off, offset[c + 1] - 1, off + k);
        if (n % 2 === 1) {
          median = hi;
        } else {
          let lo: number;
          if (k > 0) {
            // The lower middle is the largest candidate left of position k after selection.
            lo = cand[off];
            for (let i = off + 1; i < off + k; i++) if (cand[i] > lo) lo = cand[i];
          } else {
            // The upper middle is its bin's smallest value: the lower middle is the largest
            // value of the bins below (there is one: h >= 1 values precede it).
            let maxBits = 0;
            for (let m = 0; m < n; m++) {
              const v = magnitudes[m * C + c];
              if (v >>> RADIX_SHIFT < bin[c] && v > maxBits) maxBits = v;
            }
            lo = new Float32Array(new Uint32Array([maxBits]).buffer)[0];
          }
          median = Math.fround((lo + hi) / 2);
        }
      }
      thr[c] = -sensitivity * median;
    }
    this.spent = true;
    return thr;
  }
}

/**
 * @param buf filtered buffer whose slots 0..numMs-1 hold ms blocks 1..numMs of the recording
 * @param numMs min(4L, T-1)
 * @param sensitivity κ
 */
export function computeThresholds(buf: FilteredBuffer, numMs: number, sensitivity: number): Float32Array {
  const acc = new ThresholdAccumulator(buf.numChannels, numMs);
  firstSampleMagnitudes(buf, 0, numMs, acc.magnitudes, 0);
  acc.count(0, numMs);
  return acc.thresholds(sensitivity);
}
