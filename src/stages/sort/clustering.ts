/**
 * Binary-splitting clustering of spike waveforms (spec §8).
 *
 * A waveform matrix X (n rows of d = channels * 2S float32 values) is split recursively along
 * its principal direction at a 1-D threshold; a split is kept only when the two halves' mean
 * waveforms differ enough in their inter-channel difference vectors (§9). Formation mode
 * follows the side with the deeper trough (falling back to the other side), matching mode the
 * side closer to a reference difference vector.
 *
 * Rows are never copied: every level works on a range of one index array that is partitioned
 * stably in place, so each returned row list is ascending.
 */
import { differenceVector, FEATURE_LENGTH } from './features.js';
import { linalgKernels, type LinalgKernels } from './linalg-wasm.js';

export type ClusterMode = 'formation' | 'matching';

export interface ClusterParams {
  /** Nmin: a set with fewer rows is returned as is (compared as a float). */
  minSpikes: number;
  /** λ, the merging threshold. */
  lambda: number;
  /** Neighbourhood channels in a row (4 or 5). */
  numChannels: number;
  /** Samples per channel in a row (2S); the trough sits at index S. */
  width: number;
}

export interface ClusterResult {
  /** Ascending row indices of X kept by the clustering. */
  rows: Int32Array;
  /** The mean the final call was made with (computed or extrapolated), length d. */
  mean: Float32Array;
}

/** Power-iteration rounds; each round multiplies twice and normalises in between. */
export const POWER_ROUNDS = 5;
const NORM_EPS = 1e-8;

interface Split {
  mid: number;
  mean0: Float32Array;
  mean1: Float32Array;
  u: Float32Array;
  v: Float32Array;
  xx: number;
  xy: number;
  yy: number;
}

interface Frame {
  lo: number;
  hi: number;
  mean: Float32Array;
}

/**
 * 1-D two-group threshold of sorted values (spec §8.3), reproducing the reference's linked
 * list walk and therefore its tie decisions. The walk is O(n): the cursor moves back at most
 * two groups per merge, and forward moves are bounded by n plus the backward moves.
 * Returns the smallest value of the upper group. Needs n >= 2.
 */
export function oneDimThreshold(sorted: Float32Array, n: number, ws?: ThresholdWorkspace): number {
  if (n < 2) throw new RangeError(`oneDimThreshold needs at least 2 values, got ${n}`);
  const w = ws ?? new ThresholdWorkspace(n);
  w.ensure(n);
  const prev = w.prev;
  const next = w.next;
  const centre = w.centre;
  const size = w.size;
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1;
    centre[i] = sorted[i];
    size[i] = 1;
  }
  next[n - 1] = -1;
  const head = 0; // group ids are their first element; merges keep the left id, so 0 stays first
  const cost = (a: number, b: number): number => {
    const dc = Math.fround(centre[b] - centre[a]);
    return Math.fround(Math.fround(dc * dc) * (size[a] < size[b] ? size[a] : size[b]));
  };
  let i = 1;
  for (let rep = 0; rep < n - 2; rep++) {
    while (next[i] !== -1 && cost(prev[i], i) > cost(i, next[i])) i = next[i];
    const p = prev[i];
    const sp = size[p];
    const si = size[i];
    centre[p] = Math.fround(Math.fround(Math.fround(centre[p] * sp) + Math.fround(centre[i] * si)) / (sp + si));
    size[p] = sp + si;
    const ni = next[i];
    next[p] = ni;
    if (ni !== -1) prev[ni] = p;
    const pp = prev[p];
    i = pp === -1 || pp === head ? next[head] : pp;
  }
  return sorted[next[head]];
}

export class ThresholdWorkspace {
  prev: Int32Array;
  next: Int32Array;
  centre: Float32Array;
  size: Float64Array;
  constructor(n: number) {
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.centre = new Float32Array(n);
    this.size = new Float64Array(n);
  }
  ensure(n: number): void {
    if (this.prev.length >= n) return;
    const cap = Math.max(n, this.prev.length * 2);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.centre = new Float32Array(cap);
    this.size = new Float64Array(cap);
  }
}

/**
 * Reusable clustering engine: workspaces grow to the largest problem seen and are kept, so
 * repeated calls within a segment do not allocate per row.
 */
export class Clusterer {
  private idx = new Int32Array(0);
  private tmpIdx = new Int32Array(0);
  private proj = new Float32Array(0);
  private sorted = new Float32Array(0);
  private labels = new Uint8Array(0);
  private vecN = new Float64Array(0);
  private vecN2 = new Float64Array(0);
  private vecD = new Float64Array(0);
  private vecD2 = new Float64Array(0);
  private mean64 = new Float64Array(0);
  private sum64 = new Float64Array(0);
  private thr = new ThresholdWorkspace(16);
  private readonly wasm: LinalgKernels | null;

