/**
 * mode 'reference' reproduces spec §1-§10: the sequential path's result without the burst
 * merge, §7.3 neighbourhoods, links by the §10 assignment of the raw amplitude vectors, ids the
 * unbroken chains, saved as format version 1. mode 'improved' (the default) tracks units and
 * scores better against ground truth on a recording with short segments, sparse large units
 * and units that start or stop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { compareToGroundTruth, generateRecording, loadGroundTruth } from '../../src/groundtruth/index.js';
import { performSpikeSortingDetailed } from '../../src/pipeline/perform.js';
import { ParameterError } from '../../src/core/errors.js';
import { assignClusters } from '../../src/stages/track/assignment.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';

let root: string;
let rec: Recording;
let gtFile: string;
beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-mode-'));
  const g = await generateRecording({
    out: path.join(root, 'rec'), preset: 'linear32', duration: 24, seed: 31, sparseUnits: 2, lifetimeFraction: 0.3,
  });
  rec = new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency });
  gtFile = g.groundTruthFile;
}, 120_000);
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const base = { verbose: false, backend: 'cpu' as const, minSegmentLength: 3 };

function same(a: SortedRecording, b: SortedRecording): void {
  expect(b.numSegments).toBe(a.numSegments);
  a.segments.forEach((x, s) => {
    const y = b.segments[s];
    expect([y.start, y.end]).toEqual([x.start, x.end]);
    expect(y.spikes.map((t) => Array.from(t))).toEqual(x.spikes.map((t) => Array.from(t)));
    expect(y.amplitudes.map((t) => Array.from(t))).toEqual(x.amplitudes.map((t) => Array.from(t)));
  });
  expect(b.links.map((l) => Array.from(l))).toEqual(a.links.map((l) => Array.from(l)));
  expect(b.clusterIds()).toEqual(a.clusterIds());
}

describe("mode 'reference'", () => {
  it('is the sequential path with mergeBursts false, linked and identified by §10', async () => {
    const ref = (await performSpikeSortingDetailed(rec, { ...base, mode: 'reference' })).sorted;
    const seq = (await performSpikeSortingDetailed(rec, { ...base, mode: 'reference', mergeBursts: false }, { sequential: true })).sorted;
    same(seq, ref);
    expect(ref.numSegments).toBeGreaterThan(4);
    expect(ref.tracked).toBe(false);
    // Links: the §10 assignment of consecutive segments' amplitude vectors at maxDrift 30.
    for (let i = 0; i + 1 < ref.numSegments; i++) {
      expect(Array.from(ref.links[i])).toEqual(Array.from(assignClusters(ref.segments[i].amplitudes, ref.segments[i + 1].amplitudes, rec.geometry, 30)));
    }
    // Ids: the first segment's units whose chain never breaks.
    const ids: number[] = [];
    for (let k = 0; k < ref.segments[0].spikes.length; k++) {
      let u = k;
      for (const l of ref.links) u = u < 0 ? -1 : l[u];
      if (u >= 0) ids.push(k);
    }
    expect(ref.clusterIds()).toEqual(ids);
    const file = path.join(root, 'ref.spks');
    await ref.save(file);
    expect(fs.readFileSync(file).readUInt32LE(8)).toBe(1);
  }, 120_000);

  it('refuses mergeBursts true, naming both options', async () => {
    const err = await performSpikeSortingDetailed(rec, { ...base, mode: 'reference', mergeBursts: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParameterError);
    expect((err as Error).message).toMatch(/mergeBursts true cannot be combined with mode 'reference'/);
    const bad = await performSpikeSortingDetailed(rec, { ...base, mode: 'fast' as never }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/mode must be 'improved' or 'reference'/);
  });
});

describe("mode 'improved'", () => {
  it('tracks units and scores higher than the reference on ground truth, without more false positives', async () => {
    const gt = loadGroundTruth(gtFile);
    const ref = (await performSpikeSortingDetailed(rec, { ...base, mode: 'reference' })).sorted;
    const imp = (await performSpikeSortingDetailed(rec, base)).sorted;
    expect(imp.tracked).toBe(true);
    const a = compareToGroundTruth(gt, ref).totals;
    const b = compareToGroundTruth(gt, imp).totals;
    expect(b.meanAccuracy).toBeGreaterThan(a.meanAccuracy + 0.05);
    expect(b.numFalsePositive).toBeLessThanOrEqual(a.numFalsePositive);
    // Every listed track has units in at least two segments.
    for (const id of imp.clusterIds()) expect(imp.segmentsOf(id).length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
