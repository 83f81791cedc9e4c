/**
 * Recovery pass: a track's spikes in a segment where it was not clustered are found again by
 * its template, and on noise alone nothing is added (real sorts of generated recordings with
 * known spikes; the unit is removed from one segment by hand); a track's unit regains the
 * spikes its segment's clustering left out, but neither spikes at half its size nor spikes
 * below the detection threshold (per-ms minima built by hand, so each rule is seen alone).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { countMatches, generateRecording, loadGroundTruth } from '../../src/groundtruth/index.js';
import { performSpikeSortingDetailed } from '../../src/pipeline/perform.js';
import { keepRecoveryMinima, recoverSpikes, type SegmentSpan } from '../../src/pipeline/recover.js';
import { largestIndices } from '../../src/stages/segment/thresholds.js';
import { createSignalProcessor } from '../../src/engines/select.js';
import { cpuSortKernels } from '../../src/stages/sort/kernels-cpu.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { mulberry32 } from '../random.js';

let root: string;
beforeAll(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-recover-')); });
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function open(name: string, numUnits: number): Promise<{ rec: Recording; gtFile: string }> {
  const g = await generateRecording({
    out: path.join(root, name), preset: 'linear32', duration: 10, seed: 41, numUnits, backgroundUnits: 0,
    snrRange: [12, 16], firingRateRange: [8, 12], burstFraction: 0, closePairFraction: 0,
  });
  return { rec: new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency }), gtFile: g.groundTruthFile };
}

/** The sorting ms range of each segment (the reported bounds of the first and last are tiled to the recording). */
function spansOf(r: SortedRecording, rec: Recording): SegmentSpan[] {
  const S = rec.samplesPerMs;
  const T = Math.floor(rec.numSamples / S) - 1;
  return r.segments.map((g, s) => {
    const startMs = s === 0 ? 1 : (g.start - rec.recordingOffset) / S;
    const endMs = s === r.numSegments - 1 ? T : (g.end - rec.recordingOffset) / S;
    return { startMs, numMs: endMs - startMs };
  });
}

/** `r` without track `id`'s unit in segment `s`. */
function withoutUnit(r: SortedRecording, id: number, s: number): { cut: SortedRecording; removed: Float64Array } {
  const u = r.chain(id)[s];
  const segments = r.segments.map((g, q) => q !== s ? g : { ...g, spikes: g.spikes.filter((_, k) => k !== u), amplitudes: g.amplitudes.filter((_, k) => k !== u) });
  const tracks = r.tracks!.map((t, q) => q !== s ? t : Int32Array.from(Array.from(t).filter((_, k) => k !== u)));
  const links = r.links.map((l, q) => {
    if (q === s) return Int32Array.from(Array.from(l).filter((_, k) => k !== u));
    if (q === s - 1) return Int32Array.from(l, (x) => (x === u ? -1 : x > u ? x - 1 : x));
    return l;
  });
  return {
    cut: new SortedRecording({ segments, links, tracks, probeGeometry: r.probeGeometry, samplingFrequency: r.samplingFrequency, numChannels: r.numChannels }),
    removed: r.segments[s].spikes[u],
  };
}