  /** @param useWasm false forces the float64 TypeScript power iteration (tests, comparison). */
  constructor(useWasm = true) {
    this.wasm = useWasm ? linalgKernels() : null;
  }

  private ensure(n: number, d: number): void {
    if (this.idx.length < n) {
      const cap = Math.max(n, this.idx.length * 2);
      this.idx = new Int32Array(cap);
      this.tmpIdx = new Int32Array(cap);
      this.proj = new Float32Array(cap);
      this.sorted = new Float32Array(cap);
      this.labels = new Uint8Array(cap);
      this.vecN = new Float64Array(cap);
      this.vecN2 = new Float64Array(cap);
    }
    if (this.vecD.length < d) {
      this.vecD = new Float64Array(d);
      this.vecD2 = new Float64Array(d);
      this.mean64 = new Float64Array(d);
      this.sum64 = new Float64Array(d);
    }
  }

  /** Mean of all n rows (float64 sums rounded to float32). */
  meanOfRows(x: Float32Array, n: number, d: number): Float32Array {
    this.ensure(n, d);
    const idx = this.idx;
    for (let i = 0; i < n; i++) idx[i] = i;
    const out = new Float32Array(d);
    this.meanOfRange(x, d, 0, n, null, 0, out);
    return out;
  }

  /**
   * Clusters the n x d matrix x. The top-level call uses the mean of all rows.
   * In matching mode `reference` is the 20-number difference vector to steer toward.
   */
  cluster(x: Float32Array, n: number, d: number, mode: ClusterMode, p: ClusterParams, reference?: Float32Array): ClusterResult {
    if (d !== p.numChannels * p.width) {
      throw new RangeError(`cluster: d = ${d} does not equal numChannels * width = ${p.numChannels * p.width}`);
    }
    if (mode === 'matching' && (!reference || reference.length !== FEATURE_LENGTH)) {
      throw new RangeError('cluster: matching mode needs a reference difference vector of 20 numbers');
    }
    this.ensure(Math.max(n, 1), d);
    const idx = this.idx;
    for (let i = 0; i < n; i++) idx[i] = i;
    const mean = new Float32Array(d);
    if (n > 0) this.meanOfRange(x, d, 0, n, null, 0, mean);

    const pending: Frame[] = [];
    let cur: Frame = { lo: 0, hi: n, mean };
    for (;;) {
      const s = this.split(x, d, cur, p);
      if (s === null) {
        // A leaf. Any result with >= Nmin rows is accepted by every pending level above;
        // otherwise the innermost pending formation level falls back to its other side.
        if (pending.length > 0 && cur.hi - cur.lo < p.minSpikes) {
          cur = pending.pop()!;
          continue;
        }
        return { rows: idx.slice(cur.lo, cur.hi), mean: cur.mean };
      }
      const side0: Frame = { lo: cur.lo, hi: s.mid, mean: s.mean0 };
      const side1: Frame = { lo: s.mid, hi: cur.hi, mean: s.mean1 };
      if (mode === 'formation') {
        const trough = p.width >> 1;
        if (s.mean0[trough] < s.mean1[trough]) {
          pending.push(side1);
          cur = side0;
        } else {
          pending.push(side0);
          cur = side1;
        }
      } else {
        const r = reference!;
        let ru = 0;
        let rv = 0;
        for (let k = 0; k < FEATURE_LENGTH; k++) {
          ru += r[k] * s.u[k];
          rv += r[k] * s.v[k];
        }
        cur = s.xx - 2 * ru < s.yy - 2 * rv ? side0 : side1;
      }
    }
  }

  /** Mean over idx[lo..hi) restricted to rows whose label equals `want` (all when labels is null). */
  private meanOfRange(x: Float32Array, d: number, lo: number, hi: number, labels: Uint8Array | null, want: number, out: Float32Array): number {
    const sum = this.sum64;
    sum.fill(0, 0, d);
    const idx = this.idx;
    let count = 0;
    for (let i = lo; i < hi; i++) {
      if (labels !== null && labels[i - lo] !== want) continue;
      const r = idx[i] * d;
      for (let k = 0; k < d; k++) sum[k] += x[r + k];
      count++;
    }
    for (let k = 0; k < d; k++) out[k] = sum[k] / count;
    return count;
  }

