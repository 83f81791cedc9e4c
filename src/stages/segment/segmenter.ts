/**
 * Adaptive segmentation (spec §6). Within the buffered ms, the boundary of the next segment
 * is put where the sub-threshold amplitude mass changes most between the L ms before and
 * the L ms after it (a proxy for drift or a change of activity), keeping segments between
 * L and 3L ms long.
 */

/**
 * Drift heuristic H[j], j = 0 .. M - 2L, over minima laid out [m * C + c] (buffer layout).
 * A[m, c] = sum_{m' <= m} min(0, minVal[m', c] - thr[c]); with r = 2L - 1 + j:
 * H[j] = sum_c |A[r, c] - 2 A[r - L, c] + A[r - 2L, c]|  (A[-1] = 0).
 * Sums are float64 (the per-block terms are float32 differences).
 */
export function driftHeuristic(minVal: Float32Array, thr: Float32Array, numMs: number, L: number, out?: Float64Array): Float64Array {
  const C = thr.length;
  const M = numMs;
  const J = M - 2 * L + 1;
  if (J <= 0) return new Float64Array(0);
  const H = out && out.length >= J ? out.subarray(0, J) : new Float64Array(J);
  // D[c] = A[r] - 2 A[r-L] + A[r-2L] = (sum of the L values ending at r) - (the L before them),
  // updated as r advances: D += e[r+1] - 2 e[r+1-L] + e[r+1-2L]. Every step reads three
  // contiguous rows of the ms-major minima instead of striding per channel.
  const D = new Float64Array(C);
  for (let m = 0; m < 2 * L; m++) {
    const row = m * C;
    const sign = m < L ? -1 : 1;
    for (let c = 0; c < C; c++) {
      const e = Math.fround(minVal[row + c] - thr[c]);
      if (e < 0) D[c] += sign * e;
    }
  }
  let h = 0;
  for (let c = 0; c < C; c++) h += Math.abs(D[c]);
  H[0] = h;
  for (let j = 1; j < J; j++) {
    const r1 = (2 * L - 1 + j) * C; // row r+1 of the previous step
    const r2 = (L - 1 + j) * C; // row r+1-L
    const r3 = (j - 1) * C; // row r+1-2L
    h = 0;
    for (let c = 0; c < C; c++) {
      const t = thr[c];
      let e1 = Math.fround(minVal[r1 + c] - t);
      let e2 = Math.fround(minVal[r2 + c] - t);
      let e3 = Math.fround(minVal[r3 + c] - t);
      if (e1 > 0) e1 = 0;
      if (e2 > 0) e2 = 0;
      if (e3 > 0) e3 = 0;
      const v = D[c] + (e1 - 2 * e2 + e3);
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
  const H = driftHeuristic(minVal, thr, numMs, L);
  let k = argmaxFirst(H);
  if (k >= L) k = argmaxFirst(H, k - L);
  return k + L;
}
