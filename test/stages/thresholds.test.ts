import { describe, expect, it } from 'vitest';
import { computeThresholds, medianInPlace, medianOfMagnitudeBits } from '../../src/stages/segment/thresholds.js';
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

describe('median of magnitude bits (radix pre-selection)', () => {
  const bitsOf = (f: Float32Array): Uint32Array => new Uint32Array(Float32Array.from(f, Math.abs).buffer);
  it('gives medianInPlace of |v| bit for bit, the input left as it was', () => {
    const rnd = mulberry32(7);
    for (let trial = 0; trial < 600; trial++) {
      const n = 1 + Math.floor(rnd() * (trial % 3 === 0 ? 5000 : 60));
      const kind = trial % 6;
      const v = new Float32Array(n).map((_, i) =>
        kind === 0 ? (rnd() - 0.5) * 100 // spread over several octaves
          : kind === 1 ? -0 // all zero, sign set
            : kind === 2 ? (i % 2 ? 1 : 1.0625) // two values, one radix bin apart
              : kind === 3 ? (i < n / 2 ? 0.001 : 1000) // the middle ranks in distant bins
                : kind === 4 ? Math.round(rnd() * 4) : (rnd() - 0.5) * 1e-40, // subnormals
      );
      const bits = bitsOf(v);
      const before = Uint32Array.from(bits);
      const want = medianInPlace(Float32Array.from(v, Math.abs), n);
      expect(Object.is(medianOfMagnitudeBits(bits, n), want)).toBe(true);
      expect(bits).toEqual(before);
    }
  });
  it('columns with Infinity or NaN take the quickselect path', () => {
    for (const v of [[1, Infinity, 2, 3], [NaN, 1, 2], [Infinity, Infinity]]) {
      const f = Float32Array.from(v);
      expect(Object.is(medianOfMagnitudeBits(bitsOf(f), f.length), medianInPlace(Float32Array.from(f, Math.abs), f.length))).toBe(true);
    }
  });
});
