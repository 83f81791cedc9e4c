/**
 * Tracks (mode 'improved'): units that skip segments keep their id, units that start late get
 * a new one, tracks end, one-segment tracks are not listed, and implausible assignment pairs
 * (too far apart, or too different in amplitude) are refused where §10 would link them; across
 * a gap the drift allowed is what the other units showed, redundant pieces are compared by
 * the medians of their units where they meet, and across a gap a pooled unit that fits a track
 * better keeps it from a clustered unit.
 */
import { describe, expect, it } from 'vitest';
import { assignClusters } from '../../../src/stages/track/assignment.js';
import { buildTracks, centroid, aboveFloor, relativeDistance, measuredDrift, MIN_TRACK_SEGMENTS } from '../../../src/stages/track/tracks.js';
import { footprint, linearGeometry } from '../../result/helpers.js';

const geometry = linearGeometry(32);
const geo32 = Float32Array.from(geometry.flat());
/** A unit's amplitude vector: a footprint at depth y on a noise floor of 2. */
const unit = (y: number, peak = 60): Float32Array => Float32Array.from(footprint(geometry, y, peak), (v) => v + 2);
const opts = { maxDrift: 30, maxSkippedSegments: 3 };

describe('buildTracks', () => {
  it('keeps the id of a unit that skips segments, gives a late unit a new id, and ends tracks', () => {
    // Unit A (y 100) in every segment; B (y 400) skips segments 2 and 3; C (y 650) starts in
    // segment 2; D (y 250) is in segments 0 and 1 only.
    const segments = [
      { amplitudes: [unit(100), unit(400), unit(250, 80)] },
      { amplitudes: [unit(250, 80), unit(100), unit(400)] },
      { amplitudes: [unit(100), unit(650, 90)] },
      { amplitudes: [unit(650, 90), unit(100)] },
      { amplitudes: [unit(100), unit(400), unit(650, 90)] },
    ];
    const { tracks, links } = buildTracks(segments, geo32, opts);
    const [a, b, d] = [tracks[0][0], tracks[0][1], tracks[0][2]];
    expect(new Set([a, b, d]).size).toBe(3);
    expect(Array.from(tracks[1])).toEqual([d, a, b]);
    const c = tracks[2][1];
    expect(c).not.toBe(-1);
    expect([a, b, d]).not.toContain(c);
    expect(Array.from(tracks[2])).toEqual([a, c]);
    expect(Array.from(tracks[3])).toEqual([c, a]);
    // B reappears after two missing segments with its own id.
    expect(Array.from(tracks[4])).toEqual([a, b, c]);
    // Links: only between neighbouring segments.
    expect(Array.from(links[0])).toEqual([1, 2, 0]);
    expect(Array.from(links[1])).toEqual([-1, 0, -1]);
  });

  it('ends a track after maxSkippedSegments missing segments (0: at the first)', () => {
    const segments = [{ amplitudes: [unit(100), unit(400)] }, { amplitudes: [unit(100)] }, { amplitudes: [unit(100), unit(400)] }];
    const kept = buildTracks(segments, geo32, opts).tracks;
    expect(kept[2][1]).toBe(kept[0][1]);
    const ended = buildTracks(segments, geo32, { ...opts, maxSkippedSegments: 0 }).tracks;
    expect(ended[0][1]).toBe(-1); // seen in one segment only: not listed
    expect(ended[2][1]).toBe(-1); // a new track, also seen once
    expect(ended[2][0]).toBe(ended[0][0]);
  });

  it(`does not list tracks seen in fewer than ${MIN_TRACK_SEGMENTS} segments (unless the result has one segment)`, () => {
    const two = buildTracks([{ amplitudes: [unit(100), unit(500)] }, { amplitudes: [unit(100)] }], geo32, opts).tracks;
    expect(two[0][0]).toBeGreaterThanOrEqual(0);
    expect(two[0][1]).toBe(-1);
    const one = buildTracks([{ amplitudes: [unit(100), unit(500)] }], geo32, opts).tracks;
    expect(Array.from(one[0])).toEqual([0, 1]);
  });

  it('refuses links §10 would make between units far apart or of very different amplitude', () => {
    // Segment 1 has only a unit 500 µm away from segment 0's: the assignment pairs them anyway.
    const far = [{ amplitudes: [unit(100)] }, { amplitudes: [unit(600)] }, { amplitudes: [unit(600)] }];
    expect(Array.from(assignClusters(far[0].amplitudes, far[1].amplitudes, geo32, 30))).toEqual([0]);
    const t = buildTracks(far, geo32, opts);
    expect(t.tracks[0][0]).toBe(-1);
    expect(t.tracks[1][0]).not.toBe(-1);
    expect(t.refused.position).toBeGreaterThan(0);
    // Same place, a third of the amplitude: not the same unit.
    const weak = [{ amplitudes: [unit(100, 90)] }, { amplitudes: [unit(100, 30)] }];
    const w = buildTracks(weak, geo32, opts);
    expect(w.refused.amplitude).toBe(1);
    expect(Array.from(w.links[0])).toEqual([-1]);
    // A 10% change is a link.
    const ok = buildTracks([{ amplitudes: [unit(100, 90)] }, { amplitudes: [unit(105, 81)] }], geo32, opts);
    expect(Array.from(ok.links[0])).toEqual([0]);
  });

  it('follows drift across a gap within maxDrift per segment of the gap', () => {
    // 50 µm over two boundaries (one skipped segment): within 2 x 30 µm.
    const segments = [{ amplitudes: [unit(100), unit(500)] }, { amplitudes: [unit(500)] }, { amplitudes: [unit(150), unit(500)] }];
    const { tracks } = buildTracks(segments, geo32, opts);
    expect(tracks[2][0]).toBe(tracks[0][0]);
  });

  it('allows across a gap the drift the other units showed over it plus maxDrift, not maxDrift per segment', () => {
    // B (400 µm) skips segments 2-3 and a unit appears 70 µm away from it in segment 4: within
    // 3 x 30 µm, but A and C, in every segment, did not move. When all units drift 20 µm per
    // segment, B's unit in segment 4 is 60 µm from its last one: the probe's drift, and B keeps its id.
    const segs = (drift: number) => [0, 1, 2, 3, 4].map((k) => {
      const b = k === 4 && drift === 0 ? 470 : 400 + drift * k;
      return { amplitudes: k === 2 || k === 3 ? [unit(100 + drift * k), unit(650 + drift * k)] : [unit(100 + drift * k), unit(b), unit(650 + drift * k)] };
    });
    const still = buildTracks(segs(0), geo32, opts).tracks;
    expect(still[4][0]).toBe(still[0][0]);
    expect(still[1][1]).toBe(still[0][1]);
    expect(still[4][1]).not.toBe(still[0][1]);
    const moving = buildTracks(segs(20), geo32, opts).tracks;
    expect(moving[4][0]).toBe(moving[0][0]);
    expect(moving[4][1]).toBe(moving[0][1]);
  });

  it('measuredDrift: the net measured drift over the gap plus maxDrift (a boundary without an assignment counts maxDrift), at most the cap', () => {
    const moved = Float64Array.from([NaN, 10, -5, 20, NaN, 15]);
    expect(measuredDrift(moved, 0, 3, 30, 120)).toBe(25 + 30);
    expect(measuredDrift(moved, 0, 1, 30, 30)).toBe(30);
    expect(measuredDrift(moved, 2, 5, 30, 200)).toBe(35 + 60);
    expect(measuredDrift(moved, 2, 5, 30, 90)).toBe(90);
  });

  it('merges two pieces of one unit by the median of the units nearest where they meet, not by one odd unit there', () => {
    // A (300 µm, peak 110) in segments 0-2 and B in 7-9: B's first cluster is odd (peak 50),
    // the next two are 90. Alone, that first cluster is too unlike A (relative distance 0.55)
    // for the joining and for a merge by the nearest units; the median of B's 3 units nearest
    // A (peak 90) is within 0.2 of A.
    const segs = Array.from({ length: 10 }, (_, s) => ({
      amplitudes: s <= 2 ? [unit(100), unit(300, 110)] : s === 7 ? [unit(100), unit(300, 50)] : s >= 8 ? [unit(100), unit(300, 90)] : [unit(100)],
    }));
    const { tracks } = buildTracks(segs, geo32, { maxDrift: 30, maxSkippedSegments: 30 });
    const a = tracks[0][1];
    expect(a).toBeGreaterThanOrEqual(0);
    expect(tracks[8][1]).toBe(tracks[7][1]);
    expect(tracks[7][1]).toBe(a);
    expect(tracks[9][1]).toBe(a);
  });

  it('leaves a unit to the track that skipped more segments when it fits better (two similar units at one place)', () => {
    // A at 300 µm (peak 90) and B at 320 µm (peak 70) are both plausible for either unit. A is
    // missing from segments 3-4, B from segment 4 only; in segment 5 only A fires. B (skipped 1)
    // is tried before A (skipped 2) and would take A's unit.
    const A = (): Float32Array => unit(300, 90);
    const B = (): Float32Array => unit(320, 70);
    const segs = [
      { amplitudes: [unit(100), A(), B()] },
      { amplitudes: [unit(100), A(), B()] },
      { amplitudes: [unit(100), A(), B()] },
      { amplitudes: [unit(100), B()] },
      { amplitudes: [unit(100)] },
      { amplitudes: [unit(100), A()] },
      { amplitudes: [unit(100), A(), B()] },
      { amplitudes: [unit(100), A(), B()] },
    ];
    const { tracks } = buildTracks(segs, geo32, { maxDrift: 30, maxSkippedSegments: 3 });
    const [idA, idB] = [tracks[0][1], tracks[0][2]];
    expect(idA).toBeGreaterThanOrEqual(0);
    expect(idB).not.toBe(idA);
    expect(tracks[3][1]).toBe(idB);
    expect(tracks[5][1]).toBe(idA);
    expect(tracks[6][1]).toBe(idA);
    expect(tracks[6][2]).toBe(idB);
  });

  it('matches pooled units after the clustered ones: a pooled unit takes no track from a clustered unit', () => {
    // Segment 1's clustered unit at 300 µm is a little smaller than segment 0's; its pooled unit
    // (firstPooled 1) is identical to segment 0's, so an assignment of all units would pair those.
    const segs = [
      { amplitudes: [unit(300, 90)] },
      { amplitudes: [unit(300, 80), unit(300, 90)], firstPooled: 1 },
      { amplitudes: [unit(300, 80)] },
    ];
    const { tracks } = buildTracks(segs, geo32, opts);
    expect(tracks[1][0]).toBe(tracks[0][0]);
    expect(tracks[2][0]).toBe(tracks[0][0]);
    expect(tracks[1][1]).not.toBe(tracks[0][0]);
    // Without firstPooled the identical pair wins.
    const all = buildTracks(segs.map((g) => ({ amplitudes: g.amplitudes })), geo32, opts).tracks;
    expect(all[1][1]).toBe(all[0][0]);
  });

  it('across a skipped segment, a pooled unit that fits the track better keeps it from a clustered unit', () => {
    // A rare unit at 300 µm (clustered in segments 0-1, absent from 2) has only a pooled unit in
    // segment 3, where a unit starting there 30 µm away is clustered: within the drift allowed
    // (30 µm, measured 0 by the unit at 100 µm) plus the position tolerance, so plausible.
    const segs = [
      { amplitudes: [unit(100), unit(300, 90)] },
      { amplitudes: [unit(100), unit(300, 90)] },
      { amplitudes: [unit(100)] },
      { amplitudes: [unit(100), unit(330, 90), unit(300, 90)], firstPooled: 2 },
      { amplitudes: [unit(100), unit(330, 90)] },
    ];
    const { tracks } = buildTracks(segs, geo32, opts);
    const rare = tracks[0][1];
    expect(tracks[1][1]).toBe(rare);
    expect(tracks[3][2]).toBe(rare);
    expect(tracks[3][1]).not.toBe(rare);
    expect(tracks[4][1]).toBe(tracks[3][1]);
    // Stage 0 is unchanged: across no gap the clustered unit keeps the track (previous test).
  });

  it('compares a track by the median of its latest units: one odd unit does not lead it to another unit', () => {
    // The unit at 300 µm (peak 90) has one odd, smaller cluster in segment 3 (peak 60); in
    // segment 4 it is back, next to a smaller unit at the same place (peak 50) that is nearer
    // the odd cluster than the unit is.
    const segs = [
      { amplitudes: [unit(100), unit(300, 90)] },
      { amplitudes: [unit(100), unit(300, 90)] },
      { amplitudes: [unit(100), unit(300, 90)] },
      { amplitudes: [unit(100), unit(300, 60)] },
      { amplitudes: [unit(100), unit(300, 50), unit(300, 90)] },
      { amplitudes: [unit(100), unit(300, 90)] },
    ];
    const { tracks } = buildTracks(segs, geo32, opts);
    const id = tracks[0][1];
    expect(tracks[3][1]).toBe(id);
    expect(tracks[4][2]).toBe(id);
    expect(tracks[4][1]).not.toBe(id);
    expect(tracks[5][1]).toBe(id);
  });

  it('centroid and relative distance measure position and shape on the units\' channels', () => {
    const [, y] = centroid(aboveFloor(unit(212)), geo32);
    expect(Math.abs(y - 212)).toBeLessThan(5);
    expect(relativeDistance(aboveFloor(unit(100, 60)), aboveFloor(unit(100, 60)))).toBe(0);
    expect(relativeDistance(aboveFloor(unit(100, 60)), aboveFloor(unit(100, 30)))).toBeCloseTo(0.5, 1);
  });
});

