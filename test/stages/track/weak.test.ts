/**
 * Weak short tracks (mode 'improved'): a track that stays below WEAK_TRACK_RATIO x threshold
 * is listed only when it was clustered in WEAK_TRACK_MIN_SEGMENTS segments; larger tracks, and
 * small ones seen long enough, are kept; pooled units do not count.
 */
import { describe, expect, it } from 'vitest';
import { weakTracks, WEAK_TRACK_MIN_SEGMENTS, WEAK_TRACK_RATIO } from '../../../src/stages/track/weak.js';
import { footprint, linearGeometry } from '../../result/helpers.js';

const geometry = linearGeometry(32);
/** Threshold -10 on every channel; a unit's vector: a footprint of the given peak on a floor of 2. */
const thresholds = new Float32Array(32).fill(-10);
const unit = (y: number, peak: number): Float32Array => Float32Array.from(footprint(geometry, y, peak), (v) => v + 2);
const spikes = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => 100 * i);

/** `numSegments` segments; track 0 (peak `small`) in the first `seen` of them, track 1 (peak 60) in all. */
function result(numSegments: number, seen: number, small: number) {
  const segments = Array.from({ length: numSegments }, (_, s) => ({
    spikes: s < seen ? [spikes(30), spikes(40)] : [spikes(30)],
    amplitudes: s < seen ? [unit(500, 60), unit(200, small)] : [unit(500, 60)],
  }));
  const tracks = segments.map((g) => Int32Array.from(g.amplitudes, (_, u) => (u === 0 ? 1 : 0)));
  return { segments, tracks };
}

describe('weakTracks', () => {
  const low = 10 * WEAK_TRACK_RATIO * 0.85;
  const high = 10 * WEAK_TRACK_RATIO * 1.3;
  it(`drops a track below ${WEAK_TRACK_RATIO} x threshold seen in fewer than ${WEAK_TRACK_MIN_SEGMENTS} segments`, () => {
    const { segments, tracks } = result(10, WEAK_TRACK_MIN_SEGMENTS - 1, low);
    expect([...weakTracks(segments, tracks, thresholds)]).toEqual([0]);
  });
  it('keeps it when it is larger, or seen in enough segments (or in every segment of a short result)', () => {
    const big = result(10, WEAK_TRACK_MIN_SEGMENTS - 1, high);
    expect(weakTracks(big.segments, big.tracks, thresholds).size).toBe(0);
    const long = result(10, WEAK_TRACK_MIN_SEGMENTS, low);
    expect(weakTracks(long.segments, long.tracks, thresholds).size).toBe(0);
    const short = result(2, 2, low);
    expect(weakTracks(short.segments, short.tracks, thresholds).size).toBe(0);
  });
  it('counts only clustered units: pooled ones neither vouch for a track nor make it weak', () => {
    const { segments, tracks } = result(10, WEAK_TRACK_MIN_SEGMENTS, low);
    // Its units in the last segments are pooled (index 1 >= firstPooled 1): 1 clustered segment left.
    const firstPooled = segments.map((_, s) => (s >= 1 ? 1 : 2));
    expect([...weakTracks(segments, tracks, thresholds, firstPooled)]).toEqual([0]);
  });
});
