import { describe, expect, it } from 'vitest';
import { ThresholdAccumulator, computeThresholds, medianInPlace, medianOf } from '../../src/stages/segment/thresholds.js';
import { mulberry32 } from '../random.js';

describe('detection thresholds (spec §5)', () => {
  it('median: odd count takes the middle, even count the mean of the two middle values', () => {
    expect(medianInPlace(Float32Array.from([5, 1, 3]), 3)).toBe(3);
    expect(medianInPlace(Float32Array.from([4, 1, 3, 2]), 4)).toBe(2.5);
  });

  it('uses |y| at the first sample of each ms block only, times -κ', () => {
    const C = 2;
    const S = 3;
    const M = 4;
    const data = new Float32Array(M * C * S);
    // first samples of channel 0: 1,-2,3,-4 -> |.| median (2+3)/2 = 2.5 ; other samples huge (ignored)
    // channel 1: 0.5 everywhere -> median 0.5
    for (let m = 0; m < M; m++) {
      for (let s = 0; s < S; s++) {
        data[(m * C + 0) * S + s] = s === 0 ? [1, -2, 3, -4][m] : 1000;
        data[(m * C + 1) * S + s] = s === 0 ? -0.5 : -1000;
      }
    }
    const buf = { numChannels: C, samplesPerMs: S, capacityMs: M, data, minVal: new Float32Array(M * C), minPos: new Int32Array(M * C) };
    const thr = computeThresholds(buf, M, 10);
    expect(Array.from(thr)).toEqual([-25, -5]);
    // only the first numMs blocks count
    const thr3 = computeThresholds(buf, 3, 2);
    expect(Array.from(thr3)).toEqual([-4, -1]);
  });
});

describe('median by selection', () => {
  it('equals the sorted median on random, constant and sorted data', () => {
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 50);
      const kind = trial % 4;
      const v = new Float32Array(n).map((_, i) => (kind === 0 ? rnd() : kind === 1 ? 3 : kind === 2 ? i : Math.round(rnd() * 4)));
      const s = Float32Array.from(v).sort();
      const h = n >> 1;
      const want = n % 2 ? s[h] : Math.fround((s[h - 1] + s[h]) / 2);
      expect(medianInPlace(v, n)).toBe(want);
    }
  });
});

describe('medianOf (radix pre-selection): recovery scores, noise floors', () => {
  it('equals the median of the sorted values (the float64 mean of the middle two for an even count)', () => {
    const rand = mulberry32(5);
    for (let trial = 0; trial < 400; trial++) {
      const n = 1 + Math.floor(rand() * (trial % 5 === 0 ? 20000 : 50));
      const kind = trial % 6;
      const a = new Float32Array(n).map((_, i) =>
        kind === 0 ? (rand() - 0.5) * 100 // both signs, several octaves
          : kind === 1 ? -Math.abs(rand() * 40) // scores: negative
            : kind === 2 ? Math.round((rand() - 0.5) * 4) // ties
              : kind === 3 ? (rand() - 0.5) * 1e-40 // subnormals
                : kind === 4 ? (i < n / 2 ? -1000 : 0.001) // the middle ranks in distant bins
                  : rand() * 5);
      const s = Float32Array.from(a).sort();
      const h = n >> 1;
      const want = n % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
      // As a value (=== : a median of zeros may carry either sign; the pass only subtracts and compares it).
      expect(medianOf(a) === want).toBe(true);
    }
    // Non-finite values are sorted (NaN orders last).
    expect(medianOf(Float32Array.of(1, Infinity, 2))).toBe(2);
    expect(medianOf(Float32Array.of(-Infinity, 5, 3, 4))).toBe(3.5);
    expect(medianOf(Float32Array.from([NaN, 1, 2]))).toBe(2);
    expect(medianOf(new Float32Array(0))).toBe(0);
  });

  it('leaves its input alone and does not round an even count\'s mean to float32', () => {
    const rand = mulberry32(7);
    const v = Float32Array.from({ length: 1536 }, (_, i) => (i % 9 === 0 ? (rand() < 0.5 ? -0 : 0) : (rand() - 0.3) * 100));
    const before = Float32Array.from(v);
    medianOf(v);
    expect(Array.from(v)).toEqual(Array.from(before));
    expect(medianOf(Float32Array.from([1, 2 ** -30]))).toBe(0.5 + 2 ** -31);
  });
});

