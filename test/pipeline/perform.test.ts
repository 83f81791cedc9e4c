/**
 * performSpikeSorting end to end on generated recordings with known spikes.
 * Recordings are small (a few seconds to 20 s) because the test machine has 2 shared cores.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { windowBytes } from '../../src/core/window.js';
import type { SignalProcessor } from '../../src/engines/engine.js';
import { compareToGroundTruth, generateRecording, loadGroundTruth, type GeneratedRecording, type GenerateOptions } from '../../src/groundtruth/index.js';
import { performSpikeSorting, performSpikeSortingDetailed } from '../../src/pipeline/perform.js';
import { probeAdapter } from '../../src/engines/webgpu/context.js';
import { sharedSpikes } from '../../src/engines/calibrate.js';
import type { SortedRecording } from '../../src/result/sorted-recording.js';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-sort-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function generate(name: string, opts: Omit<GenerateOptions, 'out'>): Promise<GeneratedRecording> {
  return generateRecording({ out: path.join(root, name), ...opts });
}

function open(g: GeneratedRecording, extra: { binaryFile?: string; dataType?: string; recordingOffset?: number } = {}): Recording {
  return new Recording({
    binaryFile: extra.binaryFile ?? g.binaryFile,
    dataType: extra.dataType ?? g.dataType,
    probeGeometry: g.probeGeometry,
    samplingFrequency: g.samplingFrequency,
    recordingOffset: extra.recordingOffset,
  });
}

function allSpikeTimes(s: SortedRecording): Float64Array {
  const parts: number[] = [];
  for (const seg of s.segments) for (const u of seg.spikes) for (const t of u) parts.push(t);
  return Float64Array.from(parts).sort();
}

const EASY: Omit<GenerateOptions, 'out'> = {
  preset: 'linear32', duration: 20, seed: 5, snrRange: [8, 20], closePairFraction: 0,
};

describe('performSpikeSorting on generated recordings', () => {
  it('sorts an easy 32-channel static recording at mean accuracy >= 0.85 with defaults', async () => {
    const g = await generate('easy', EASY);
    const sorted = await performSpikeSorting(open(g), { verbose: false });
    const report = compareToGroundTruth(loadGroundTruth(g.groundTruthFile), sorted);
    expect(report.totals.meanAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(report.totals.numFalsePositive).toBe(0);
    // ids are ascending, spike trains ascending and inside the recording
    const ids = sorted.clusterIds();
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const id of ids) {
      const sp = sorted.spikes(id);
      for (let i = 1; i < sp.length; i++) expect(sp[i]).toBeGreaterThan(sp[i - 1]);
      expect(sp[0]).toBeGreaterThanOrEqual(0);
      expect(sp[sp.length - 1]).toBeLessThan(g.numSamples);
    }
  }, 120_000);

  it('keeps units across segments of a drifting 64-channel recording', async () => {
    const g = await generate('drift', {
      preset: 'poly64', duration: 20, seed: 2, snrRange: [10, 20], closePairFraction: 0,
      firingRateRange: [5, 15], drift: { rate: 1 },
    });
    const gt = loadGroundTruth(g.groundTruthFile);
    const sorted = await performSpikeSorting(open(g), { verbose: false, minSegmentLength: 3, detectionPolarity: g.detectionPolarity, mode: 'reference' });
    expect(sorted.numSegments).toBeGreaterThanOrEqual(3);
    const report = compareToGroundTruth(gt, sorted);
    // a unit only scores >= 0.8 over the whole recording when its id survives every segment link
    expect(report.totals.numWellDetected).toBeGreaterThanOrEqual(Math.ceil(0.6 * gt.units.length));
    for (const id of sorted.clusterIds()) {
      expect(sorted.amplitudeVectors(id).length).toBe(sorted.numSegments);
    }
    // Tracks (the default) keep at least as many units well detected.
    const tracked = await performSpikeSorting(open(g), { verbose: false, minSegmentLength: 3, detectionPolarity: g.detectionPolarity });
    expect(tracked.tracked).toBe(true);
    expect(compareToGroundTruth(gt, tracked).totals.numWellDetected).toBeGreaterThanOrEqual(report.totals.numWellDetected);
  }, 120_000);

  it('merges burst fragments by default (beyond the reference; mergeBursts: false turns it off)', async () => {
    const g = await generate('bursty', {
      preset: 'linear32', duration: 20, seed: 7, snrRange: [8, 20], closePairFraction: 0, burstFraction: 1,
    });
    const gt = loadGroundTruth(g.groundTruthFile);
    // Recovery off in both: it completes units by their templates, and merged units have other
    // templates, so the spike sets below would differ by what recovery adds, not by the merge.
    const merged = await performSpikeSorting(open(g), { verbose: false, detectionPolarity: g.detectionPolarity, recoverSpikes: false });
    const reference = await performSpikeSorting(open(g), { verbose: false, detectionPolarity: g.detectionPolarity, mergeBursts: false, recoverSpikes: false });
    const a = compareToGroundTruth(gt, merged).totals;
    const b = compareToGroundTruth(gt, reference).totals;
    // Measured: 0.880 (8 units) with the merge, 0.823 (10 units) without (recovery on or off).
    expect(merged.length).toBeLessThan(reference.length);
    expect(a.meanAccuracy).toBeGreaterThan(b.meanAccuracy + 0.03);
    expect(a.numWellDetected).toBeGreaterThan(b.numWellDetected);
    // The merge only joins units: every spike of the reference result is still reported.
    expect(allSpikeTimes(merged)).toEqual(allSpikeTimes(reference));
  }, 120_000);

  it('gives the same spike trains for negated data with polarity +1 as for the original with -1', async () => {
    const g = await generate('polarity', { ...EASY, duration: 8, seed: 2 });
    const raw = fs.readFileSync(g.binaryFile);
    const x = new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
    const neg = new Int16Array(x.length);
    for (let i = 0; i < x.length; i++) neg[i] = -Math.max(-32767, x[i]);
    const negFile = path.join(root, 'polarity', 'negated.bin');
    fs.writeFileSync(negFile, neg);
    const a = await performSpikeSorting(open(g), { verbose: false, detectionPolarity: -1 });
    const b = await performSpikeSorting(open(g, { binaryFile: negFile }), { verbose: false, detectionPolarity: 1 });
    expect(a.length).toBeGreaterThan(0);
    expect(b.clusterIds()).toEqual(a.clusterIds());
    for (const id of a.clusterIds()) expect(Array.from(b.spikes(id))).toEqual(Array.from(a.spikes(id)));
  }, 120_000);

  it('scores float32 data saved as a*x+b (polarity -1/a) within 0.03 of the int16 original', async () => {
    const base = { ...EASY, duration: 10, seed: 2 };
    const gi = await generate('int16', base);
    const gf = await generate('float32', { ...base, dataType: 'float32', scale: 3.5, offset: 250 });
    const si = await performSpikeSorting(open(gi), { verbose: false, detectionPolarity: gi.detectionPolarity });
    const sf = await performSpikeSorting(open(gf), { verbose: false, detectionPolarity: -1 / 3.5 });
    const ai = compareToGroundTruth(loadGroundTruth(gi.groundTruthFile), si).totals.meanAccuracy;
    const af = compareToGroundTruth(loadGroundTruth(gf.groundTruthFile), sf).totals.meanAccuracy;
    expect(ai).toBeGreaterThan(0.5);
    expect(Math.abs(af - ai)).toBeLessThanOrEqual(0.03);
  }, 120_000);

  it('finds no units in pure noise at default settings', async () => {
    const g = await generate('noise', { preset: 'linear32', duration: 10, seed: 4, numUnits: 0, backgroundUnits: 0 });
    const sorted = await performSpikeSorting(open(g), { verbose: false });
    expect(sorted.length).toBe(0);
    for (const seg of sorted.segments) expect(seg.spikes.length).toBe(0);
  }, 120_000);

  it('tiles [startTime, endTime) exactly with segment boundaries, recordingOffset included', async () => {
    const g = await generate('tiles', { ...EASY, duration: 6, seed: 3 });
    const offset = -12345;
    const rec = open(g, { recordingOffset: offset });
    const progress: number[] = [];
    const sorted = await performSpikeSorting(rec, {
      verbose: false, minSegmentLength: 1, onProgress: (p) => progress.push(p.doneMs / p.totalMs),
    });
    const b = sorted.segmentBoundaries();
    expect(b.length).toBeGreaterThanOrEqual(2);
    expect(b[0][0]).toBe(offset);
    expect(sorted.startTime()).toBe(offset);
    expect(b[b.length - 1][1]).toBe(offset + g.numSamples);
    expect(sorted.endTime()).toBe(offset + g.numSamples);
    const S = rec.samplesPerMs;
    for (let i = 0; i + 1 < b.length; i++) {
      expect(b[i][1]).toBe(b[i + 1][0]);
      expect((b[i][1] - offset) % S).toBe(0); // inner boundaries fall on ms blocks
      // segments are at least L = 1000 ms long
      if (i > 0) expect(b[i][1] - b[i][0]).toBeGreaterThanOrEqual(1000 * S);
    }
    sorted.segments.forEach((seg, i) => {
      for (const u of seg.spikes) for (const t of u) {
        expect(t).toBeGreaterThanOrEqual(b[i][0]);
        expect(t).toBeLessThan(b[i][1]);
      }
    });
    expect(progress[progress.length - 1]).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]);
  }, 120_000);

  it('prints nothing when verbose is false and a summary when true', async () => {
    const g = await generate('quiet', { ...EASY, duration: 2, seed: 6 });
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    (process.stderr as unknown as { write: unknown }).write = (chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    };
    try {
      await performSpikeSorting(open(g), { verbose: false });
      expect(writes.join('')).toBe('');
      await performSpikeSorting(open(g), { verbose: true, backend: 'cpu' });
    } finally {
      (process.stderr as unknown as { write: unknown }).write = orig;
    }
    const text = writes.join('');
    expect(text).toMatch(/sorted 2\.0 s x 32 channels in .* s \(.*x real time\) on cpu.*: 1 segment, \d+ units?/);
  }, 120_000);

  it('sorts a 4-channel probe (4-channel difference vectors) and a 20 kHz recording', async () => {
    const g4 = await generate('four', {
      geometry: [[0, 0], [20, 0], [0, 20], [20, 20]], duration: 10, seed: 3, numUnits: 2, snrRange: [10, 20], closePairFraction: 0,
    });
    const s4 = await performSpikeSorting(open(g4), { verbose: false, backend: 'cpu' });
    expect(compareToGroundTruth(loadGroundTruth(g4.groundTruthFile), s4).totals.meanAccuracy).toBeGreaterThanOrEqual(0.9);
    const g20 = await generate('twenty', { ...EASY, samplingFrequency: 20000, duration: 10, seed: 3 });
    const s20 = await performSpikeSorting(open(g20), { verbose: false, backend: 'cpu' });
    expect(compareToGroundTruth(loadGroundTruth(g20.groundTruthFile), s20).totals.numWellDetected).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('sorts the shortest sortable recording (10 ms blocks) without error', async () => {
    const dir = path.join(root, 'tiny');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'tiny.bin');
    fs.writeFileSync(file, new Int16Array(300 * 4).map((_, i) => ((i * 7919) % 200) - 100));
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: [[0, 0], [20, 0], [0, 20], [20, 20]], samplingFrequency: 30000 });
    const sorted = await performSpikeSorting(rec, { verbose: false, backend: 'cpu' });
    expect(sorted.segmentBoundaries()).toEqual([[0, 300]]);
    expect(sorted.length).toBe(0);
  }, 60_000);

  it('names the parameter in errors before touching the file', async () => {
    const g = await generate('errors', { ...EASY, duration: 1, seed: 7 });
    await expect(performSpikeSorting(open(g), { verbose: false, mergingThreshold: 1 })).rejects.toThrow(/mergingThreshold/);
    await expect(performSpikeSorting(open(g), { verbose: false, backend: 'cuda' as never })).rejects.toThrow(/backend/);
  }, 60_000);
});

describe('backends', () => {
  it("'webgpu' and 'cpu' agree on >= 99% of spikes", async (ctx) => {
    const probe = await probeAdapter();
    if (!probe.adapter) {
      ctx.skip(`no WebGPU adapter here (${probe.reason})`);
      return;
    }
    const g = await generate('backends', { ...EASY, duration: 4, seed: 8 });
    const c = await performSpikeSorting(open(g), { verbose: false, backend: 'cpu', minSegmentLength: 2 });
    const a = allSpikeTimes(c);
    expect(a.length).toBeGreaterThan(50);
    const w = await performSpikeSortingDetailed(open(g), { verbose: false, backend: 'webgpu', minSegmentLength: 2 });
    expect(w.stats.backend).toBe('webgpu');
    const b = allSpikeTimes(w.sorted);
    expect(sharedSpikes(a, b)).toBeGreaterThanOrEqual(0.99);
    expect(sharedSpikes(b, a)).toBeGreaterThanOrEqual(0.99);
  }, 300_000);
});

describe('failures', () => {
  type Processor = SignalProcessor;
  /** The CPU engine with its filter requests passed through `filter` first (which may throw). */
  async function withFilter(description: string, filter: (...args: Parameters<Processor['filterBlocks']>) => void): Promise<{ real: Processor; failing: Processor }> {
    const { createSignalProcessor } = await import('../../src/engines/select.js');
    const real = await createSignalProcessor('cpu');
    const failing = {
      backend: real.backend,
      description,
      adapter: null,
      stagesOnDevice: real.stagesOnDevice,
      async filterBlocks(...args: Parameters<Processor['filterBlocks']>) {
        filter(...args);
        return real.filterBlocks(...args);
      },
      sortKernels: () => real.sortKernels(),
      dispose() { real.dispose(); },
    };
    return { real, failing };
  }

  it('rejects (does not crash) when the filter fails in the background', async () => {
    const g = await generate('fail', { ...EASY, duration: 6, seed: 10 });
    let calls = 0;
    const { real, failing } = await withFilter('cpu (failing after the first request)', () => {
      if (calls++ > 0) throw new Error('disk went away');
    });
    try {
      await expect(performSpikeSortingDetailed(open(g), { verbose: false, minSegmentLength: 1 }, { processor: failing }))
        .rejects.toThrow(/disk went away/);
    } finally {
      real.dispose();
    }
  }, 60_000);

  it('rejects when a later segment\'s pass-2 filter fails while pass 1 runs ahead, and starts no new pass-1 chunk after it', async () => {
    const g = await generate('fail-sort', { ...EASY, duration: 30, seed: 11 });
    const rec = open(g);
    let afterFailure = 0;
    let failed = false;
    // Pass 2 asks for a segment's pieces together: those asked for in the same turn as the
    // failing one are not requests started after it.
    let sameTurn = false;
    const { real, failing } = await withFilter('cpu (a later segment fails)', (_rec, firstMs, _n, _p, dest) => {
      if (failed && !sameTurn) afterFailure++;
      // Pass 2's refilter of a segment after the first (L = 1 s: the head ends at ms 1000).
      if (!failed && dest.data.length > 0 && firstMs > 1000) {
        failed = true;
        sameTurn = true;
        queueMicrotask(() => { sameTurn = false; });
        throw new Error('disk went away in pass 2');
      }
    });
    // Too little memory to keep pass 1's chunks: pass 2 filters each segment again.
    const tight = 3 * windowBytes(rec.numChannels, rec.samplesPerMs, 3000);
    try {
      await expect(performSpikeSortingDetailed(rec, { verbose: false, minSegmentLength: 1, workers: 1, memoryLimit: tight }, { processor: failing }))
        .rejects.toThrow(/disk went away in pass 2/);
      expect(failed).toBe(true);
      // Pass 1 runs ahead of the segments; after the failure it starts at most the two chunks
      // its pipeline had queued, not the rest of the recording.
      expect(afterFailure).toBeLessThanOrEqual(2);
    } finally {
      real.dispose();
    }
  }, 60_000);
});
