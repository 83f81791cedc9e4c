import { describe, expect, it } from 'vitest';
import { argmaxFirst, driftHeuristic, excessRows, longestSegmentMs, segmentLength } from '../../src/stages/segment/segmenter.js';

/** Definition of H straight from spec §6, with an explicit A matrix. */
function naiveH(minVal: Float32Array, thr: Float32Array, M: number, L: number): number[] {
  const C = thr.length;
  const A = (m: number, c: number): number => {
    let s = 0;
    for (let k = 0; k <= m; k++) s += Math.min(0, Math.fround(minVal[k * C + c] - thr[c]));
    return s;
  };
  const H: number[] = [];
  for (let j = 0; j <= M - 2 * L; j++) {
    const r = 2 * L - 1 + j;
    let h = 0;
    for (let c = 0; c < C; c++) h += Math.abs(A(r, c) - 2 * A(r - L, c) + A(r - 2 * L, c));
    H.push(h);
  }
  return H;
}

/**
 * H by the one-step recurrence of driftHeuristicFromExcess, one step j at a time: the float64
 * operations whose bits the segmentation depends on (the pipeline's H must equal these).
 */
function recurrenceH(minVal: Float32Array, thr: Float32Array, M: number, L: number): Float64Array {
  const C = thr.length;
  const e = new Float32Array(M * C);
  excessRows(minVal, thr, M, e);
  const J = M - 2 * L + 1;
  const H = new Float64Array(Math.max(0, J));
  const D = new Float64Array(C);
  for (let m = 0; m < 2 * L; m++) for (let c = 0; c < C; c++) if (e[m * C + c] < 0) D[c] += (m < L ? -1 : 1) * e[m * C + c];
  for (let j = 0; j < J; j++) {
    if (j > 0) for (let c = 0; c < C; c++) D[c] = D[c] + (e[(2 * L - 1 + j) * C + c] - 2 * e[(L - 1 + j) * C + c] + e[(j - 1) * C + c]);
    let h = 0;
    for (let c = 0; c < C; c++) h += Math.abs(D[c]);
    H[j] = h;
  }
  return H;
}

function activityStep(M: number, C: number, stepAt: number, channel: number): Float32Array {
  const mv = new Float32Array(M * C);
  for (let m = 0; m < stepAt; m++) mv[m * C + channel] = -2;
  return mv;
}

describe('adaptive segmentation (spec §6)', () => {
  it('quiet data gives H = 0 and segments of exactly L ms', () => {
    const C = 3;
    const L = 10;
    const mv = new Float32Array(40 * C);
    const thr = new Float32Array(C).fill(-1);
    expect(Array.from(driftHeuristic(mv, thr, 40, L)).every((h) => h === 0)).toBe(true);
    expect(segmentLength(mv, thr, 40, L)).toBe(10);
  });

  it('matches the definition of H on random data (21 channels, several channel tiles)', () => {
    const C = 21;
    const L = 7;
    const M = 30;
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const mv = new Float32Array(M * C).map(() => -3 * rnd());
    const thr = new Float32Array(C).map(() => -1 - rnd());
    const H = driftHeuristic(mv, thr, M, L);
    const ref = naiveH(mv, thr, M, L);
    expect(H.length).toBe(ref.length);
    for (let j = 0; j < ref.length; j++) expect(H[j]).toBeCloseTo(ref[j], 9);
  });

  it('equals the one-step recurrence bit for bit for every count of steps (4 at a time plus the rest from 128 channels)', () => {
    let seed = 777;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const [C, L, M] of [
      [5, 3, 6], [5, 3, 7], [5, 3, 8], [5, 3, 9], [5, 3, 10], [33, 4, 41], [2, 1, 2], [7, 6, 40],
      // 128 channels and more take four steps at once
      [128, 3, 6], [128, 3, 7], [128, 3, 8], [128, 3, 9], [128, 3, 10], [130, 4, 41], [200, 1, 2], [129, 6, 40],
    ]) {
      // Sparse sub-threshold excess with values over several octaves, as real minima give; and
      // over ~60 octaves, where float64 sums are inexact, so another order of the additions
      // gives other bits.
      for (const octaves of [4, 40]) {
        const mv = new Float32Array(M * C).map(() => (rnd() < 0.3 ? -Math.exp(octaves * rnd() - (octaves > 4 ? 20 : 0)) : 0));
        const thr = new Float32Array(C).map(() => (octaves > 4 ? -1e-12 * (1 + rnd()) : -1 - rnd()));
        const H = driftHeuristic(mv, thr, M, L);
        const want = recurrenceH(mv, thr, M, L);
        expect(H.length).toBe(want.length);
        for (let j = 0; j < want.length; j++) expect(Object.is(H[j], want[j])).toBe(true);
      }
    }
  });

  it('puts the boundary where activity stops (k < L: segment k + L)', () => {
    const C = 2;
    const L = 10;
    const thr = new Float32Array(C).fill(-1);
    // activity on channel 1 for the first 17 ms: the change is at offset 17 = L + 7
    const mv = activityStep(40, C, 17, 1);
    expect(segmentLength(mv, thr, 40, L)).toBe(17);
  });

  it('moves a late maximum (k >= L) to the best of H[0 .. k-L], done once', () => {
    const C = 2;
    const L = 10;
    const thr = new Float32Array(C).fill(-1);
    // change at offset 25 = L + 15: k = 15 >= L, so k = argmax H[0..5]; H is 0 there -> k = 0
    const mv = activityStep(40, C, 25, 0);
    const H = driftHeuristic(mv, thr, 40, L);
    expect(argmaxFirst(H)).toBe(15);
    expect(segmentLength(mv, thr, 40, L)).toBe(10);
  });

  it('never cuts a segment longer than longestSegmentMs (2L), and reaches it', () => {
    let seed = 4242;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const C = 3;
    const L = 10;
    let longest = 0;
    for (let trial = 0; trial < 400; trial++) {
      const M = 1 + Math.floor(rnd() * 4 * L); // up to the 4L ms the scan buffers
      // Activity that stops or starts somewhere, on top of sparse random excess.
      const cut = Math.floor(rnd() * M);
      const late = trial % 2 === 0;
      const mv = new Float32Array(M * C).map((_, i) => {
        const m = Math.floor(i / C);
        return ((m < cut) !== late ? -2 - 3 * rnd() : 0) + (rnd() < 0.05 ? -4 * rnd() : 0);
      });
      const d = segmentLength(mv, new Float32Array(C).fill(-1), M, L);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThanOrEqual(longestSegmentMs(L, M));
      longest = Math.max(longest, d);
    }
    expect(longest).toBe(2 * L);
    expect(longestSegmentMs(L, 15)).toBe(15);
  });

  it('takes everything when fewer than 2L ms are buffered', () => {
    const thr = new Float32Array(4).fill(-1);
    expect(segmentLength(new Float32Array(19 * 4), thr, 19, 10)).toBe(19);
  });

  it('argmax returns the first index of the maximum', () => {
    expect(argmaxFirst(Float64Array.from([1, 3, 2, 3]))).toBe(1);
    expect(argmaxFirst(Float64Array.from([1, 3, 2, 5]), 2)).toBe(1);
  });
});