  /** One split attempt (spec §8 steps 1-5); null when the set is returned as is. */
  private split(x: Float32Array, d: number, f: Frame, p: ClusterParams): Split | null {
    const { lo, hi } = f;
    const n = hi - lo;
    if (n < p.minSpikes) return null;
    const idx = this.idx;
    const m = this.mean64;
    const mean = f.mean;
    for (let k = 0; k < d; k++) m[k] = mean[k];

    const proj = this.proj;
    if (this.wasm !== null) this.projectWasm(this.wasm, x, d, lo, hi);
    else this.projectTs(x, d, lo, hi);

    const sorted = this.sorted;
    for (let i = 0; i < n; i++) sorted[i] = proj[i];
    const sv = sorted.subarray(0, n);
    sv.sort();
    const threshold = oneDimThreshold(sv, n, this.thr);
    const labels = this.labels;
    let n1 = 0;
    for (let i = 0; i < n; i++) {
      const l = proj[i] < threshold ? 1 : 0;
      labels[i] = l;
      n1 += l;
    }
    const n0 = n - n1;
    if (n1 === 0 || n0 === 0) return null;

    const mean0 = new Float32Array(d);
    const mean1 = new Float32Array(d);
    if (n1 < n0) {
      this.meanOfRange(x, d, lo, hi, labels, 1, mean1);
      extrapolate(mean, mean1, n1 / n0, mean0, d);
    } else {
      this.meanOfRange(x, d, lo, hi, labels, 0, mean0);
      extrapolate(mean, mean0, n0 / n1, mean1, d);
    }

    const u = differenceVector(mean0, p.numChannels, p.width);
    const v = differenceVector(mean1, p.numChannels, p.width);
    let xx = 0;
    let xy = 0;
    let yy = 0;
    for (let k = 0; k < FEATURE_LENGTH; k++) {
      xx += u[k] * u[k];
      xy += u[k] * v[k];
      yy += v[k] * v[k];
    }
    if (xx - 2 * xy + yy < p.lambda * p.lambda * Math.max(xx, yy)) return null;

    // Stable partition: side 0 (projection >= threshold) first, then side 1.
    const tmp = this.tmpIdx;
    let a = lo;
    let b = 0;
    for (let i = 0; i < n; i++) {
      if (labels[i] === 0) idx[a++] = idx[lo + i];
      else tmp[b++] = idx[lo + i];
    }
    for (let i = 0; i < b; i++) idx[a + i] = tmp[i];
    return { mid: lo + n0, mean0, mean1, u, v, xx, xy, yy };
  }

  /** Principal projections of idx[lo..hi) into this.proj, float64 TypeScript loops (no WebAssembly). */
  private projectTs(x: Float32Array, d: number, lo: number, hi: number): void {
    const n = hi - lo;
    const idx = this.idx;
    const m = this.mean64;
    // Start vector: the centred row with the largest norm (first on ties).
    let best = lo;
    let bestNorm = -1;
    for (let i = lo; i < hi; i++) {
      const s = rowDist2(x, idx[i] * d, m, d);
      if (s > bestNorm) {
        bestNorm = s;
        best = i;
      }
    }
    const v0 = this.vecD;
    {
      const r = idx[best] * d;
      for (let k = 0; k < d; k++) v0[k] = x[r + k] - m[k];
    }

    const proj = this.proj;
    if (n < d) {
      // Sample space: p = Xc v0, then K = Xc Xc^T applied as Xc (Xc^T p).
      const pv = this.vecN;
      const qv = this.vecN2;
      this.centredTimes(x, d, lo, hi, v0, pv);
      for (let round = 0; round < POWER_ROUNDS; round++) {
        this.gramTimes(x, d, lo, hi, pv, qv);
        normalise(qv, n);
        this.gramTimes(x, d, lo, hi, qv, pv);
      }
      for (let i = 0; i < n; i++) proj[i] = pv[i];
    } else {
      // Feature space: Σ = Xc^T Xc applied as Xc^T (Xc w); project at the end.
      const w = v0;
      const q = this.vecD2;
      for (let round = 0; round < POWER_ROUNDS; round++) {
        this.covTimes(x, d, lo, hi, w, q);
        normalise(q, d);
        this.covTimes(x, d, lo, hi, q, w);
      }
      const t = this.vecN;
      this.centredTimes(x, d, lo, hi, w, t);
      for (let i = 0; i < n; i++) proj[i] = t[i];
    }

  }

