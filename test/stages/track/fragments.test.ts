/**
 * Burst fragments across a track: a small unit at the same place whose spikes follow the big
 * unit's within a burst interval, in every segment, is found from the pooled spikes even when
 * each segment alone has too few of them for the per-segment rule; an independent unit is not.
 */
import { describe, expect, it } from 'vitest';
import { burstFragmentTracks } from '../../../src/stages/track/fragments.js';
import { mergeBurstFragments } from '../../../src/stages/sort/burst-merge.js';
import { footprint, linearGeometry } from '../../result/helpers.js';

const geometry = linearGeometry(32);
const unit = (y: number, peak: number): Float32Array => Float32Array.from(footprint(geometry, y, peak), (v) => v + 2);
const fs = 30000;
const segLen = 5 * fs;

/** 4 segments of 5 s: a 10 Hz unit (every 100 ms) and a smaller one at `y` whose spikes come `lagMs` after every 10th of them, or at its own times. */
function segments(y: number, follow: boolean) {
  return Array.from({ length: 4 }, (_, s) => {
    const start = s * segLen;
    const big = Float64Array.from({ length: 50 }, (_, k) => start + k * 0.1 * fs + 100);
    // Independent: 317 ms apart, never inside 1.5-25 ms after a spike of the big unit.
    // Following: 6 ms after every 8th spike of the big unit; in segment 0 only 4 of 6 do
    // (4/6 = 0.67 < 4 x chance 0.84 there), pooled 22/24 = 0.92.
    const own = (k: number): number => start + 100 + 0.05 * fs + k * 0.8 * fs;
    const small = Float64Array.from({ length: 6 }, (_, k) => (follow && (s > 0 || k < 4) ? big[k * 8] + 0.006 * fs : own(k))).sort();
    return { start, end: start + segLen, spikes: [big, small], amplitudes: [unit(300, 90), unit(y, 30)] };
  });
}

describe('burstFragmentTracks', () => {
  it('finds a burst fragment that the per-segment rule leaves (6 spikes a segment, 10 Hz main unit)', () => {
    const segs = segments(300, true);
    const tracks = segs.map(() => Int32Array.from([0, 1]));
    // The per-segment rule keeps segment 0's two units apart.
    const local = { spikes: segs[0].spikes.map((t) => t.map((x) => x - segs[0].start)), amplitudes: segs[0].amplitudes };
    expect(mergeBurstFragments(local, fs, segLen).spikes.length).toBe(2);
    expect(burstFragmentTracks(segs, tracks, fs)).toEqual(new Set([1]));
    // Independent timing: not a fragment.
    const indep = segments(300, false);
    expect(burstFragmentTracks(indep, indep.map(() => Int32Array.from([0, 1])), fs)).toEqual(new Set());
    // Another place: not a fragment.
    const far = segments(500, true);
    expect(burstFragmentTracks(far, far.map(() => Int32Array.from([0, 1])), fs)).toEqual(new Set());
    // Unlisted units are not considered.
    expect(burstFragmentTracks(segs, segs.map(() => Int32Array.from([0, -1])), fs)).toEqual(new Set());
  });
});
