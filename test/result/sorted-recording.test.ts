import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SortedRecording, type SegmentResult, SORTED_FILE_VERSION } from '../../src/result/sorted-recording.js';
import { buildRecording } from './helpers.js';

const geometry = [[0, 0], [0, 25], [0, 50], [0, 75]];
const amp = (v: number) => Float32Array.from([v, v / 2, v / 4, v / 8]);

/** Three segments; unit chains: 0 -> 1 -> 0, 1 -> 0 -> -1 (breaks), 2 -> -1, 3 -> 2 -> 1. */
function handBuilt(): SortedRecording {
  const segments: SegmentResult[] = [
    { start: 0, end: 100, spikes: [[5, 50], [10], [20, 30, 40], [99]].map((a) => Float64Array.from(a)), amplitudes: [amp(10), amp(20), amp(30), amp(40)] },
    { start: 100, end: 200, spikes: [[150], [101, 102], [120]].map((a) => Float64Array.from(a)), amplitudes: [amp(21), amp(11), amp(41)] },
    { start: 250, end: 300, spikes: [[260, 270], [299]].map((a) => Float64Array.from(a)), amplitudes: [amp(12), amp(42)] },
  ];
  const links = [Int32Array.from([1, 0, -1, 2]), Int32Array.from([-1, 0, 1])];
  return new SortedRecording({ segments, links, probeGeometry: geometry, samplingFrequency: 20000, numChannels: 4 });
}

describe('SortedRecording semantics', () => {
  const rec = handBuilt();

  it('derives valid ids from the chain', () => {
    expect(rec.clusterIds()).toEqual([0, 3]);
    expect(rec.length).toBe(2);
    expect(rec.numSegments).toBe(3);
    expect(rec.validClusterId(0)).toBe(true);
    expect(rec.validClusterId(1)).toBe(false); // breaks in the last link
    expect(rec.validClusterId(2)).toBe(false); // breaks in the first link
    expect(rec.validClusterId(3)).toBe(true);
    expect(rec.validClusterId(4)).toBe(false);
    expect(rec.validClusterId(-1)).toBe(false);
    expect(rec.validClusterId(0.5)).toBe(false);
  });

  it('concatenates spike trains along the chain', () => {
    expect(Array.from(rec.spikes(0))).toEqual([5, 50, 101, 102, 260, 270]);
    expect(Array.from(rec.spikes(3))).toEqual([99, 120, 299]);
    expect(rec.spikes(0)).toBeInstanceOf(Float64Array);
    expect(Array.from(rec.chain(3))).toEqual([3, 2, 1]);
  });

  it('returns one amplitude vector per segment', () => {
    const v = rec.amplitudeVectors(0);
    expect(v.length).toBe(3);
    expect(v.map((a) => a[0])).toEqual([10, 11, 12]);
    expect(v[0]).toBeInstanceOf(Float32Array);
    v[0][0] = 999; // copies: the recording is not changed
    expect(rec.amplitudeVectors(0)[0][0]).toBe(10);
  });

  it('allSpikes has every valid id, ascending', () => {
    const all = rec.allSpikes();
    expect([...all.keys()]).toEqual([0, 3]);
    expect(Array.from(all.get(3)!)).toEqual([99, 120, 299]);
  });

  it('reports boundaries and times', () => {
    expect(rec.segmentBoundaries()).toEqual([[0, 100], [100, 200], [250, 300]]);
    expect(rec.startTime()).toBe(0);
    expect(rec.endTime()).toBe(300);
    expect(rec.samplingFrequency).toBe(20000);
    expect(rec.probeGeometry).toEqual(geometry);
    expect(rec.links.length).toBe(2);
  });

  it('throws on invalid ids with the valid ids in the message', () => {
    expect(() => rec.spikes(1)).toThrow(/cluster id 1 is not valid; valid ids are 0, 3/);
    expect(() => rec.amplitudeVectors(7)).toThrow(/valid ids are 0, 3/);
    const full = buildRecording({ depths: [50, 150, 250], numSegments: 2, segmentLength: 1000 });
    expect(() => full.spikes(3)).toThrow(/valid ids are 0\.\.2/);
  });

  it('splits into single-segment recordings without re-sorting', () => {
    const parts = rec.splitIntoSegments();
    expect(parts.length).toBe(3);
    expect(parts.map((p) => p.length)).toEqual([4, 3, 2]);
    expect(Array.from(parts[1].spikes(1))).toEqual([101, 102]);
    expect(parts[2].segmentBoundaries()).toEqual([[250, 300]]);
    expect(parts.every((p) => p.numSegments === 1)).toBe(true);
  });

  it('survives the transferable round trip', () => {
    const back = SortedRecording.fromTransferable(structuredClone(rec.toTransferable()));
    expect(back.clusterIds()).toEqual(rec.clusterIds());
    expect(back.segments).toEqual(rec.segments);
    expect(back.links).toEqual(rec.links);
  });
});

