import { describe, expect, it } from 'vitest';
import { shiftAmplitudes } from '../../../src/stages/track/drift.js';
import { assignClusters, assignClustersDetailed, euclideanDistances, roundDrift, roundHalfEven } from '../../../src/stages/track/assignment.js';
import { euclideanDistancesWasm } from '../../../src/stages/track/distance-wasm.js';

function linearProbe(n: number, pitch: number): Float32Array {
  const g = new Float32Array(2 * n);
  for (let c = 0; c < n; c++) g[2 * c + 1] = c * pitch;
  return g;
}

import { mulberry32 } from '../../random.js';

/** Amplitude footprint of a unit at (x0, y0) on a probe: falls off with distance. */
function footprint(geometry: Float32Array, x0: number, y0: number, peak: number, sigma: number): Float32Array {
  const C = geometry.length / 2;
  const a = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const dx = geometry[2 * c] - x0;
    const dy = geometry[2 * c + 1] - y0;
    a[c] = peak * Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
  }
  return a;
}

describe('roundHalfEven / roundDrift', () => {
  it('rounds halves to even', () => {
    expect(roundHalfEven(0.5)).toBe(0);
    expect(roundHalfEven(1.5)).toBe(2);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-0.5) === 0).toBe(true);
    expect(roundHalfEven(-1.5)).toBe(-2);
    expect(roundHalfEven(2.4999)).toBe(2);
    expect(roundHalfEven(2.5001)).toBe(3);
    expect(roundHalfEven(7)).toBe(7);
  });
  it('rounds drift to multiples of 5 µm, halves to even', () => {
    expect(roundDrift(2.5)).toBe(0);
    expect(roundDrift(7.5)).toBe(10);
    expect(roundDrift(12.5)).toBe(10);
    expect(roundDrift(17.5)).toBe(20);
    expect(roundDrift(30)).toBe(30);
    expect(roundDrift(0)).toBe(0);
    expect(roundDrift(13)).toBe(15);
    expect(roundDrift(12)).toBe(10);
  });
});

describe('shiftAmplitudes', () => {
  const g = linearProbe(5, 25);
  const A = Float32Array.from([1, 2, 3, 4, 5]);

  it('is the identity at delta 0 and moves by whole sites at the pitch', () => {
    expect(Array.from(shiftAmplitudes(A, 1, g, 0))).toEqual([1, 2, 3, 4, 5]);
    // y' = y + 25 lands exactly on the next site ("at or above" includes equality).
    expect(Array.from(shiftAmplitudes(A, 1, g, 25))).toEqual([2, 3, 4, 5, 5]);
    expect(Array.from(shiftAmplitudes(A, 1, g, -25))).toEqual([1, 1, 2, 3, 4]);
  });

  it('interpolates linearly by distance', () => {
    const out = shiftAmplitudes(A, 1, g, 5); // 1/5 of the way to the next site
    expect(out[0]).toBeCloseTo(1.2, 6);
    expect(out[2]).toBeCloseTo(3.2, 6);
    expect(out[4]).toBe(5); // nothing above the top site: the site below alone
    const down = shiftAmplitudes(A, 1, g, -10);
    expect(down[0]).toBe(1); // nothing below the bottom site: the site at-or-above alone
    expect(down[1]).toBeCloseTo(1.6, 6);
  });

  it('handles several vectors and does not modify its input', () => {
    const two = Float32Array.from([1, 2, 3, 4, 5, 10, 20, 30, 40, 50]);
    const copy = two.slice();
    const out = shiftAmplitudes(two, 2, g, 12.5);
    expect(Array.from(two)).toEqual(Array.from(copy));
    expect(out[5]).toBeCloseTo(15, 5);
    expect(out[9]).toBe(50);
  });

  it('stays within a column (|dx| <= 2 µm) on a two-column staggered probe', () => {
    // Column A at x=0: y = 0, 20, 40. Column B at x=32 (and one site at x=33.5, same column): y = 10, 30, 50.
    const geo = Float32Array.from([0, 0, 32, 10, 0, 20, 33.5, 30, 0, 40, 32, 50]);
    const amps = Float32Array.from([100, 1, 200, 2, 300, 3]);
    const out = shiftAmplitudes(amps, 1, geo, -5);
    // Channel 1 (x=32, y=10) -> y'=5: nothing in column B strictly below, so it keeps its own value;
    // the lower site of column A (y=0) must not be used.
    expect(out[1]).toBe(1);
    // Channel 3 (x=33.5, y=30) -> y'=25 between y=10 (ch1) and y=30 (ch3) of its column.
    expect(out[3]).toBeCloseTo(0.25 * 1 + 0.75 * 2, 6);
    // Channel 2 (x=0, y=20) -> 15 between ch0 (y=0) and ch2 (y=20).
    expect(out[2]).toBeCloseTo(0.25 * 100 + 0.75 * 200, 4);
  });

  it('rejects inconsistent sizes', () => {
    expect(() => shiftAmplitudes(A, 2, g, 0)).toThrow(/expected k\*C/);
    expect(() => shiftAmplitudes(A, 1, g, NaN)).toThrow(/deltaUm/);
  });
});