describe('recoverSpikes', () => {
  it("finds a track's spikes again in a segment where it has no unit, and adds nothing on noise", async () => {
    const { rec, gtFile } = await open('units', 3);
    const gt = loadGroundTruth(gtFile);
    const { sorted, thresholds } = await performSpikeSortingDetailed(rec, { verbose: false, backend: 'cpu', minSegmentLength: 2.5, recoverSpikes: false });
    expect(sorted.numSegments).toBeGreaterThanOrEqual(3);
    // A track with a unit in every segment.
    const id = sorted.clusterIds().find((x) => sorted.segmentsOf(x).slice(0, 3).join() === "0,1,2")!;
    expect(id).toBeDefined();
    const { cut, removed } = withoutUnit(sorted, id, 1);
    expect(cut.segmentsOf(id).slice(0, 2)).toEqual([0, 2]);
    const engine = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    try {
      const { sorted: back, stats } = await recoverSpikes(cut, spansOf(sorted, rec), rec, engine, cpuSortKernels(), thresholds, -1);
      expect(back.clusterIds()).toEqual(cut.clusterIds());
      expect(back.segmentsOf(id).slice(0, 3)).toEqual([0, 1, 2]);
      expect(stats.newUnits).toBeGreaterThanOrEqual(1);
      const found = back.segments[1].spikes[back.chain(id)[1]];
      // The recovered train agrees with what the clustering had found there...
      const m = countMatches(removed, found, 12);
      expect(m / (removed.length + found.length - m)).toBeGreaterThan(0.8);
      // ... and its spikes are the ground-truth unit's.
      const fsr = rec.samplingFrequency;
      const best = Math.max(...gt.units.map((u) => countMatches(Float64Array.from(u.spikes), found, Math.floor(0.0004 * fsr))));
      expect(best / found.length).toBeGreaterThan(0.9);
      // Elsewhere units keep their spikes (completion may add some) and no unit is added.
      for (let s = 0; s < cut.numSegments; s++) {
        if (s === 1) continue;
        expect(back.segments[s].spikes.length).toBe(cut.segments[s].spikes.length);
        cut.segments[s].spikes.forEach((train, u) => expect(countMatches(train, back.segments[s].spikes[u], 0)).toBe(train.length));
      }

      // The same tracks over noise alone (same probe, no units): nothing is recovered.
      const noise = await open('noise', 0);
      const quiet = await recoverSpikes(cut, spansOf(sorted, noise.rec), noise.rec, engine, cpuSortKernels(), thresholds, -1);
      expect(quiet.stats.addedInGaps).toBe(0);
      expect(quiet.stats.addedToUnits).toBe(0);
      expect(quiet.sorted.segmentsOf(id)).toEqual(cut.segmentsOf(id));
    } finally {
      engine.dispose();
    }
  }, 120_000);

  it("takes each template's largest channels in the order a sort of all of them gives (ties by channel), NaN left to that sort", () => {
    const rand = mulberry32(71);
    for (let trial = 0; trial < 400; trial++) {
      const C = 1 + Math.floor(rand() * 40);
      const J = Math.min(6, C);
      // Few distinct values (ties), zeros of both signs, now and then an infinity.
      const a = Float32Array.from({ length: C }, () => {
        const r = rand();
        return r < 0.1 ? 0 : r < 0.15 ? -0 : r < 0.17 ? Infinity : Math.floor(rand() * 5) * 0.5;
      });
      const want = Array.from(a.keys()).sort((x, y) => a[y] - a[x] || x - y).slice(0, J);
      // Float32 (recovery's templates) and float64 (the burst merge's floor-removed vectors).
      for (const v of [a, Float64Array.from(a, (x) => x * 1.1)]) {
        const top = new Int32Array(J);
        expect(largestIndices(v, top)).toBe(true);
        expect(Array.from(top), `trial ${trial}: ${Array.from(v).join(',')}`).toEqual(want);
      }
    }
    expect(largestIndices(Float32Array.of(1, NaN, 2), new Int32Array(2))).toBe(false);
  });

  it('keeps minima positions in bytes where every position fits one, in full otherwise', () => {
    const rnd = mulberry32(5);
    for (const S of [30, 256, 257, 400]) {
      const n = 1000;
      const minVal = Float32Array.from({ length: n + 7 }, () => rnd() - 0.5);
      const minPos = Int32Array.from({ length: n + 7 }, () => Math.floor(rnd() * S));
      minPos[3] = S - 1;
      const k = keepRecoveryMinima(minVal, minPos, n, S);
      expect(k.minPos).toBeInstanceOf(S <= 256 ? Uint8Array : Int32Array);
      expect(Array.from(k.minPos)).toEqual(Array.from(minPos.subarray(0, n)));
      expect(Array.from(k.minVal)).toEqual(Array.from(minVal.subarray(0, n)));
      // A copy: the sort's subtraction changes the window's minima afterwards.
      minVal[0] = 99;
      minPos[0] = 1;
      expect(k.minVal[0]).not.toBe(99);
    }
  });

  it('gives the same result from the minima pass 2 kept as from filtering each segment again', async () => {
    const { rec } = await open('kept', 3);
    // 1-s segments: some segment misses one of the three units, and the recovery fills it.
    const base = { verbose: false, backend: 'cpu' as const, minSegmentLength: 1 };
    const kept = await performSpikeSortingDetailed(rec, base);
    expect(kept.stats.recoveryMinima).toBe('kept');
    // Room for a window (the longest 3-s segment: 12.3 MB) but not for every segment's minima
    // within 1/8 of the budget (10 s x 32 channels x 5 bytes = 1.6 MB).
    const again = await performSpikeSortingDetailed(rec, { ...base, memoryLimit: 12.6e6 });
    expect(again.stats.recoveryMinima).toBe('refiltered');
    expect(again.sorted.clusterIds()).toEqual(kept.sorted.clusterIds());
    for (const id of kept.sorted.clusterIds()) expect(Array.from(again.sorted.spikes(id))).toEqual(Array.from(kept.sorted.spikes(id)));
    expect(again.sorted.segments.map((g) => g.spikes.length)).toEqual(kept.sorted.segments.map((g) => g.spikes.length));
    // With the tracking's helper threads (started at once through eagerWorkers) free to take
    // segments' searches: the same result (how many they take depends on timing; the helpers'
    // own results are compared in shift-helpers.test.ts).
    const helped = await performSpikeSortingDetailed(rec, { ...base, workers: 2 }, { eagerWorkers: true });
    expect(helped.sorted.clusterIds()).toEqual(kept.sorted.clusterIds());
    for (const id of kept.sorted.clusterIds()) expect(Array.from(helped.sorted.spikes(id))).toEqual(Array.from(kept.sorted.spikes(id)));
    expect(helped.sorted.segments.map((g) => g.amplitudes.map((a) => Array.from(a)))).toEqual(kept.sorted.segments.map((g) => g.amplitudes.map((a) => Array.from(a))));
    // ... and the recovery did something here: without it the result differs.
    const none = await performSpikeSortingDetailed(rec, { ...base, recoverSpikes: false });
    const units = (r: typeof kept) => r.sorted.segments.reduce((n, g) => n + g.spikes.length, 0);
    expect(units(kept)).toBeGreaterThan(units(none));
  }, 120_000);

  it("completes a track's unit with its missed spikes, not with smaller ones or sub-threshold ones", async () => {
    // One 5-s segment of hand-made per-ms minima (thresholds -1 everywhere): noise around a
    // floor of -0.25, and two units, A (channels 10-12, 2 x threshold) and B (channels 20-22,
    // 1.2 x), each clustered at 20 blocks. Exact, noiseless spikes at further blocks:
    //  - 10 of each unit at full size: completion adds them;
    //  - 10 of A at 0.6 x its size (1.45 x threshold): above half its template's level, the gap
    //    rule would take them, but they score far more than 6 noise sds below A's own level;
    //  - 10 of B at 0.6 x its size: they pass every score test, but their best channel (-0.97)
    //    does not cross the detection threshold.
    const { rec } = await open('handmade', 0);
    const C = rec.numChannels, S = rec.samplesPerMs, M = 5000;
    const rand = mulberry32(7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const minVal = new Float32Array(M * C);
    for (let i = 0; i < minVal.length; i++) minVal[i] = -0.25 + 0.12 * gauss();
    const minPos = new Int32Array(M * C);
    const shapes = { A: new Map([[10, 1.2], [11, 2.0], [12, 1.2]]), B: new Map([[20, 0.8], [21, 1.2], [22, 0.8]]) };
    const place = (shape: Map<number, number>, m: number, scale: number): void => {
      for (let c = 0; c < C; c++) minVal[m * C + c] = -0.25 - scale * (shape.get(c) ?? 0);
    };
    const base = rec.recordingOffset + 1 * S;
    const blocks = (first: number): number[] => Array.from({ length: 10 }, (_, i) => first + 200 * i);
    const clustered = { A: [...blocks(100), ...blocks(150)], B: [...blocks(120), ...blocks(170)] };
    const missed = { A: blocks(2100), B: blocks(2120) };
    const smaller = { A: blocks(2150), B: blocks(2170) };
    for (const k of ['A', 'B'] as const) {
      for (const m of [...clustered[k], ...missed[k]]) place(shapes[k], m, 1);
      for (const m of smaller[k]) place(shapes[k], m, 0.6);
    }
    const unit = (k: 'A' | 'B') => {
      const ms = clustered[k].slice().sort((x, y) => x - y);
      const amp = new Float32Array(C);
      for (const m of ms) for (let c = 0; c < C; c++) amp[c] -= minVal[m * C + c] / ms.length;
      return { train: Float64Array.from(ms, (m) => base + m * S), amp };
    };
    const a = unit('A'), b = unit('B');
    const sorted = new SortedRecording({
      segments: [{ start: base, end: base + M * S, spikes: [a.train, b.train], amplitudes: [a.amp, b.amp] }],
      links: [], tracks: [Int32Array.of(0, 1)],
      probeGeometry: rec.probeGeometry, samplingFrequency: rec.samplingFrequency, numChannels: C,
    });
    const thresholds = new Float32Array(C).fill(-1);
    const engine = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    try {
      const { sorted: back, stats } = await recoverSpikes(sorted, [{ startMs: 1, numMs: M }], rec, engine, cpuSortKernels(), thresholds, -1, [{ minVal, minPos }]);
      expect(stats.newUnits).toBe(0);
      expect(stats.addedToUnits).toBe(20);
      expect(back.segments[0].spikes.length).toBe(2);
      for (const [u, k] of [[0, 'A'], [1, 'B']] as const) {
        const want = Float64Array.from([...clustered[k], ...missed[k]].sort((x, y) => x - y), (m) => base + m * S);
        expect(Array.from(back.segments[0].spikes[u])).toEqual(Array.from(want));
      }
      // The amplitude vector is the mean over the union (the missed spikes are full-size: unchanged).
      expect(back.segments[0].amplitudes[0][11]).toBeCloseTo(a.amp[11], 5);
    } finally {
      engine.dispose();
    }
  }, 60_000);
});
