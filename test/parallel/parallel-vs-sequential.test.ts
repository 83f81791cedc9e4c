/**
 * The real sorter through the worker pool: 4 blocks of one generated file on 2 workers must give
 * exactly what sorting each block in this thread gives, and merging the blocks must recover the
 * units found by sorting the file whole (up to spikes at block edges).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { Recording } from '../../src/formats/recording.js';
import { mergeRecordings } from '../../src/result/merge.js';
import type { SortedRecording } from '../../src/result/sorted-recording.js';
import { sortInParallel } from '../../src/parallel/sort-in-parallel.js';
import type { SortOptions } from '../../src/core/params.js';
import { performSpikeSorting } from '../../src/pipeline/perform.js';

const backend = (process.env.SPIKESIFT_TEST_BACKEND as SortOptions['backend']) ?? 'cpu';
const options: SortOptions = { minSegmentLength: 1, backend, verbose: false };
let dir: string;
let gen: GeneratedRecording;

function blocks(count: number): Recording[] {
  const size = Math.floor(gen.numSamples / count);
  return Array.from({ length: count }, (_, i) =>
    new Recording({
      binaryFile: gen.binaryFile, dataType: gen.dataType, probeGeometry: gen.probeGeometry, samplingFrequency: gen.samplingFrequency,
      sampleOffset: i * size, recordingOffset: i * size, numSamples: i === count - 1 ? gen.numSamples - i * size : size,
    }));
}

/** Fraction of `a`'s spikes with a spike of `b` within `tol` samples (both ascending). */
function agreement(a: Float64Array, b: Float64Array, tol: number): number {
  let j = 0;
  let hit = 0;
  for (const t of a) {
    while (j < b.length && b[j] < t - tol) j++;
    if (j < b.length && Math.abs(b[j] - t) <= tol) hit++;
  }
  return a.length ? hit / a.length : 0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spikesift-parseq-'));
  gen = await generateRecording({ out: dir, preset: 'linear32', duration: 8, numUnits: 8, seed: 11 });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sortInParallel with performSpikeSorting', () => {
  let parallel: SortedRecording[];

  it('4 blocks on 2 workers equal the sequential sorts, block by block', async () => {
    const recs = blocks(4);
    parallel = await sortInParallel(recs, { ...options, workers: 2 });
    for (let i = 0; i < recs.length; i++) {
      const seq = await performSpikeSorting(recs[i], options);
      const par = parallel[i];
      expect(par.segmentBoundaries()).toEqual(seq.segmentBoundaries());
      expect(par.links.map((l) => Array.from(l))).toEqual(seq.links.map((l) => Array.from(l)));
      par.segments.forEach((seg, s) => {
        expect(seg.spikes.map((t) => Array.from(t))).toEqual(seq.segments[s].spikes.map((t) => Array.from(t)));
        expect(seg.amplitudes.map((v) => Array.from(v))).toEqual(seq.segments[s].amplitudes.map((v) => Array.from(v)));
      });
    }
  }, 300_000);

  it('merged blocks recover the units of the whole-file sort', async () => {
    const merged = mergeRecordings(parallel);
    expect(merged.startTime()).toBe(0);
    expect(merged.endTime()).toBe(gen.numSamples);
    expect(merged.numSegments).toBe(parallel.reduce((n, b) => n + b.numSegments, 0));
    const whole = await performSpikeSorting(blocks(1)[0], options);
    // Segmentations differ (block edges cut segments), so compare units per stretch of time: each
    // unit the whole-file sort finds in a segment should, within every overlapping block segment,
    // be matched by one unit of that block segment.
    const blockSegments = merged.segments;
    let total = 0;
    let recovered = 0;
    for (const w of whole.segments) {
      for (const unit of w.spikes) {
        total += unit.length;
        for (const b of blockSegments) {
          const lo = Math.max(w.start, b.start);
          const hi = Math.min(w.end, b.end);
          if (hi <= lo) continue;
          const part = unit.filter((t) => t >= lo && t < hi);
          if (part.length === 0) continue;
          const best = Math.max(0, ...b.spikes.map((v) => agreement(part, v, 2)));
          recovered += best * part.length;
        }
      }
    }
    expect(total).toBeGreaterThan(0);
    expect(recovered / total, `share of the whole-file sort's ${total} spikes recovered by the merged blocks`).toBeGreaterThanOrEqual(0.8);
  }, 300_000);
});
