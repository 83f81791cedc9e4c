/**
 * The two-pass, segment-parallel pipeline against the sequential one-stream path: every
 * segment boundary, spike time, amplitude vector and link must be the same bits, for any
 * number of sort workers. Recordings are generated with known spikes and kept short with
 * short segments, so each one has many segment boundaries.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { generateRecording, type GenerateOptions } from '../../src/groundtruth/index.js';
import { performSpikeSortingDetailed } from '../../src/pipeline/perform.js';
import type { SortOptions } from '../../src/core/params.js';
import type { SortedRecording } from '../../src/result/sorted-recording.js';
import { ParameterError } from '../../src/core/errors.js';
import { windowBytes } from '../../src/core/window.js';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-two-pass-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function make(name: string, opts: Omit<GenerateOptions, 'out'>, extra: { dataType?: string; binaryFile?: string } = {}): Promise<Recording> {
  const g = await generateRecording({ out: path.join(root, name), ...opts });
  return new Recording({
    binaryFile: extra.binaryFile ?? g.binaryFile, dataType: extra.dataType ?? g.dataType,
    probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency,
  });
}

/** Asserts a and b are the same result bit for bit: boundaries, spikes, amplitudes, links, ids. */
function expectIdentical(a: SortedRecording, b: SortedRecording, label: string): void {
  expect(b.numSegments, `${label}: segments`).toBe(a.numSegments);
  for (let s = 0; s < a.numSegments; s++) {
    const x = a.segments[s];
    const y = b.segments[s];
    expect([y.start, y.end], `${label}: segment ${s} bounds`).toEqual([x.start, x.end]);
    expect(y.spikes.length, `${label}: segment ${s} units`).toBe(x.spikes.length);
    for (let u = 0; u < x.spikes.length; u++) {
      expect(Buffer.from(y.spikes[u].buffer, y.spikes[u].byteOffset, y.spikes[u].byteLength)
        .equals(Buffer.from(x.spikes[u].buffer, x.spikes[u].byteOffset, x.spikes[u].byteLength)), `${label}: segment ${s} unit ${u} spikes`).toBe(true);
      expect(Buffer.from(y.amplitudes[u].buffer, y.amplitudes[u].byteOffset, y.amplitudes[u].byteLength)
        .equals(Buffer.from(x.amplitudes[u].buffer, x.amplitudes[u].byteOffset, x.amplitudes[u].byteLength)), `${label}: segment ${s} unit ${u} amplitudes`).toBe(true);
    }
  }
  expect(b.links.map((l) => Array.from(l)), `${label}: links`).toEqual(a.links.map((l) => Array.from(l)));
  expect(b.tracked, `${label}: tracked`).toBe(a.tracked);
  expect(b.tracks?.map((t) => Array.from(t)), `${label}: tracks`).toEqual(a.tracks?.map((t) => Array.from(t)));
  expect(b.clusterIds(), `${label}: ids`).toEqual(a.clusterIds());
}

async function both(rec: Recording, options: SortOptions, workerCounts: number[]): Promise<void> {
  const base = { verbose: false, backend: 'cpu' as const, ...options };
  const seq = await performSpikeSortingDetailed(rec, base, { sequential: true });
  expect(seq.sorted.numSegments).toBeGreaterThan(2);
  // Something to compare: units in most segments.
  expect(seq.sorted.segments.filter((g) => g.spikes.length > 0).length).toBeGreaterThan(seq.sorted.numSegments / 2);
  for (const workers of workerCounts) {
    // Sort worker threads start at once, so their path runs even where the calling thread
    // would keep up alone (the refiltering run below uses the default, lazy start).
    const two = await performSpikeSortingDetailed(rec, { ...base, workers }, { eagerWorkers: workers > 1 });
    // A recording this short is filtered into one arena and sorted in place.
    expect(two.stats.pass2).toBe('arena');
    expect(Array.from(two.thresholds)).toEqual(Array.from(seq.thresholds));
    // ...and the tracking's drift searches were shared with helper threads (mode 'improved').
    if (workers > 1 && base.mode !== 'reference') expect(two.stats.searchHelpers).toBe(Math.min(workers - 1, 12));
    expectIdentical(seq.sorted, two.sorted, `workers ${workers}`);
  }
  // Without the arena, pass 1's filtered chunks are kept and copied into the segment windows.
  const kept = await performSpikeSortingDetailed(rec, { ...base, workers: 2 }, { eagerWorkers: true, noArena: true });
  expect(kept.stats.pass2).toBe('kept');
  expectIdentical(seq.sorted, kept.sorted, 'kept chunks');
  // With a memory budget too small to keep pass 1's filtered chunks, pass 2 filters every
  // segment again: the same bits.
  const L = Math.round(1000 * (options.minSegmentLength ?? 10));
  const tight = 3 * windowBytes(rec.numChannels, rec.samplesPerMs, 3 * L);
  const refiltered = await performSpikeSortingDetailed(rec, { ...base, workers: 2, memoryLimit: tight });
  expect(refiltered.stats.pass2).toBe('refiltered');
  expectIdentical(seq.sorted, refiltered.sorted, 'refiltered');
  // With room for one window only, a segment is filtered into the free end of the window whose
  // segment still sorts, the slots they share once that one is done (WindowPool.placeBeside),
  // its minima for the recovery pass copied piece by piece: the same bits.
  const totalMs = Math.floor(rec.numSamples / rec.samplesPerMs) - 2;
  const oneWindow = windowBytes(rec.numChannels, rec.samplesPerMs, Math.min(2 * L, totalMs));
  const one = await performSpikeSortingDetailed(rec, { ...base, workers: 2, memoryLimit: tight }, { windowBudget: oneWindow });
  expect(one.stats.pass2).toBe('refiltered');
  // The copies for the recovery pass are taken (mode 'reference' has no recovery pass).
  expect(one.stats.recoveryMinima).not.toBe('refiltered');
  if (rec.numSamples / rec.samplesPerMs > 6 * L) {
    expect(one.stats.placedBeside).toBeGreaterThan(0);
    expect(one.stats.placedOverlapMs).toBeGreaterThan(0);
  }
  expectIdentical(seq.sorted, one.sorted, 'one window');
  // On the calling thread (how sortInParallel's worker threads run it) too.
  const local = await performSpikeSortingDetailed(rec, base, { localRunner: true });
  expectIdentical(seq.sorted, local.sorted, 'calling thread');
}

