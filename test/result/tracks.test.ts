/**
 * SortedRecording with tracks (mode 'improved'): ids, spike trains and amplitude vectors over
 * the segments a track has; save/load as format version 2, and version-1 files (§10 chains,
 * written here byte by byte as the format describes) still load; splitIntoSegments,
 * mergeRecordings and mapClusters follow tracks.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SortedRecording, type SegmentResult } from '../../src/result/sorted-recording.js';
import { mapClusters, mergeRecordings } from '../../src/result/merge.js';
import { buildTracks } from '../../src/stages/track/tracks.js';
import { footprint, linearGeometry, mulberry32, randomTrain } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'spikesift-tracks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const geometry = linearGeometry(32);
const geo32 = Float32Array.from(geometry.flat());

/** Segments of 1000 samples; `present[s]` lists the depths of the units in segment s. */
function segmentsOf(present: number[][], seed = 1, start = 0): SegmentResult[] {
  const rand = mulberry32(seed);
  return present.map((depths, s) => {
    const a = start + 1000 * s;
    return {
      start: a, end: a + 1000,
      spikes: depths.map(() => randomTrain(rand, a, a + 1000, 8 + Math.floor(rand() * 10))),
      amplitudes: depths.map((d) => Float32Array.from(footprint(geometry, d, 60 + d / 20), (v) => v + 2)),
    };
  });
}

function tracked(segments: SegmentResult[]): SortedRecording {
  const t = buildTracks(segments, geo32, { maxDrift: 30, maxSkippedSegments: 3 });
  return new SortedRecording({ segments, links: t.links, tracks: t.tracks, probeGeometry: geometry, samplingFrequency: 30000, numChannels: 32 });
}

const PRESENT = [[100, 400], [400, 100], [100], [100, 650], [650, 400, 100]];

/** Writes a version-1 file (the §10 chain format of SortedRecording.save before tracks) from its documented layout. */
function writeVersion1(r: SortedRecording, path: string): void {
  const C = r.numChannels;
  const unitCounts = Int32Array.from(r.segments, (s) => s.spikes.length);
  const units = r.segments.flatMap((s) => s.spikes.map((t, k) => ({ t, a: s.amplitudes[k] })));
  const spikeCounts = Int32Array.from(units, (u) => u.t.length);
  const spikes = Float64Array.from(units.flatMap((u) => Array.from(u.t)));
  const amplitudes = new Float32Array(units.length * C);
  units.forEach((u, i) => amplitudes.set(u.a, i * C));
  const links = Int32Array.from(r.links.flatMap((l) => Array.from(l)));
  const arrays = [
    ['starts', 'float64', Float64Array.from(r.segments, (s) => s.start)], ['ends', 'float64', Float64Array.from(r.segments, (s) => s.end)],
    ['unitCounts', 'int32', unitCounts], ['spikeCounts', 'int32', spikeCounts], ['spikes', 'float64', spikes],
    ['amplitudes', 'float32', amplitudes], ['links', 'int32', links],
  ] as const;
  const blocks: object[] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, type, arr] of arrays) {
    blocks.push({ name, type, offset, length: arr.length });
    const bytes = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
    const padded = Buffer.alloc((bytes.length + 7) & ~7);
    bytes.copy(padded);
    parts.push(padded);
    offset += padded.length;
  }
  let header = JSON.stringify({
    format: 'spikesift.SortedRecording', version: 1, samplingFrequency: r.samplingFrequency, numChannels: C,
    probeGeometry: r.probeGeometry, numSegments: r.numSegments, numUnits: units.length, numSpikes: spikes.length, blocks,
  });
  header += ' '.repeat(((header.length + 7) & ~7) - header.length);
  const body = Buffer.concat([Buffer.from(header, 'utf8'), ...parts]);
  const pre = Buffer.alloc(56);
  pre.write('SPKSIFT\0', 0, 'latin1');
  pre.writeUInt32LE(1, 8);
  pre.writeUInt32LE(Buffer.byteLength(header), 12);
  pre.writeBigUInt64LE(BigInt(offset), 16);
  createHash('sha256').update(body).digest().copy(pre, 24);
  writeFileSync(path, Buffer.concat([pre, body]));
}