  /**
   * Principal projections of idx[lo..hi) into this.proj with the WebAssembly SIMD kernels:
   * the centred rows are written once, contiguously, into the module's memory (padded to a
   * multiple of 4 floats); the ten matrix products and the projection run there in float32.
   */
  private projectWasm(K: LinalgKernels, x: Float32Array, d: number, lo: number, hi: number): void {
    const n = hi - lo;
    const idx = this.idx;
    const m = this.mean64;
    const dp = (d + 3) & ~3;
    const rb = dp * 4;
    const vlen = (Math.max(n, dp) + 3) & ~3;
    const xcOff = 0;
    const vecOff = n * rb;
    const outOff = vecOff + vlen * 4;
    const need = outOff + vlen * 4;
    const mem = K.memory;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
    const f = new Float32Array(mem.buffer);
    const vec = vecOff >> 2;
    const out = outOff >> 2;

    const best = centreRows(f, x, idx, lo, n, d, dp, m);
    const proj = this.proj;
    if (n < d) {
      // Sample space: p = Xc v0; K = Xc Xc^T applied as Xc (Xc^T p).
      f.copyWithin(vec, best * dp, best * dp + dp);
      K.dots(xcOff, n, rb, vecOff, outOff);
      const gram = (): void => {
        f.copyWithin(vec, out, out + n);
        f.fill(0, out, out + dp);
        K.axpy(xcOff, n, rb, vecOff, outOff);
        f.copyWithin(vec, out, out + dp);
        K.dots(xcOff, n, rb, vecOff, outOff);
      };
      for (let round = 0; round < POWER_ROUNDS; round++) {
        gram();
        normaliseF32(f, out, n);
        gram();
      }
      for (let i = 0; i < n; i++) proj[i] = f[out + i];
    } else {
      // Feature space: Σ = Xc^T Xc applied row by row; project at the end.
      f.copyWithin(vec, best * dp, best * dp + dp);
      const cov = (): void => {
        f.fill(0, out, out + dp);
        K.cov(xcOff, n, rb, vecOff, outOff);
        f.copyWithin(vec, out, out + dp);
      };
      for (let round = 0; round < POWER_ROUNDS; round++) {
        cov();
        normaliseF32(f, vec, dp);
        cov();
      }
      K.dots(xcOff, n, rb, vecOff, outOff);
      for (let i = 0; i < n; i++) proj[i] = f[out + i];
    }
  }

  /** out[i] = (x_i - mean) · w over rows idx[lo..hi). */
  private centredTimes(x: Float32Array, d: number, lo: number, hi: number, w: Float64Array, out: Float64Array): void {
    const m = this.mean64;
    let mw = 0;
    for (let k = 0; k < d; k++) mw += m[k] * w[k];
    const idx = this.idx;
    for (let i = lo; i < hi; i++) {
      out[i - lo] = rowDot(x, idx[i] * d, w, d) - mw;
    }
  }

  /** out[k] = sum_i t_i (x_i - mean)[k] over rows idx[lo..hi). */
  private centredTransposeTimes(x: Float32Array, d: number, lo: number, hi: number, t: Float64Array, out: Float64Array): void {
    out.fill(0, 0, d);
    const idx = this.idx;
    let ts = 0;
    for (let i = lo; i < hi; i++) {
      const ti = t[i - lo];
      ts += ti;
      const r = idx[i] * d;
      for (let k = 0; k < d; k++) out[k] += ti * x[r + k];
    }
    const m = this.mean64;
    for (let k = 0; k < d; k++) out[k] -= ts * m[k];
  }

  /** out = Xc^T Xc w (d-vector), one pass: each row is used twice while it is in cache. */
  private covTimes(x: Float32Array, d: number, lo: number, hi: number, w: Float64Array, out: Float64Array): void {
    const m = this.mean64;
    let mw = 0;
    for (let k = 0; k < d; k++) mw += m[k] * w[k];
    out.fill(0, 0, d);
    const idx = this.idx;
    let ts = 0;
    for (let i = lo; i < hi; i++) {
      const r = idx[i] * d;
      const ti = rowDot(x, r, w, d) - mw;
      ts += ti;
      for (let k = 0; k < d; k++) out[k] += ti * x[r + k];
    }
    for (let k = 0; k < d; k++) out[k] -= ts * m[k];
  }

  /** out = Xc Xc^T p (n-vector). */
  private gramTimes(x: Float32Array, d: number, lo: number, hi: number, pv: Float64Array, out: Float64Array): void {
    const z = this.vecD2;
    this.centredTransposeTimes(x, d, lo, hi, pv, z);
    this.centredTimes(x, d, lo, hi, z, out);
  }
}

/**
 * x[r .. r+d) · w[0 .. d) in float64 with four independent accumulators: the single-chain
 * loop is bound by the latency of dependent additions, this one by loads.
 */
