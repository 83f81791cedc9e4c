/**
 * Pooled residual pass (mode 'improved', poolResiduals): a large unit too rare to be clustered
 * in short segments (fewer than minSpikesPerCluster spikes in most of them) becomes a track
 * from its peaks pooled over adjacent segments, and on noise alone nothing is added. Real
 * sorts of generated recordings with known spikes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { compareToGroundTruth, generateRecording, loadGroundTruth } from '../../src/groundtruth/index.js';
import { performSpikeSortingDetailed } from '../../src/pipeline/perform.js';
import { poolResiduals, poolWindows, POOL_WINDOW_MS } from '../../src/pipeline/pool.js';
import type { SignalProcessor } from '../../src/engines/engine.js';
import type { SegmentResult } from '../../src/result/sorted-recording.js';
import { relativeDistance, aboveFloor } from '../../src/stages/track/tracks.js';
import { POOL_MAX_DISTANCE } from '../../src/stages/track/residual.js';
import { footprint, linearGeometry } from '../result/helpers.js';

let root: string;
beforeAll(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-pool-')); });
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function open(name: string, opts: { numUnits: number; sparseUnits: number; backgroundUnits?: number }): Promise<{ rec: Recording; gtFile: string }> {
  const g = await generateRecording({
    out: path.join(root, name), preset: 'linear32', duration: 30, seed: 7, backgroundUnits: 0, ...opts,
    snrRange: [12, 16], firingRateRange: [8, 12], sparseSnrRange: [14, 18], sparseRateRange: [0.8, 1],
    burstFraction: 0, closePairFraction: 0,
  });
  return { rec: new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency }), gtFile: g.groundTruthFile };
}

describe('poolResiduals', () => {
  it('windows hold consecutive segments spanning at least POOL_WINDOW_MS, a shorter rest joining the last', () => {
    const span = (numMs: number) => ({ startMs: 0, numMs });
    const w = poolWindows([span(POOL_WINDOW_MS / 2), span(POOL_WINDOW_MS / 2), span(POOL_WINDOW_MS), span(10)]);
    expect(w).toEqual([[0, 1], [2, 3]]);
    expect(poolWindows([span(10), span(10)])).toEqual([[0, 1]]);
  });

  it('turns a rare large unit that short segments never cluster into a track, without adding false positives', async () => {
    const { rec, gtFile } = await open('sparse', { numUnits: 3, sparseUnits: 1 });
    const gt = loadGroundTruth(gtFile);
    // The sparse unit: the one with the fewest spikes (~0.9 Hz: 2-3 per 2.5-s segment, under minSpikesPerCluster 5).
    const sparse = gt.units.reduce((a, b) => (b.spikes.length < a.spikes.length ? b : a));
    expect(sparse.spikes.length).toBeLessThan(40);
    const sort = (poolResiduals: boolean) => performSpikeSortingDetailed(rec, {
      verbose: false, backend: 'cpu', minSegmentLength: 2.5, recoverSpikes: false, poolResiduals,
    });
    const off = await sort(false);
    const on = await sort(true);
    expect(on.sorted.numSegments).toBeGreaterThanOrEqual(8);
    const accuracy = (r: typeof on) => compareToGroundTruth(gt, r.sorted).units.find((u) => u.gtId === sparse.id)!.accuracy;
    expect(accuracy(off)).toBeLessThan(0.3);
    expect(accuracy(on)).toBeGreaterThan(0.6);
    // The other units keep their accuracy, and no id matches nothing.
    const reportOn = compareToGroundTruth(gt, on.sorted);
    const reportOff = compareToGroundTruth(gt, off.sorted);
    for (const u of reportOff.units) if (u.gtId !== sparse.id) expect(reportOn.units.find((v) => v.gtId === u.gtId)!.accuracy).toBeGreaterThanOrEqual(u.accuracy - 0.02);
    expect(reportOn.totals.numFalsePositive).toBeLessThanOrEqual(reportOff.totals.numFalsePositive);
  });

  it('adds no unit on noise and units below the detection threshold', async () => {
    // Background units: small units far from the probe, not in the ground truth.
    const { rec } = await open('noise', { numUnits: 0, sparseUnits: 0, backgroundUnits: 12 });
    const units = async (poolResiduals: boolean) => (await performSpikeSortingDetailed(rec, {
      verbose: false, backend: 'cpu', minSegmentLength: 2.5, recoverSpikes: false, poolResiduals,
    })).sorted.segments.map((g) => g.spikes.length);
    const off = await units(false);
    expect(off.length).toBeGreaterThanOrEqual(8);
    expect(await units(true)).toEqual(off);
  });

  it("leaves a cluster's peaks to a segment's unit of the same shape, even when that unit is much smaller", async () => {
    // Three 15-s segments (one pooling window) of per-ms minima: noise at -1, threshold -10 on
    // every channel, and 4 residual peaks per segment of a unit at 300 µm, 3 x threshold. In
    // segment 1 the segment's clustering found that unit, but its vector is 1.8 x threshold
    // (further from the pooled mean than POOL_MAX_DISTANCE): the peaks there are its missed
    // spikes, not a unit of their own. A unit of another shape (peak 60 µm away) does not
    // explain them.
    const geometry = linearGeometry(32);
    const geo = Float32Array.from(geometry.flat());
    const C = 32, S = 30, M = 15_000;
    const recording = { numChannels: C, samplesPerMs: S, recordingOffset: 0, geometry: geo } as unknown as Recording;
    const engine = {} as SignalProcessor; // every segment's minima are given: nothing is filtered
    const thresholds = new Float32Array(C).fill(-10);
    const spans = [0, 1, 2].map((s) => ({ startMs: 1 + s * M, numMs: M }));
    const big = footprint(geometry, 300, 30);
    const kept = spans.map(() => {
      const minVal = new Float32Array(M * C).fill(-1);
      const minPos = new Int32Array(M * C).fill(10);
      for (const m of [1000, 5000, 9000, 13000]) for (let c = 0; c < C; c++) minVal[m * C + c] = -1 - big[c];
      return { minVal, minPos };
    });
    const sameShape = Float32Array.from(footprint(geometry, 300, 18), (v) => v + 1);
    const otherShape = Float32Array.from(footprint(geometry, 360, 18), (v) => v + 1);
    expect(relativeDistance(aboveFloor(sameShape), aboveFloor(Float32Array.from(big, (v) => v + 1)))).toBeGreaterThan(POOL_MAX_DISTANCE);
    const segments = (unit: Float32Array): SegmentResult[] => spans.map((p, s) => {
      const base = p.startMs * S;
      return s === 1
        ? { start: base, end: base + M * S, spikes: [Float64Array.from([200, 3000, 7000, 11000, 14000], (m) => base + m * S)], amplitudes: [unit] }
        : { start: base, end: base + M * S, spikes: [], amplitudes: [] };
    });
    const added = async (unit: Float32Array) => (await poolResiduals(segments(unit), spans, recording, engine, thresholds, -1, 5, kept)).segments.map((g) => g.amplitudes.length);
    expect(await added(sameShape)).toEqual([1, 1, 1]);
    expect(await added(otherShape)).toEqual([1, 2, 1]);
  });
});