describe('SortedRecording validation', () => {
  const seg = (start: number, end: number, trains: number[][]): SegmentResult => ({
    start, end, spikes: trains.map((t) => Float64Array.from(t)), amplitudes: trains.map(() => amp(1)),
  });
  const make = (segments: SegmentResult[], links: Int32Array[], extra: Partial<{ numChannels: number; samplingFrequency: number }> = {}) =>
    new SortedRecording({ segments, links, probeGeometry: geometry, samplingFrequency: 20000, numChannels: 4, ...extra });

  it('rejects malformed input with the offending field named', () => {
    expect(() => make([], [])).toThrow(/segments must be a non-empty/);
    expect(() => make([seg(0, 10, [[1]])], [Int32Array.of(0)])).toThrow(/links must have/);
    expect(() => make([seg(0, 10, [[5, 1]])], [])).toThrow(/not ascending/);
    expect(() => make([seg(0, 10, [[10]])], [])).toThrow(/outside the segment/);
    expect(() => make([seg(0, 10, [[1]]), seg(5, 20, [[6]])], [Int32Array.of(0)])).toThrow(/overlap/);
    expect(() => make([seg(0, 10, [[1]]), seg(10, 20, [[16]])], [Int32Array.of(1)])).toThrow(/links\[0\]\[0\] = 1/);
    expect(() => make([seg(0, 10, [[1]])], [], { numChannels: 3 })).toThrow(/probeGeometry/);
    expect(() => make([seg(0, 10, [[1]])], [], { samplingFrequency: 0 })).toThrow(/samplingFrequency/);
    expect(() => make([{ start: 0, end: 10, spikes: [Float64Array.of(1)], amplitudes: [new Float32Array(3)] }], [])).toThrow(/amplitudes\[0\]/);
  });

  it('accepts touching and gapped segments and segments without units', () => {
    const r = make([seg(0, 10, []), seg(10, 20, [[11]]), seg(30, 40, [[31]])], [new Int32Array(0), Int32Array.of(0)]);
    expect(r.length).toBe(0);
    expect(r.clusterIds()).toEqual([]);
    expect(() => r.spikes(0)).toThrow(/no clusters/);
  });
});

