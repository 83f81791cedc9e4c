import { describe, expect, it } from 'vitest';
import { mapClusters, mergeRecordings } from '../../src/result/merge.js';
import { shiftAmplitudes } from '../../src/stages/track/drift.js';
import { SortedRecording, type SegmentResult } from '../../src/result/sorted-recording.js';
import { buildRecording, linearGeometry, mulberry32, randomTrain } from './helpers.js';

const depths = [40, 130, 220, 310];

/**
 * A second recording of the same units, in permuted order, whose amplitude vectors are the
 * first recording's last-segment vectors moved by `drift` µm with our own shift simulation.
 */
function drifted(a: SortedRecording, perm: number[], drift: number, start: number, seed: number): SortedRecording {
  const rand = mulberry32(seed);
  const C = a.numChannels;
  const last = a.segments[a.numSegments - 1];
  const stacked = new Float32Array(last.amplitudes.length * C);
  last.amplitudes.forEach((v, i) => stacked.set(v, i * C));
  const moved = shiftAmplitudes(stacked, last.amplitudes.length, a.geometry, drift);
  const amplitudes: Float32Array[] = new Array(perm.length);
  const spikes: Float64Array[] = new Array(perm.length);
  perm.forEach((to, from) => {
    amplitudes[to] = moved.slice(from * C, (from + 1) * C);
    spikes[to] = randomTrain(rand, start, start + 1000, 10);
  });
  const seg: SegmentResult = { start, end: start + 1000, spikes, amplitudes };
  return new SortedRecording({ segments: [seg], links: [], probeGeometry: a.probeGeometry, samplingFrequency: a.samplingFrequency, numChannels: C });
}

describe('mergeRecordings', () => {
  const a = buildRecording({ depths, numSegments: 3, segmentLength: 1000, driftPerSegment: 5, seed: 1 });

  it('bridges recordings through a drifted, permuted assignment', () => {
    for (const drift of [-15, 0, 10, 20]) {
      const perm = [2, 0, 3, 1];
      const b = drifted(a, perm, drift, 3000, 2);
      const merged = mergeRecordings([a, b]);
      expect(merged.numSegments).toBe(4);
      expect(merged.clusterIds()).toEqual([0, 1, 2, 3]);
      expect(merged.segmentBoundaries()).toEqual([...a.segmentBoundaries(), ...b.segmentBoundaries()]);
      for (const id of depths.keys()) {
        expect(Array.from(merged.spikes(id))).toEqual([...a.spikes(id), ...b.spikes(perm[id])]);
        expect(merged.amplitudeVectors(id).length).toBe(4);
      }
      expect(Array.from(merged.links[2])).toEqual(perm);
    }
  });

  it('keeps the inner links of every recording and allows gaps and touching', () => {
    const b = buildRecording({ depths, numSegments: 2, segmentLength: 1000, start: 5000, seed: 3, links: [Int32Array.from([1, 0, -1, 3])] });
    const c = buildRecording({ depths, numSegments: 1, segmentLength: 1000, start: 7000, seed: 4 });
    const merged = mergeRecordings([a, b, c], { maxDrift: 10 });
    expect(merged.numSegments).toBe(6);
    expect(merged.links[3]).toBe(b.links[0]);
    // Unit 2 of b breaks, so whatever continued into it breaks in the merge.
    expect(merged.length).toBe(3);
    expect(merged.endTime()).toBe(8000);
  });

  it('accepts a single recording and returns an equivalent one', () => {
    const one = mergeRecordings([a]);
    expect(one).not.toBe(a);
    expect(one.allSpikes()).toEqual(a.allSpikes());
  });

  it('rejects bad input with clear messages', () => {
    expect(() => mergeRecordings([])).toThrow(/list is empty/);
    expect(() => mergeRecordings('x' as never)).toThrow(/must be an array/);
    expect(() => mergeRecordings([a, {} as never])).toThrow(/list\[1\] must be a SortedRecording, received Object/);
    const other = buildRecording({ depths, numSegments: 1, segmentLength: 1000, start: 5000, channels: 12 });
    expect(() => mergeRecordings([a, other])).toThrow(/does not match/);
    const later = buildRecording({ depths, numSegments: 1, segmentLength: 1000, start: 5000 });
    const moved = new SortedRecording({
      segments: [...later.segments], links: [], probeGeometry: linearGeometry(16, 20), samplingFrequency: a.samplingFrequency, numChannels: 16,
    });
    expect(() => mergeRecordings([a, moved])).toThrow(/recording 1 does not match recording 0 \(channel 1/);
    const overlapping = buildRecording({ depths, numSegments: 1, segmentLength: 1000, start: 2500 });
    expect(() => mergeRecordings([a, overlapping])).toThrow(/recording 0 \[0, 3000\) samples .* overlaps recording 1 \[2500, 3500\)/);
    expect(() => mergeRecordings([a, a])).toThrow(/overlaps/);
    const rate = buildRecording({ depths, numSegments: 1, segmentLength: 1000, start: 5000, fs: 20000 });
    expect(() => mergeRecordings([a, rate])).toThrow(/samplingFrequency/);
    expect(() => mergeRecordings([a], { maxDrift: -5 })).toThrow(/maxDrift/);
  });
});

describe('mapClusters', () => {
  it('maps ids across recordings, keeping only valid pairs', () => {
    const src = buildRecording({ depths, numSegments: 2, segmentLength: 1000, seed: 5, links: [Int32Array.from([0, 1, -1, 3])] });
    const tgt = drifted(src.splitIntoSegments()[0].splitIntoSegments()[0], [1, 3, 0, 2], 10, 9000, 6);
    // mapClusters uses the first segments: src's first segment at `depths`, tgt drifted by 10 µm.
    const map = mapClusters(src, tgt);
    expect([...map.entries()]).toEqual([[0, 1], [1, 3], [3, 2]]); // id 2 is invalid in src
    // Invalid target ids are dropped too.
    const tgt2 = buildRecording({ depths: [130, 40, 310, 220], numSegments: 2, segmentLength: 1000, start: 9000, links: [Int32Array.from([0, -1, 2, 3])] });
    const map2 = mapClusters(src, tgt2, { maxDrift: 0 });
    // src 0 -> tgt 1 is dropped because tgt id 1 breaks; src 2 is invalid in src.
    expect([...map2.entries()]).toEqual([[1, 0], [3, 2]]);
  });

  it('is the identity between a recording and itself', () => {
    const r = buildRecording({ depths, numSegments: 2, segmentLength: 1000, seed: 9 });
    expect([...mapClusters(r, r).entries()]).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
  });

  it('rejects bad input', () => {
    const r = buildRecording({ depths, numSegments: 1, segmentLength: 1000 });
    const other = buildRecording({ depths, numSegments: 1, segmentLength: 1000, channels: 8 });
    expect(() => mapClusters(r, null as never)).toThrow(/target must be a SortedRecording/);
    expect(() => mapClusters([] as never, r)).toThrow(/source must be a SortedRecording/);
    expect(() => mapClusters(r, other)).toThrow(/does not match/);
    expect(() => mapClusters(r, r, { maxDrift: Number.NaN })).toThrow(/maxDrift/);
  });
});