describe('ThresholdAccumulator (radix pre-selection, counted chunk by chunk)', () => {
  const bitsOf = (f: Float32Array): Uint32Array => new Uint32Array(Float32Array.from(f, Math.abs).buffer);
  /** Columns [c][m] of values, counted in `pieces` uneven chunks; thresholds against -κ medianInPlace of each |column|. */
  /** signed: the rows are written as a filter writes them, y with its sign, through firstSamples (count clears the signs). */
  const check = (columns: Float32Array[], pieces: number, rnd: () => number, sensitivity = 5, signed = false): void => {
    const C = columns.length;
    const n = columns[0].length;
    const acc = new ThresholdAccumulator(C, n, n + 3);
    let m0 = 0;
    for (let p = 0; p < pieces && m0 < n; p++) {
      const m1 = p === pieces - 1 ? n : Math.min(n, m0 + Math.floor(rnd() * n));
      for (let c = 0; c < C; c++) {
        const bits = bitsOf(columns[c]);
        for (let m = m0; m < m1; m++) {
          if (signed) acc.firstSamples[m * C + c] = columns[c][m];
          else acc.magnitudes[m * C + c] = bits[m];
        }
      }
      acc.count(m0, m1);
      m0 = m1;
    }
    for (let c = 0; c < C; c++) {
      const bits = bitsOf(columns[c]);
      for (let m = 0; m < n; m++) if (acc.magnitudes[m * C + c] !== bits[m]) throw new Error(`row ${m} channel ${c}: ${acc.magnitudes[m * C + c]} is not |y| ${bits[m]}`);
    }
    const before = Uint32Array.from(acc.magnitudes);
    const thr = acc.thresholds(sensitivity);
    for (let c = 0; c < C; c++) {
      const want = Math.fround(-sensitivity * medianInPlace(Float32Array.from(columns[c], Math.abs), n));
      expect(Object.is(thr[c], want)).toBe(true);
    }
    expect(acc.magnitudes).toEqual(before);
  };
  it('gives -κ times medianInPlace of |v| bit for bit on every column, from y or |y| rows, the magnitudes |y| after counting', () => {
    const rnd = mulberry32(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rnd() * (trial % 3 === 0 ? 5000 : 60));
      const C = 1 + (trial % 5);
      const columns = Array.from({ length: C }, (_, c) => {
        const kind = (trial + c) % 6;
        return new Float32Array(n).map((_, i) =>
          kind === 0 ? (rnd() - 0.5) * 100 // spread over several octaves
            : kind === 1 ? -0 // all zero, sign set
              : kind === 2 ? (i % 2 ? 1 : 1.0625) // two values, one radix bin apart
                : kind === 3 ? (i < n / 2 ? 0.001 : 1000) // the middle ranks in distant bins
                  : kind === 4 ? Math.round(rnd() * 4) : (rnd() - 0.5) * 1e-40, // subnormals
        );
      });
      check(columns, 1 + (trial % 4), rnd, 5, trial % 2 === 1);
    }
  });
  it('columns with Infinity or NaN take the quickselect path; the others are unaffected', () => {
    const rnd = mulberry32(3);
    check([Float32Array.from([1, Infinity, 2, 3]), Float32Array.from([4, 3, 2, 1])], 2, rnd);
    check([Float32Array.from([NaN, 1, 2]), Float32Array.from([1, 1, 7])], 1, rnd);
    check([Float32Array.from([Infinity, Infinity]), Float32Array.from([-2, 2])], 2, rnd);
    check([Float32Array.from([-Infinity, 1, -NaN]), Float32Array.from([-0, -1, 7])], 1, rnd, 5, true);
  });
  it('refuses rows counted out of order and thresholds before the window is complete', () => {
    const acc = new ThresholdAccumulator(2, 10);
    expect(() => acc.count(1, 3)).toThrow(/rows \[1, 3\) after 0 of 10/);
    acc.count(0, 4);
    expect(() => acc.thresholds(5)).toThrow(/4 of 10 rows counted/);
  });
  it('keeps its rows in given shared storage, checks it, and is spent once the thresholds are taken', () => {
    expect(() => new ThresholdAccumulator(2, 10, 12, new Float32Array(new SharedArrayBuffer(23 * 4)))).toThrow(/24 floats of shared memory, got 23/);
    expect(() => new ThresholdAccumulator(2, 10, 10, new Float32Array(20))).toThrow(/not shared/);
    const store = new Float32Array(new SharedArrayBuffer(30 * 4)).fill(7);
    const acc = new ThresholdAccumulator(2, 10, 12, store.subarray(2));
    // The rows are the storage's (from its offset), not a copy.
    acc.firstSamples.fill(-3, 0, 20);
    expect(store[1]).toBe(7);
    expect(store[2]).toBe(-3);
    expect(store[21]).toBe(-3);
    expect(store[22]).toBe(7);
    acc.count(0, 10);
    expect(Array.from(acc.thresholds(2))).toEqual([-6, -6]);
    expect(store[2]).toBe(3); // the signs cleared in place
    expect(() => acc.thresholds(2)).toThrow(/already taken/);
    expect(() => acc.count(10, 10)).toThrow(/already taken/);
  });
});