describe('SortedRecording with tracks', () => {
  const r = tracked(segmentsOf(PRESENT));

  it('lists tracks, with spikes and amplitude vectors of the segments each has', () => {
    expect(r.tracked).toBe(true);
    // 100 in every segment, 400 skips two segments, 650 starts in segment 3.
    const ids = r.clusterIds();
    expect(ids.length).toBe(3);
    const byDepth = (s: number, u: number) => r.tracks![s][u];
    const a = byDepth(0, 0), b = byDepth(0, 1), c = byDepth(3, 1);
    expect(r.segmentsOf(a)).toEqual([0, 1, 2, 3, 4]);
    expect(r.segmentsOf(b)).toEqual([0, 1, 4]);
    expect(r.segmentsOf(c)).toEqual([3, 4]);
    expect(Array.from(r.chain(b))).toEqual([1, 0, -1, -1, 1]);
    const train = r.spikes(b);
    expect(train.length).toBe(r.segments[0].spikes[1].length + r.segments[1].spikes[0].length + r.segments[4].spikes[1].length);
    for (let i = 1; i < train.length; i++) expect(train[i]).toBeGreaterThanOrEqual(train[i - 1]);
    expect(r.amplitudeVectors(b)).toEqual([r.segments[0].amplitudes[1], r.segments[1].amplitudes[0], r.segments[4].amplitudes[1]]);
    expect(() => r.spikes(99)).toThrow(/cluster id 99 is not valid; valid ids \(tracks\) are/);
  });

  it('rejects a track with two units in one segment', () => {
    const segs = segmentsOf([[100, 400]]);
    expect(() => new SortedRecording({ segments: segs, links: [], tracks: [Int32Array.from([0, 0])], probeGeometry: geometry, samplingFrequency: 30000, numChannels: 32 }))
      .toThrow(/track 0 has two units in segment 0/);
  });

  it('saves as format version 2 and loads the same tracks; chain results stay version 1', async () => {
    const file = join(dir, 'tracked.spks');
    await r.save(file);
    expect(readFileSync(file).readUInt32LE(8)).toBe(2);
    const back = await SortedRecording.load(file);
    expect(back.tracked).toBe(true);
    expect(back.clusterIds()).toEqual(r.clusterIds());
    for (const id of r.clusterIds()) expect(Array.from(back.spikes(id))).toEqual(Array.from(r.spikes(id)));
    expect(back.tracks!.map((t) => Array.from(t))).toEqual(r.tracks!.map((t) => Array.from(t)));
    const chains = new SortedRecording({ segments: r.segments.slice(), links: r.links.slice(), probeGeometry: geometry, samplingFrequency: 30000, numChannels: 32 });
    await chains.save(join(dir, 'chains.spks'));
    expect(readFileSync(join(dir, 'chains.spks')).readUInt32LE(8)).toBe(1);
  });

  it('loads a version-1 file with §10 chain ids', async () => {
    const segs = segmentsOf([[100, 400], [400, 100], [100, 400]]);
    const old = new SortedRecording({ segments: segs, links: [Int32Array.from([1, 0]), Int32Array.from([-1, 0])], probeGeometry: geometry, samplingFrequency: 30000, numChannels: 32 });
    const file = join(dir, 'v1.spks');
    writeVersion1(old, file);
    const back = await SortedRecording.load(file);
    expect(back.tracked).toBe(false);
    // Unit 0 of segment 0 -> unit 1 -> unit 0 of segment 2; unit 1 -> unit 0 -> -1 (broken).
    expect(back.clusterIds()).toEqual([0]);
    expect(Array.from(back.chain(0))).toEqual([0, 1, 0]);
    expect(Array.from(back.spikes(0))).toEqual(Array.from(old.spikes(0)));
  });

  it('splitIntoSegments keeps track ids', () => {
    const parts = r.splitIntoSegments();
    expect(parts.length).toBe(5);
    parts.forEach((p, s) => {
      expect(p.tracked).toBe(true);
      expect(p.clusterIds()).toEqual([...new Set(Array.from(r.tracks![s]).filter((x) => x >= 0))].sort((x, y) => x - y));
    });
  });

  it('mergeRecordings tracks over all segments: the first part keeps its ids, a unit continues across the join', () => {
    const all = segmentsOf([...PRESENT, [100, 650], [650, 100, 400]], 3);
    const whole = tracked(all.map((s) => ({ ...s, spikes: s.spikes.slice(), amplitudes: s.amplitudes.slice() })));
    const first = tracked(all.slice(0, 5));
    const second = tracked(all.slice(5));
    const merged = mergeRecordings([first, second]);
    expect(merged.tracked).toBe(true);
    expect(merged.tracks!.map((t) => Array.from(t))).toEqual(whole.tracks!.map((t) => Array.from(t)));
    for (let s = 0; s < 5; s++) expect(Array.from(merged.tracks![s])).toEqual(Array.from(first.tracks![s]));
    // The unit at 100 µm has one id from segment 0 to 6.
    expect(merged.segmentsOf(merged.tracks![0][0])).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('mapClusters maps tracks of two sorts of the same units', () => {
    const other = tracked(segmentsOf([[400, 100], [100, 400], [100, 400], [650, 100], [100, 650, 400]], 7));
    const m = mapClusters(r, other);
    // Each track maps to the track at the same depth (same best channel).
    expect(m.size).toBe(3);
    for (const [from, to] of m) {
      const v1 = r.amplitudeVectors(from)[0];
      const v2 = other.amplitudeVectors(to)[0];
      let b1 = 0, b2 = 0;
      for (let c = 1; c < 32; c++) { if (v1[c] > v1[b1]) b1 = c; if (v2[c] > v2[b2]) b2 = c; }
      expect(b2).toBe(b1);
    }
    expect(new Set(m.values()).size).toBe(3);
  });
});
