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
  H.fill(0);
  // A with a leading zero: Ap[m + 1] = A[m]; processed in channel tiles so reads stay cache-friendly.
  const TILE = 16;
  const Ap = new Float64Array((M + 1) * TILE);
  for (let c0 = 0; c0 < C; c0 += TILE) {
    const tc = Math.min(TILE, C - c0);
    for (let t = 0; t < tc; t++) Ap[t] = 0;
    for (let m = 0; m < M; m++) {
      const row = m * C + c0;
      const o = (m + 1) * TILE;
      for (let t = 0; t < tc; t++) {
        const e = Math.fround(minVal[row + t] - thr[c0 + t]);
        Ap[o + t] = Ap[o - TILE + t] + (e < 0 ? e : 0);
      }
    }
    for (let j = 0; j < J; j++) {
      const r = 2 * L - 1 + j;
      // A[r] = Ap[r+1], A[r-L] = Ap[r-L+1], A[r-2L] = Ap[r-2L+1] = Ap[j]
      const o2 = (r + 1) * TILE;
      const o1 = (r - L + 1) * TILE;
      const o0 = j * TILE;
      let s = 0;
      for (let t = 0; t < tc; t++) s += Math.abs(Ap[o2 + t] - 2 * Ap[o1 + t] + Ap[o0 + t]);
      H[j] += s;
    }
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
