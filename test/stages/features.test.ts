import { describe, expect, it } from 'vitest';
import { differenceVector } from '../../src/stages/sort/features.js';

function waveform(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

describe('differenceVector (spec §9)', () => {
  it('orders the 10 channel pairs (0,1),(0,2),(1,2),(0,3),... with max(0, max(Wj-Wi)) then max(0, max(Wi-Wj))', () => {
    // 5 channels, width 2: channel k is the constant k * 10, except channel 0 dips to -5.
    const w = waveform([[0, -5], [10, 10], [20, 20], [30, 30], [40, 40]]);
    const f = differenceVector(w, 5, 2);
    const expected: number[] = [];
    const rows = [[0, -5], [10, 10], [20, 20], [30, 30], [40, 40]];
    for (let j = 1; j < 5; j++) {
      for (let i = 0; i < j; i++) {
        let up = 0;
        let down = 0;
        for (let t = 0; t < 2; t++) {
          up = Math.max(up, rows[j][t] - rows[i][t]);
          down = Math.max(down, rows[i][t] - rows[j][t]);
        }
        expected.push(up, down);
      }
    }
    expect(Array.from(f)).toEqual(expected);
    // hand-checked first entries: pair (0,1): max(10-0, 10+5) = 15, reverse 0
    expect(f[0]).toBe(15);
    expect(f[1]).toBe(0);
    // pair (3,4) is last: 10 and 0
    expect(f[18]).toBe(10);
    expect(f[19]).toBe(0);
  });

  it('with 4 channels appends each channel\'s max(0, max -W) and max(0, max W)', () => {
    const w = waveform([[-3, 1], [2, 2], [-7, -1], [0, 4]]);
    const f = differenceVector(w, 4, 2);
    // pairs (0,1): up max(5,1)=5 down 0; (0,2): up max(-4,-2)->0, down 4
    expect(Array.from(f.subarray(0, 4))).toEqual([5, 0, 0, 4]);
    expect(Array.from(f.subarray(12))).toEqual([3, 1, 0, 2, 7, 0, 0, 4]);
  });

  it('is zero for identical channels', () => {
    const w = new Float32Array(5 * 6).fill(-2);
    expect(Array.from(differenceVector(w, 5, 6)).every((v) => v === 0)).toBe(true);
  });
});
