/**
 * Adaptive segmentation (spec §6). Within the buffered ms, the boundary of the next segment
 * is put where the sub-threshold amplitude mass changes most between the L ms before and
 * the L ms after it (a proxy for drift or a change of activity); a segment is at most 2L ms
 * long (longestSegmentMs).
 */

/**
 * The longest segment the segmentation can cut: 2L ms (or the whole sortable range when it is
 * shorter). With M >= 2L buffered ms, k = argmax H lies in 0 .. M - 2L <= 2L; a k >= L is moved
 * to argmax H[0 .. k - L], at most L; so k + L <= 2L. With M < 2L the segment is all M < 2L ms.
 * Windows, workspaces and the memory check are sized by this (they were sized for 3L, which
 * M <= 4L alone gives, 1.5 times what a segment can use).
 */
export function longestSegmentMs(L: number, totalMs: number): number {
  return Math.min(2 * L, totalMs);
}

/**
 * The sub-threshold excess of each ms block, e[m*C + c] = min(0, fround(minVal - thr[c])) (NaN
 * kept), for rows [0, numMs) of minima laid out [m*C + c], written at row `outRow` of `out`.
 * Each row enters the drift heuristic three times; computing it once is 3x fewer float32
 * differences and comparisons, with the same values.
 */
export function excessRows(minVal: Float32Array, thr: Float32Array, numMs: number, out: Float32Array, outRow = 0): void {
  const C = thr.length;
  for (let m = 0; m < numMs; m++) {
    const src = m * C;
    const dst = (outRow + m) * C;
    for (let c = 0; c < C; c++) {
      const v = Math.fround(minVal[src + c] - thr[c]);
      out[dst + c] = v > 0 ? 0 : v;
    }
  }
}

/**
 * Drift heuristic H[j], j = 0 .. M - 2L, over minima laid out [m * C + c] (buffer layout).
 * A[m, c] = sum_{m' <= m} min(0, minVal[m', c] - thr[c]); with r = 2L - 1 + j:
 * H[j] = sum_c |A[r, c] - 2 A[r - L, c] + A[r - 2L, c]|  (A[-1] = 0).
 * Sums are float64 (the per-block terms are float32 differences).
 */
export function driftHeuristic(minVal: Float32Array, thr: Float32Array, numMs: number, L: number, out?: Float64Array): Float64Array {
  const e = new Float32Array(Math.max(0, numMs) * thr.length);
  excessRows(minVal, thr, numMs, e);
  return driftHeuristicFromExcess(e, thr.length, numMs, L, out);
}

/** Channels from which driftHeuristicFromExcess takes four steps at once. */
const FOUR_STEP_MIN_CHANNELS = 128;

/** driftHeuristic from the excess rows of excessRows (the same values). */
export function driftHeuristicFromExcess(e: Float32Array, numChannels: number, numMs: number, L: number, out?: Float64Array): Float64Array {
  const C = numChannels;
  const M = numMs;
  const J = M - 2 * L + 1;
  if (J <= 0) return new Float64Array(0);
  const H = out && out.length >= J ? out.subarray(0, J) : new Float64Array(J);
  // D[c] = A[r] - 2 A[r-L] + A[r-2L] = (sum of the L values ending at r) - (the L before them),
  // updated as r advances: D += e[r+1] - 2 e[r+1-L] + e[r+1-2L]. Every step reads three
  // contiguous rows of the ms-major excess instead of striding per channel.
  const D = new Float64Array(C);
  for (let m = 0; m < 2 * L; m++) {
    const row = m * C;
    const sign = m < L ? -1 : 1;
    for (let c = 0; c < C; c++) {
      const x = e[row + c];
      if (x < 0) D[c] += sign * x;
    }
  }
  let h = 0;
  for (let c = 0; c < C; c++) h += Math.abs(D[c]);
  H[0] = h;
  let j = 1;
  // Four steps at once where there are many channels: each H[j] is still its own sum of |D[c]|
  // in channel order, but four independent sums overlap (one sum is bound by the latency of
  // its float64 additions: 1536 channels, 40 000 ms, 176 -> 117 ms per call; 384 channels 38 ->
  // 29 ms). At 32 channels a call takes ~3 ms and the larger loop's cold start cost more.
  if (C >= FOUR_STEP_MIN_CHANNELS) for (; j + 3 < J; j += 4) {
    const a1 = (2 * L - 1 + j) * C;
    const a2 = (L - 1 + j) * C;
    const a3 = (j - 1) * C;
    let h0 = 0;
    let h1 = 0;
    let h2 = 0;
    let h3 = 0;
    for (let c = 0; c < C; c++) {
      const v0 = D[c] + (e[a1 + c] - 2 * e[a2 + c] + e[a3 + c]);
      const v1 = v0 + (e[a1 + C + c] - 2 * e[a2 + C + c] + e[a3 + C + c]);
      const v2 = v1 + (e[a1 + 2 * C + c] - 2 * e[a2 + 2 * C + c] + e[a3 + 2 * C + c]);
      const v3 = v2 + (e[a1 + 3 * C + c] - 2 * e[a2 + 3 * C + c] + e[a3 + 3 * C + c]);
      D[c] = v3;
      h0 += v0 < 0 ? -v0 : v0;
      h1 += v1 < 0 ? -v1 : v1;
      h2 += v2 < 0 ? -v2 : v2;
      h3 += v3 < 0 ? -v3 : v3;
    }
    H[j] = h0;
    H[j + 1] = h1;
    H[j + 2] = h2;
    H[j + 3] = h3;
  }
  for (; j < J; j++) {
    const r1 = (2 * L - 1 + j) * C; // row r+1 of the previous step
    const r2 = (L - 1 + j) * C; // row r+1-L
    const r3 = (j - 1) * C; // row r+1-2L
    h = 0;
    for (let c = 0; c < C; c++) {
      const v = D[c] + (e[r1 + c] - 2 * e[r2 + c] + e[r3 + c]);
      D[c] = v;
      h += v < 0 ? -v : v;
    }
    H[j] = h;
  }
  return H;
}

/** Index of the first maximum of h[0 .. end] (inclusive). */
export function argmaxFirst(h: Float64Array, end = h.length - 1): number {
  let best = 0;
  for (let i = 1; i <= end; i++) if (h[i] > h[best]) best = i;
  return best;
}

/**
 * Length in ms of the next segment given M buffered ms: all of them when M < 2L, else
 * k + L with k = argmax H, moved to argmax H[0 .. k - L] once when k >= L.
 */
export function segmentLength(minVal: Float32Array, thr: Float32Array, numMs: number, L: number): number {
  if (numMs < 2 * L) return numMs;
  return lengthFromHeuristic(driftHeuristic(minVal, thr, numMs, L), L);
}

/** segmentLength from excess rows (excessRows). `scratch` is reused for H when large enough. */
export function segmentLengthFromExcess(e: Float32Array, numChannels: number, numMs: number, L: number, scratch?: Float64Array): number {
  if (numMs < 2 * L) return numMs;
  return lengthFromHeuristic(driftHeuristicFromExcess(e, numChannels, numMs, L, scratch), L);
}

function lengthFromHeuristic(H: Float64Array, L: number): number {
  let k = argmaxFirst(H);
  if (k >= L) k = argmaxFirst(H, k - L);
  return k + L;
}
