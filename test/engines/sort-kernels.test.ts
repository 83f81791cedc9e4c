import { describe, expect, it } from 'vitest';
import { halfSelfDot } from '../../src/stages/sort/kernels.js';
import { cpuSortKernels, gatherFromWindow, matchRows, peaksOfRow } from '../../src/stages/sort/kernels-cpu.js';
import { allocateFilteredBuffer } from '../../src/core/window.js';
import { rng } from './data.js';


describe('peaksOfRow (spec §7.2)', () => {
  it('applies the threshold and both neighbour rules, only on m in 2..M-3', async () => {
    const minVal = Float32Array.from([-9, -9, -5, -1, -6, -6, -2, -8, -7, -9, -9]);
    const minPos = Int32Array.from([0, 0, 4, 0, 10, 3, 0, 5, 1, 0, 0]);
    // m=2: -5 < -4; left: pos 0 <= 4 ok; right: pos 4 <= 0 no, -5 <= -1 yes -> peak
    // m=4: -6; left 0 <= 10 ok; right: 10 <= 3 no, -6 <= -6 yes -> peak
    // m=5: -6; left: 10 <= 3 no, -6 > -6 no -> not a peak
    // m=7: -8; left ok; right: 5 <= 1 no, -8 <= -7 yes -> peak
    // m=8: -7; left: 5 <= 1 no, -8 > -7 no -> not
    // m=0,1,9,10 are outside 2..M-3 even though below threshold
    expect(Array.from(peaksOfRow(minVal, minPos, -4))).toEqual([2, 4, 7]);
    expect(Array.from(peaksOfRow(minVal, minPos, -6))).toEqual([7]);
    expect(Array.from(peaksOfRow(minVal, minPos, -8))).toEqual([]);
    expect(() => peaksOfRow(minVal, new Int32Array(3), -1)).toThrow(/length/);
  });
});

describe('gatherFromWindow (spec §7.4)', () => {
  it('cuts [s-S, s+S) per channel in the given order, across ms blocks', async () => {
    const C = 3;
    const S = 4;
    const M = 6;
    const buf = allocateFilteredBuffer(C, S, M + 2);
    // value = 1000*channel + absolute sample index within the segment starting at slot 2
    for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) buf.data[((m + 2) * C + c) * S + s] = 1000 * c + m * S + s;
    const w = gatherFromWindow(buf, 2, M, Int32Array.from([4, 9, 20]), Int32Array.from([2, 0]));
    expect(w.length).toBe(3 * 2 * 2 * S);
    const row = (i: number, ch: number) => Array.from(w.subarray((i * 2 + ch) * 2 * S, (i * 2 + ch + 1) * 2 * S));
    expect(row(0, 0)).toEqual([2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007]);
    expect(row(1, 1)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(row(2, 0)).toEqual([2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023]);
    expect(() => gatherFromWindow(buf, 2, M, Int32Array.from([3]), Int32Array.from([0]))).toThrow(/leaves the segment/);
    expect(() => gatherFromWindow(buf, 2, M, Int32Array.from([21]), Int32Array.from([0]))).toThrow(/leaves the segment/);
    expect(() => gatherFromWindow(buf, 2, M, Int32Array.from([8]), Int32Array.from([3]))).toThrow(/channel 3/);
  });
});

describe('matchRows (spec §7.7)', () => {
  it('keeps threshold-0 local minima whose feature . f exceeds (f . f)/2', async () => {
    const M = 9;
    const target = Float32Array.from([0, 0, -10, 0, -1, 0, -10, 0, 0]);
    const other = Float32Array.from([0, 0, -4, 0, -1, 0, 9, 0, 0]);
    const pos = new Int32Array(M);
    const f = Float32Array.from([-10, -4]);  // f.f/2 = 58
    // m=2: (-10)(-10) + (-4)(-4) = 116 > 58 keep; m=4: 10 + 4 = 14 no; m=6: 100 - 36 = 64 > 58 keep
    expect(Array.from(matchRows([target, other], pos, f))).toEqual([2, 6]);
    // target given explicitly when it is not the first neighbour
    expect(Array.from(matchRows([other, target], pos, Float32Array.from([-4, -10]), target))).toEqual([2, 6]);
    expect(halfSelfDot(f)).toBe(58);
  });

  it('drops every candidate for an all-zero template (0 > 0 fails)', async () => {
    const r = rng(3);
    const M = 200;
    const row = Float32Array.from({ length: M }, () => -r() * 10);
    const pos = Int32Array.from({ length: M }, () => Math.floor(r() * 30));
    expect((matchRows([row], pos, Float32Array.from([0]))).length).toBe(0);
  });
});

describe('cpuSortKernels.templateScores (recovery)', () => {
  const k = cpuSortKernels();
  it('sums weight x minimum over each template\'s channels at every ms block', async () => {
    const M = 4;
    const C = 3;
    // minVal[m*C + c] = -(10 m + c)
    const minVal = Float32Array.from({ length: M * C }, (_, i) => -(10 * Math.floor(i / C) + (i % C)));
    const s = await k.templateScores(minVal, M, C, Int32Array.from([0, 2, 1, 1]), Float32Array.from([1, 0.5, 2, 0]), 2);
    // template 0: channels 0, 2 with weights 1, 0.5; template 1: channel 1 twice, weights 2, 0.
    expect(Array.from(s)).toEqual([-1, -16, -31, -46, -2, -22, -42, -62]);
    await expect(k.templateScores(minVal, M, C, Int32Array.from([0]), Float32Array.from([1, 2]), 1)).rejects.toThrow(/not K x J/);
  });
});
