/**
 * Split pieces (mode 'improved', buildTracks' splitPieces): a unit whose cluster the probe's
 * movement split in one segment into an early and a late piece left two tracks that share that
 * segment; they are one id, and the smaller piece's unit is absorbed by the larger. Two units at
 * one place that fire through the segment alike stay apart.
 */
import { describe, expect, it } from 'vitest';
import { buildTracks, timeSeparation, PIECE_MIN_SEPARATION, type TrackInput } from '../../../src/stages/track/tracks.js';
import { footprint, linearGeometry } from '../../result/helpers.js';

const geometry = linearGeometry(32);
const geo32 = Float32Array.from(geometry.flat());
const unit = (y: number, peak = 60): Float32Array => Float32Array.from(footprint(geometry, y, peak), (v) => v + 2);
const opts = { maxDrift: 30, maxSkippedSegments: 3, splitPieces: true };
const SEG = 300_000;
/** n spike times evenly spread over [from, to) of segment s (fractions of the segment). */
const train = (s: number, n: number, from = 0, to = 1): Float64Array =>
  Float64Array.from({ length: n }, (_, k) => Math.round(s * SEG + (from + ((to - from) * (k + 0.5)) / n) * SEG));

/**
 * A unit at y 100 in segments 0-2, at y 112 from segment 4 on (the probe moved); in segment 3
 * its cluster is two pieces (y 100: 30 spikes, y 112: 20), fired in the first and the second
 * half of the segment when `separated`, alternating through it otherwise (two units). A second
 * unit at y 500 is in every segment.
 */
function recording(separated: boolean): TrackInput[] {
  const out: TrackInput[] = [];
  for (let s = 0; s < 7; s++) {
    if (s === 3) {
      const early = separated ? train(s, 30, 0, 0.5) : train(s, 30);
      const late = separated ? train(s, 20, 0.5, 1) : train(s, 20, 0.01, 1);
      out.push({ amplitudes: [unit(100), unit(112), unit(500)], spikes: [early, late, train(s, 40)] });
    } else {
      out.push({ amplitudes: [unit(s < 3 ? 100 : 112), unit(500)], spikes: [train(s, 50), train(s, 40)] });
    }
  }
  return out;
}

describe('timeSeparation', () => {
  it('is the rank-sum z score of the times (positive when b fires later)', () => {
    // U = 9 of 9 pairs, mean 4.5, sd sqrt(9 * 7 / 12).
    expect(timeSeparation(Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6))).toBeCloseTo(4.5 / Math.sqrt(63 / 12), 12);
    expect(timeSeparation(Float64Array.of(4, 5, 6), Float64Array.of(1, 2, 3))).toBeCloseTo(-4.5 / Math.sqrt(63 / 12), 12);
    // Ties count half: identical trains give 0.
    expect(timeSeparation(Float64Array.of(1, 2, 2, 5), Float64Array.of(1, 2, 2, 5))).toBe(0);
    expect(timeSeparation(new Float64Array(0), Float64Array.of(1))).toBe(0);
    // Interleaved trains stay below the cut, an early and a late piece far above it.
    expect(Math.abs(timeSeparation(train(0, 30), train(0, 20, 0.01, 1)))).toBeLessThan(PIECE_MIN_SEPARATION);
    expect(timeSeparation(train(0, 30, 0, 0.5), train(0, 20, 0.5, 1))).toBeGreaterThan(PIECE_MIN_SEPARATION);
  });
});

describe('buildTracks: pieces of a split cluster', () => {
  it('gives the two tracks that share the split segment one id; the larger piece keeps it', () => {
    const input = recording(true);
    // Without the rule: two ids for the one unit, meeting in segment 3.
    const off = buildTracks(input, geo32, { ...opts, splitPieces: false });
    const early = off.tracks[0][0], late = off.tracks[6][0];
    expect(early).toBeGreaterThanOrEqual(0);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).not.toBe(early);
    expect(off.absorbed).toEqual([]);
    // With it: one id in every segment, segment 3's smaller piece (unit 1) absorbed into unit 0.
    const on = buildTracks(input, geo32, opts);
    const id = on.tracks[0][0];
    for (let s = 0; s < 7; s++) expect(on.tracks[s][0]).toBe(id);
    expect(on.tracks[3][1]).toBe(-1);
    expect(on.absorbed).toEqual([{ segment: 3, unit: 1, into: 0 }]);
    // The other unit keeps its own id throughout.
    const other = on.tracks[0][1];
    expect(other).not.toBe(id);
    for (let s = 0; s < 7; s++) expect(on.tracks[s][s === 3 ? 2 : 1]).toBe(other);
    // Links follow the merged track across segment 3.
    expect(on.links[2][0]).toBe(0);
    expect(on.links[3][0]).toBe(0);
  });

  it('keeps two units at one place apart when both fire through the segment', () => {
    const on = buildTracks(recording(false), geo32, opts);
    expect(on.absorbed).toEqual([]);
    expect(on.tracks[6][0]).not.toBe(on.tracks[0][0]);
  });
});