describe('SortedRecording save/load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spikesift-save-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const original = buildRecording({ depths: [30, 120, 210, 300], numSegments: 4, segmentLength: 30000, start: -500, seed: 7, links: [
    Int32Array.from([1, 0, 2, -1]), Int32Array.from([0, 1, 3, 2]), Int32Array.from([3, -1, 0, 1]),
  ] });

  it('round-trips every spike, vector, link and metadatum', async () => {
    const path = join(dir, 'result.spikesift');
    await original.save(path);
    const back = await SortedRecording.load(path);
    expect(back.clusterIds()).toEqual(original.clusterIds());
    expect(back.samplingFrequency).toBe(original.samplingFrequency);
    expect(back.probeGeometry).toEqual(original.probeGeometry);
    expect(back.segmentBoundaries()).toEqual(original.segmentBoundaries());
    expect(back.links.map((l) => Array.from(l))).toEqual(original.links.map((l) => Array.from(l)));
    original.segments.forEach((seg, s) => {
      seg.spikes.forEach((train, u) => expect(Array.from(back.segments[s].spikes[u])).toEqual(Array.from(train)));
      seg.amplitudes.forEach((v, u) => expect(Array.from(back.segments[s].amplitudes[u])).toEqual(Array.from(v)));
    });
    for (const id of original.clusterIds()) expect(Array.from(back.spikes(id))).toEqual(Array.from(original.spikes(id)));
    // Atomic write leaves no temporary files behind.
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('is compact: about 8 bytes per spike', async () => {
    const path = join(dir, 'size.spikesift');
    await original.save(path);
    let spikes = 0;
    for (const seg of original.segments) for (const t of seg.spikes) spikes += t.length;
    const size = readFileSync(path).length;
    expect(size).toBeLessThan(spikes * 8 + 16 * 4 * 4 * 4 + 4096);
  });

  it('overwrites an existing file', async () => {
    const path = join(dir, 'over.spikesift');
    await original.save(path);
    const single = original.splitIntoSegments()[0];
    await single.save(path);
    expect((await SortedRecording.load(path)).numSegments).toBe(1);
  });

  it('rejects truncated, tampered, foreign and newer files', async () => {
    const path = join(dir, 'good.spikesift');
    await original.save(path);
    const good = readFileSync(path);
    const variant = async (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return SortedRecording.load(p);
    };
    await expect(variant('trunc', good.subarray(0, good.length - 9))).rejects.toThrow(/truncated/);
    await expect(variant('trunc2', good.subarray(0, 30))).rejects.toThrow(/truncated/);
    await expect(variant('empty', new Uint8Array(0))).rejects.toThrow(/wrong magic/);
    for (const pos of [60, Math.floor(good.length / 2), good.length - 1]) {
      const flipped = Buffer.from(good);
      flipped[pos] ^= 0x10;
      await expect(variant('flip' + pos, flipped)).rejects.toThrow(/checksum mismatch/);
    }
    const magic = Buffer.from(good);
    magic[0] = 'X'.charCodeAt(0);
    await expect(variant('magic', magic)).rejects.toThrow(/not a spikesift sorted-recording file/);
    const newer = Buffer.from(good);
    newer.writeUInt32LE(SORTED_FILE_VERSION + 1, 8);
    await expect(variant('newer', newer)).rejects.toThrow(new RegExp(`version ${SORTED_FILE_VERSION + 1} is newer`));
    await expect(variant('trailing', Buffer.concat([good, Buffer.from([0])]))).rejects.toThrow(/trailing/);
    await expect(SortedRecording.load(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('SortedRecording persistence at scale', () => {
  it('round-trips a million spikes in about 8 bytes each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spikesift-big-'));
    try {
      const units = 20;
      const perUnit = 50_000;
      const spikes = Array.from({ length: units }, (_, u) => Float64Array.from({ length: perUnit }, (_, i) => i * 20 + u));
      const rec = new SortedRecording({
        segments: [{ start: 0, end: perUnit * 20, spikes, amplitudes: spikes.map((_, u) => amp(u + 1)) }],
        links: [], probeGeometry: geometry, samplingFrequency: 30000, numChannels: 4,
      });
      const path = join(dir, 'big.spikesift');
      await rec.save(path);
      expect(readFileSync(path).length).toBeLessThan(units * perUnit * 8 + 4096);
      const back = await SortedRecording.load(path);
      for (let u = 0; u < units; u++) {
        const a = back.spikes(u);
        const b = rec.spikes(u);
        expect(a.length).toBe(b.length);
        let same = true;
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) same = false;
        expect(same).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