describe('joining pieces across long gaps', () => {
  it('joins a rare unit missing from more than 3 segments, up to maxSkippedSegments, and lists it when a piece spans 2 segments', () => {
    // The unit at 300 µm is clustered in segments 0-1, then missing for 6 segments, then in 8-9.
    const segs = Array.from({ length: 10 }, (_, s) => ({ amplitudes: s < 2 || s >= 8 ? [unit(100), unit(300, 90)] : [unit(100)] }));
    const joined = buildTracks(segs, geo32, { maxDrift: 30, maxSkippedSegments: 30 }).tracks;
    expect(joined[9][1]).toBe(joined[0][1]);
    expect(joined[0][1]).toBeGreaterThanOrEqual(0);
    const apart = buildTracks(segs, geo32, { maxDrift: 30, maxSkippedSegments: 5 }).tracks;
    expect(apart[9][1]).not.toBe(apart[0][1]);
    // One-segment pieces are not listed, joined or not.
    const lone = Array.from({ length: 10 }, (_, s) => ({ amplitudes: s === 0 || s === 8 ? [unit(100), unit(300, 90)] : [unit(100)] }));
    const t = buildTracks(lone, geo32, { maxDrift: 30, maxSkippedSegments: 30 }).tracks;
    expect(t[0][1]).toBe(-1);
    expect(t[8][1]).toBe(-1);
  });

  it('merges a piece that lies in the gap of another track of the same unit (the joining chains only the best pair)', () => {
    // A rare unit at 300 µm clustered in segments 0-1, 6-7 and 12-13: the pieces at 0-1 and
    // 12-13 are identical, the middle one a little smaller, so the joining pairs 0-1 with
    // 12-13 first and leaves 6-7 as a track of its own, redundant with the first.
    const present = (s: number): boolean => s < 2 || (s >= 6 && s < 8) || s >= 12;
    const segs = Array.from({ length: 14 }, (_, s) => ({
      amplitudes: present(s) ? [unit(100), unit(300, s >= 6 && s < 8 ? 80 : 90)] : [unit(100)],
    }));
    const { tracks } = buildTracks(segs, geo32, { maxDrift: 30, maxSkippedSegments: 30 });
    expect(tracks[0][1]).toBeGreaterThanOrEqual(0);
    expect(tracks[6][1]).toBe(tracks[0][1]);
    expect(tracks[13][1]).toBe(tracks[0][1]);
    expect(tracks[6][0]).toBe(tracks[0][0]);
    expect(tracks[6][1]).not.toBe(tracks[6][0]);
    // A different unit in the gap (far from 300 µm) stays a track of its own.
    const other = segs.map((g, s) => (s >= 6 && s < 8 ? { amplitudes: [unit(100), unit(600, 80)] } : g));
    const t = buildTracks(other, geo32, { maxDrift: 30, maxSkippedSegments: 30 }).tracks;
    expect(t[6][1]).toBeGreaterThanOrEqual(0);
    expect(t[6][1]).not.toBe(t[0][1]);
  });
});
