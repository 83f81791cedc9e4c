import { describe, expect, it } from 'vitest';
import { Clusterer, oneDimThreshold, type ClusterParams } from '../../src/stages/sort/clustering.js';
import { differenceVector } from '../../src/stages/sort/features.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
function gauss(rnd: () => number): number {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/** Agglomeration by always merging the globally cheapest adjacent pair (the no-tie behaviour). */
function greedyThreshold(sorted: Float32Array): number {
  const centre = Array.from(sorted);
  const size = centre.map(() => 1);
  const start = centre.map((_, i) => i);
  while (centre.length > 2) {
    let best = 0;
    let bestCost = Infinity;
    for (let a = 0; a + 1 < centre.length; a++) {
      const dc = Math.fround(centre[a + 1] - centre[a]);
      const c = Math.fround(Math.fround(dc * dc) * Math.min(size[a], size[a + 1]));
      if (c < bestCost) {
        bestCost = c;
        best = a;
      }
    }
    const s = size[best] + size[best + 1];
    centre[best] = Math.fround(Math.fround(Math.fround(centre[best] * size[best]) + Math.fround(centre[best + 1] * size[best + 1])) / s);
    size[best] = s;
    centre.splice(best + 1, 1);
    size.splice(best + 1, 1);
    start.splice(best + 1, 1);
  }
  return sorted[start[1]];
}

describe('1-D threshold (spec §8.3)', () => {
  it('splits two obvious groups at the smallest value of the upper group', () => {
    expect(oneDimThreshold(Float32Array.from([0, 1, 2, 10, 11, 12]), 6)).toBe(10);
    expect(oneDimThreshold(Float32Array.from([0, 100]), 2)).toBe(100);
  });

  it('equals global cheapest-pair agglomeration on data without ties', () => {
    const rnd = lcg(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(rnd() * 60);
      const v = new Float32Array(n).map(() => (rnd() < 0.5 ? 0 : 5) + gauss(rnd) * (0.5 + rnd() * 3)).sort();
      expect(oneDimThreshold(v, n)).toBe(greedyThreshold(v));
    }
  });

  it('reproduces the linked-list walk on ties: equal costs merge the leftmost pair reached', () => {
    // costs 1,1,1 between 0,1,2,3: walk merges (0,1) first ...
    // by hand: [0,1,2,3] -> i=1: cost(0,1)=1 > cost(1,2)=1? no -> merge 1 into 0 (centre .5)
    // i = next(head) = 2: cost({0,1},2)=(1.5^2)*1=2.25 > cost(2,3)=1 -> i=3 (last) -> merge 3 into 2
    // groups {0,1} {2,3}: threshold 2
    expect(oneDimThreshold(Float32Array.from([0, 1, 2, 3]), 4)).toBe(2);
    // all equal: every cost is 0, the walk keeps merging into the first group; the last value stays apart
    expect(oneDimThreshold(Float32Array.from([4, 4, 4, 4]), 4)).toBe(4);
  });

  it('runs in linear time on large inputs (no quadratic walk)', () => {
    const rnd = lcg(3);
    const n = 300000;
    const v = new Float32Array(n).map(() => gauss(rnd)).sort();
    const thr = oneDimThreshold(v, n);
    expect(Number.isFinite(thr)).toBe(true);
    // also many exact ties (quantised values)
    const q = new Float32Array(n).map(() => Math.round(gauss(rnd) * 3)).sort();
    expect(Number.isFinite(oneDimThreshold(q, n))).toBe(true);
  });
});

/** Two units on 5 channels x 2S samples: a trough at index S on different channels. */
function twoUnits(nA: number, nB: number, S: number, seed: number) {
  const rnd = lcg(seed);
  const width = 2 * S;
  const d = 5 * width;
  const tmplA = new Float32Array(d);
  const tmplB = new Float32Array(d);
  for (let c = 0; c < 5; c++) {
    for (let t = 0; t < width; t++) {
      const shape = Math.exp(-((t - S) ** 2) / 4);
      tmplA[c * width + t] = -100 * shape * Math.exp(-c); // deep on channel 0
      tmplB[c * width + t] = -60 * shape * Math.exp(-Math.abs(c - 2)); // on channel 2
    }
  }
  const n = nA + nB;
  const x = new Float32Array(n * d);
  const isA: boolean[] = [];
  // interleave so the two units are mixed in row order
  for (let i = 0; i < n; i++) {
    const a = (i % 2 === 0 && i / 2 < nA) || i >= 2 * nB;
    isA.push(a);
    const tm = a ? tmplA : tmplB;
    for (let k = 0; k < d; k++) x[i * d + k] = tm[k] + gauss(rnd) * 2;
  }
  return { x, n, d, isA, tmplA, tmplB, width };
}

describe('binary splitting clustering (spec §8)', () => {
  const S = 10;
  const params: ClusterParams = { minSpikes: 5, lambda: 0.4, numChannels: 5, width: 2 * S };

  for (const [label, nA, nB] of [['sample space (n < d)', 30, 30], ['feature space (n >= d)', 90, 80]] as const) {
    it(`formation keeps the unit with the deeper trough on the first channel: ${label}`, () => {
      const u = twoUnits(nA, nB, S, 11);
      const res = new Clusterer().cluster(u.x, u.n, u.d, 'formation', params);
      const want = u.isA.flatMap((a, i) => (a ? [i] : []));
      expect(Array.from(res.rows)).toEqual(want);
      expect(res.mean[S]).toBeLessThan(-90);
    });

    it(`matching keeps the unit closest to the reference vector: ${label}`, () => {
      const u = twoUnits(nA, nB, S, 12);
      const refB = differenceVector(u.tmplB, 5, u.width);
      const resB = new Clusterer().cluster(u.x, u.n, u.d, 'matching', params, refB);
      expect(Array.from(resB.rows)).toEqual(u.isA.flatMap((a, i) => (a ? [] : [i])));
      const refA = differenceVector(u.tmplA, 5, u.width);
      const resA = new Clusterer().cluster(u.x, u.n, u.d, 'matching', params, refA);
      expect(Array.from(resA.rows)).toEqual(u.isA.flatMap((a, i) => (a ? [i] : [])));
    });
  }

  it('does not split a single unit (rejected by the difference-vector test)', () => {
    const u = twoUnits(60, 0, S, 13);
    const res = new Clusterer().cluster(u.x, u.n, u.d, 'formation', params);
    expect(res.rows.length).toBe(60);
    // the returned mean is the mean it was called with: the mean of all rows
    const mean = new Clusterer().meanOfRows(u.x, u.n, u.d);
    expect(Array.from(res.mean)).toEqual(Array.from(mean));
  });

  it('returns fewer than Nmin rows as is', () => {
    const u = twoUnits(2, 2, S, 14);
    const res = new Clusterer().cluster(u.x, u.n, u.d, 'formation', params);
    expect(res.rows.length).toBe(4);
  });

  it('formation falls back to the other side when the first choice is too small', () => {
    // 3 deep spikes (fewer than Nmin = 5) and 40 shallow ones: the deep side is tried first,
    // yields 3 < Nmin, so the shallow side is returned.
    const u = twoUnits(3, 40, S, 15);
    const res = new Clusterer().cluster(u.x, u.n, u.d, 'formation', params);
    expect(Array.from(res.rows)).toEqual(u.isA.flatMap((a, i) => (a ? [] : [i])));
  });
});

describe('power iteration backends', () => {
  it('WebAssembly SIMD (float32) and TypeScript (float64) kernels give the same clusters', () => {
    const S = 15;
    const params: ClusterParams = { minSpikes: 5, lambda: 0.4, numChannels: 5, width: 2 * S };
    for (const [nA, nB, seed] of [[40, 30, 21], [200, 150, 22], [7, 90, 23]] as const) {
      const u = twoUnits(nA, nB, S, seed);
      for (const mode of ['formation', 'matching'] as const) {
        const ref = mode === 'matching' ? differenceVector(u.tmplB, 5, u.width) : undefined;
        const a = new Clusterer(true).cluster(u.x, u.n, u.d, mode, params, ref);
        const b = new Clusterer(false).cluster(u.x, u.n, u.d, mode, params, ref);
        expect(Array.from(a.rows)).toEqual(Array.from(b.rows));
      }
    }
  });
});