describe('two-pass pipeline', () => {
  it('gives the sequential path\'s results bit for bit at workers 1, 2 and 3 (32 channels, many segments)', async () => {
    const rec = await make('lin32', { preset: 'linear32', duration: 12, seed: 21 });
    await both(rec, { minSegmentLength: 1 }, [1, 2, 3]);
  }, 180_000);

  it('matches on a drifting 64-channel recording with uneven segments, mergeBursts off', async () => {
    const rec = await make('poly64', { preset: 'poly64', duration: 10, seed: 22, drift: { rate: 2 } });
    await both(rec, { minSegmentLength: 0.7, mergeBursts: false }, [2]);
  }, 180_000);

  it("matches in mode 'reference' (§10 chains) on a drifting recording", async () => {
    const rec = await make('poly64-ref', { preset: 'poly64', duration: 10, seed: 27, drift: { rate: 2 } });
    await both(rec, { minSegmentLength: 0.7, mode: 'reference' }, [2]);
  }, 180_000);

  it('matches for polarity +1 on negated data and on a 20 kHz 4-channel probe', async () => {
    const g = await generateRecording({ out: path.join(root, 'neg'), preset: 'linear32', duration: 6, seed: 23 });
    const raw = new Int16Array(fs.readFileSync(g.binaryFile).buffer.slice(0));
    for (let i = 0; i < raw.length; i++) raw[i] = Math.max(-32768, Math.min(32767, -raw[i]));
    const negFile = path.join(root, 'neg', 'negated.bin');
    fs.writeFileSync(negFile, raw);
    const neg = new Recording({ binaryFile: negFile, dataType: 'int16', probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency });
    await both(neg, { minSegmentLength: 0.5, detectionPolarity: 1 }, [2]);
    const small = await make('four', { geometry: [[0, 0], [0, 20], [0, 40], [0, 60]], samplingFrequency: 20000, duration: 5, seed: 24 });
    await both(small, { minSegmentLength: 0.5 }, [2]);
  }, 180_000);

  it('refuses a memoryLimit that cannot hold one segment, naming memoryLimit and minSegmentLength', async () => {
    const rec = await make('mem', { preset: 'linear32', duration: 2, seed: 25 });
    const err = await performSpikeSortingDetailed(rec, { verbose: false, backend: 'cpu', memoryLimit: 1e6, minSegmentLength: 0.5 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParameterError);
    expect((err as Error).message).toMatch(/memoryLimit 1000000 bytes cannot hold one segment/);
    expect((err as Error).message).toMatch(/minSegmentLength/);
  }, 60_000);

  it('bounds the windows in flight by memoryLimit and the worker count', async () => {
    const rec = await make('bound', { preset: 'linear32', duration: 8, seed: 26 });
    // Room for about two of the longest segments: never more than that in flight.
    const L = 500;
    const longest = 3 * L * 32 * (30 * 4 + 8);
    const out = await performSpikeSortingDetailed(rec, { verbose: false, backend: 'cpu', workers: 3, minSegmentLength: L / 1000, memoryLimit: 2 * longest });
    expect(out.stats.peakWindowBytes).toBeLessThanOrEqual(2 * longest);
    expect(out.stats.peakInFlight).toBeGreaterThanOrEqual(1);
    const one = await performSpikeSortingDetailed(rec, { verbose: false, backend: 'cpu', workers: 1, minSegmentLength: L / 1000 });
    expect(one.stats.peakInFlight).toBeLessThanOrEqual(2);
    expectIdentical(one.sorted, out.sorted, 'memory-bounded');
  }, 120_000);
});