describe('assignClusters', () => {
  const g = linearProbe(16, 25);

  it('recovers a permutation of drifted units and the drift itself', () => {
    const rand = mulberry32(3);
    for (const drift of [-20, -10, 0, 10, 15]) {
      const units = Array.from({ length: 6 }, (_, u) => footprint(g, 0, 40 + u * 55 + rand() * 10, 50 + rand() * 100, 30));
      const k = units.length;
      const stacked = new Float32Array(k * 16);
      units.forEach((u, i) => stacked.set(u, i * 16));
      const moved = shiftAmplitudes(stacked, k, g, drift);
      const perm = [3, 0, 5, 1, 4, 2]; // a2[perm[i]] is unit i
      const a2: Float32Array[] = new Array(k);
      for (let i = 0; i < k; i++) a2[perm[i]] = moved.slice(i * 16, (i + 1) * 16);
      const detail = assignClustersDetailed(units, a2, g, 30);
      expect(Array.from(detail.mapping)).toEqual(perm);
      expect(Math.abs(detail.shiftUm - drift)).toBeLessThanOrEqual(5);
    }
  });

  it('leaves extra rows unassigned and assigns every row when a2 is larger', () => {
    const a = [footprint(g, 0, 50, 100, 30), footprint(g, 0, 200, 80, 30), footprint(g, 0, 350, 60, 30)];
    const m1 = assignClusters(a, [a[2], a[0]], g, 30);
    expect(Array.from(m1)).toEqual([1, -1, 0]);
    const m2 = assignClusters([a[1]], a, g, 30);
    expect(Array.from(m2)).toEqual([1]);
  });

  it('maps every row to -1 when a side is empty', () => {
    const a = [footprint(g, 0, 50, 100, 30)];
    expect(Array.from(assignClusters(a, [], g, 30))).toEqual([-1]);
    expect(Array.from(assignClusters([], a, g, 30))).toEqual([]);
  });

  it('keeps the earliest shift on ties', () => {
    const zero = new Float32Array(16);
    const d = assignClustersDetailed([zero], [zero], g, 30);
    expect(d.shiftUm).toBe(-30);
    expect(d.total).toBe(0);
    // maxDrift is rounded half-to-even first: 12.5 -> 10.
    expect(assignClustersDetailed([zero], [zero], g, 12.5).shiftUm).toBe(-10);
    expect(assignClustersDetailed([zero], [zero], g, 2.5).shiftUm).toBe(0);
  });

  it('rejects bad maxDrift and wrong vector lengths', () => {
    const a = [footprint(g, 0, 50, 100, 30)];
    expect(() => assignClusters(a, a, g, -1)).toThrow(/maxDrift/);
    expect(() => assignClusters(a, a, g, NaN)).toThrow(/maxDrift/);
    expect(() => assignClusters([new Float32Array(3)], a, g, 30)).toThrow(/a1\[0\]/);
  });
});

describe('shift plans', () => {
  it('are reused for the same geometry array and give the same result as a fresh build', async () => {
    const { cachedShiftPlan, buildShiftPlan } = await import('../../../src/stages/track/drift.js');
    const g = linearProbe(8, 20);
    expect(cachedShiftPlan(g, 7.5)).toBe(cachedShiftPlan(g, 7.5));
    expect(cachedShiftPlan(g, 7.5)).toEqual(buildShiftPlan(g, 7.5));
    expect(() => assignClusters([], [], [0, 0] as never, 30)).toThrow(/geometry must be a Float32Array/);
  });
  it('write into a given output (its first k x C values) the same values as into a new array', async () => {
    const { applyShiftPlan, buildShiftPlan } = await import('../../../src/stages/track/drift.js');
    const g = linearProbe(8, 20);
    const rnd = mulberry32(5);
    const a = Float32Array.from({ length: 3 * 8 }, () => rnd() * 10);
    const plan = buildShiftPlan(g, 12.5);
    const fresh = applyShiftPlan(plan, a, 3);
    const out = new Float32Array(40).fill(-1);
    const into = applyShiftPlan(plan, a, 3, out);
    expect(into.buffer).toBe(out.buffer);
    expect(Array.from(into)).toEqual(Array.from(fresh));
    expect(out[24]).toBe(-1);
    expect(() => applyShiftPlan(plan, a, 3, new Float32Array(23))).toThrow(/out holds 23 values, fewer than k\*C = 3\*8/);
  });
});

describe('euclideanDistances (blocked cost matrix) and its WebAssembly SIMD twin', () => {
  it('equal one pair at a time, channels summed in order, for every block remainder', () => {
    const rnd = mulberry32(11);
    for (const [k1, k2, C] of [[1, 1, 1], [2, 4, 3], [3, 5, 7], [5, 7, 384], [8, 9, 2], [0, 3, 4], [4, 0, 4], [9, 17, 1536], [1, 8, 5]]) {
      const a = Float32Array.from({ length: k1 * C }, () => (rnd() - 0.5) * 100);
      const b = Float32Array.from({ length: k2 * C }, () => (rnd() - 0.5) * 100);
      // Values far apart in magnitude, where float64 rounding of d and d*d shows.
      if (a.length > 2) a[1] = 3e30;
      if (b.length > 2) b[2] = -7e-30;
      const got = new Float64Array(k1 * k2);
      euclideanDistances(a, k1, b, k2, C, got);
      const simd = new Float64Array(k1 * k2).fill(-1);
      expect(euclideanDistancesWasm(a, k1, b, k2, C, simd)).toBe(true);
      expect(Array.from(simd)).toEqual(Array.from(got));
      for (let i = 0; i < k1; i++) {
        for (let j = 0; j < k2; j++) {
          let sum = 0;
          for (let c = 0; c < C; c++) {
            const d = a[i * C + c] - b[j * C + c];
            sum += d * d;
          }
          expect(got[i * k2 + j]).toBe(Math.sqrt(sum));
        }
      }
    }
  });
});