function rowDot(x: Float32Array, r: number, w: Float64Array, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < d; k += 4) {
    s0 += x[r + k] * w[k];
    s1 += x[r + k + 1] * w[k + 1];
    s2 += x[r + k + 2] * w[k + 2];
    s3 += x[r + k + 3] * w[k + 3];
  }
  for (; k < d; k++) s0 += x[r + k] * w[k];
  return s0 + s1 + (s2 + s3);
}

/** Squared distance between row x[r .. r+d) and m, four accumulators (see rowDot). */
function rowDist2(x: Float32Array, r: number, m: Float64Array, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < d; k += 4) {
    const a = x[r + k] - m[k];
    const b = x[r + k + 1] - m[k + 1];
    const c = x[r + k + 2] - m[k + 2];
    const e = x[r + k + 3] - m[k + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += e * e;
  }
  for (; k < d; k++) {
    const a = x[r + k] - m[k];
    s0 += a * a;
  }
  return s0 + s1 + (s2 + s3);
}

/** Normalises f[off .. off+n) in place when its float64 norm exceeds 1e-8. */
function normaliseF32(f: Float32Array, off: number, n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) s += f[off + i] * f[off + i];
  const norm = Math.sqrt(s);
  if (norm > NORM_EPS) {
    for (let i = 0; i < n; i++) f[off + i] = f[off + i] / norm;
  }
}

function normalise(v: Float64Array, n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i] * v[i];
  const norm = Math.sqrt(s);
  if (norm > NORM_EPS) {
    const inv = 1 / norm;
    for (let i = 0; i < n; i++) v[i] *= inv;
  }
}

/** other = mean + (mean - computed) * ratio, in float32 steps. */
function extrapolate(mean: Float32Array, computed: Float32Array, ratio: number, other: Float32Array, d: number): void {
  const r = Math.fround(ratio);
  for (let k = 0; k < d; k++) {
    other[k] = Math.fround(mean[k] + Math.fround(Math.fround(mean[k] - computed[k]) * r));
  }
}

/**
 * Writes the centred rows x[idx[lo + i]] - m of projectWasm, padded to dp floats, to f[i * dp..]
 * and returns the one with the largest norm (first on ties). (A function of its own: see "Code
 * shape" in stages/sort/kernels-cpu.ts.)
 *
 * Four rows at a time: each row's norm is a float64 sum in channel order, a chain of dependent
 * additions, so one row at a time ran at the adder's latency (at 1536 channels 1.4 s of a
 * sort's calling thread); four independent chains side by side give the same sums.
 */
function centreRows(f: Float32Array, x: Float32Array, idx: Int32Array, lo: number, n: number, d: number, dp: number, m: Float64Array): number {
  let best = 0;
  let bestNorm = -1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const r0 = idx[lo + i] * d;
    const r1 = idx[lo + i + 1] * d;
    const r2 = idx[lo + i + 2] * d;
    const r3 = idx[lo + i + 3] * d;
    const o0 = i * dp;
    const o1 = o0 + dp;
    const o2 = o1 + dp;
    const o3 = o2 + dp;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < d; k++) {
      const mk = m[k];
      const v0 = Math.fround(x[r0 + k] - mk);
      const v1 = Math.fround(x[r1 + k] - mk);
      const v2 = Math.fround(x[r2 + k] - mk);
      const v3 = Math.fround(x[r3 + k] - mk);
      f[o0 + k] = v0;
      f[o1 + k] = v1;
      f[o2 + k] = v2;
      f[o3 + k] = v3;
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    for (let k = d; k < dp; k++) {
      f[o0 + k] = 0;
      f[o1 + k] = 0;
      f[o2 + k] = 0;
      f[o3 + k] = 0;
    }
    // In row order, so the first of equal norms wins as before.
    if (s0 > bestNorm) {
      bestNorm = s0;
      best = i;
    }
    if (s1 > bestNorm) {
      bestNorm = s1;
      best = i + 1;
    }
    if (s2 > bestNorm) {
      bestNorm = s2;
      best = i + 2;
    }
    if (s3 > bestNorm) {
      bestNorm = s3;
      best = i + 3;
    }
  }
  for (; i < n; i++) {
    const r = idx[lo + i] * d;
    const o = i * dp;
    let s = 0;
    for (let k = 0; k < d; k++) {
      const v = Math.fround(x[r + k] - m[k]);
      f[o + k] = v;
      s += v * v;
    }
    for (let k = d; k < dp; k++) f[o + k] = 0;
    if (s > bestNorm) {
      bestNorm = s;
      best = i;
    }
  }
  return best;
}
