/**
 * Every example workflow run on a small generated recording, checking what each one promises.
 * One recording is generated and shared; sorting uses the CPU path with 2-s segments so the
 * multi-segment behaviour shows up in a few seconds of data.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FileSpec, generatedData } from '../../examples/common.js';
import { continueWithSecondFile, twoFiles } from '../../examples/continue-file.js';
import { mapSavedResult } from '../../examples/map-saved-result.js';
import { parallelBlocks } from '../../examples/parallel-blocks.js';
import { rasterPlot } from '../../examples/raster-plot.js';
import { scaledFiles, sortScaledFile } from '../../examples/scaled-float32.js';
import { sortOneFile } from '../../examples/sort-one-file.js';
import { splitAndRemerge } from '../../examples/split-and-remerge.js';
import { trackCluster } from '../../examples/track-cluster.js';
import { transientNeurons } from '../../examples/transient-neurons.js';
import { Recording } from '../../src/formats/recording.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { performSpikeSorting } from '../../src/pipeline/perform.js';
import type { SortOptions } from '../../src/core/params.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sortOptions: SortOptions = { minSegmentLength: 2, backend: 'cpu', verbose: false };
let dir: string;
let data: FileSpec;
let single: SortedRecording;
const lines: string[] = [];
const opts = () => ({ sortOptions, outDir: dir, log: (l: string) => lines.push(l) });

function isAscending(a: Float64Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return false;
  return true;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spikesift-examples-'));
  data = await generatedData({ duration: 8, seed: 5, numUnits: 8, dir: join(dir, 'data') });
  single = (await sortOneFile(data, opts())).result;
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples', () => {
  it('sort-one-file: finds clusters over several segments and saves a loadable result', async () => {
    expect(single.length).toBeGreaterThan(0);
    expect(single.numSegments).toBeGreaterThan(1);
    expect(single.startTime()).toBe(0);
    expect(single.endTime()).toBe(data.numSamples);
    const loaded = await SortedRecording.load(join(dir, 'result.spikesift'));
    expect(loaded.allSpikes()).toEqual(single.allSpikes());
  });

  it('parallel-blocks: four blocks on two workers merge into one result tiling the file', async () => {
    const { blocks, merged } = await parallelBlocks(data, { ...opts(), blocks: 4, workers: 2 });
    expect(blocks.length).toBe(4);
    const quarter = Math.floor(data.numSamples / 4);
    blocks.forEach((b, i) => expect(b.startTime()).toBe(i * quarter));
    expect(merged.numSegments).toBe(blocks.reduce((n, b) => n + b.numSegments, 0));
    expect(merged.startTime()).toBe(0);
    expect(merged.endTime()).toBe(data.numSamples);
    for (const spikes of merged.allSpikes().values()) expect(isAscending(spikes)).toBe(true);
  }, 120_000);

  it('continue-file: the second file continues at the first result\'s endTime()', async () => {
    const [a, b] = await twoFiles(dir, data);
    const { first, second, merged } = await continueWithSecondFile(a, b, opts());
    expect(second.startTime()).toBe(first.endTime());
    expect(merged.endTime()).toBe(data.numSamples);
    expect(merged.numSegments).toBe(first.numSegments + second.numSegments);
    for (const id of merged.clusterIds()) {
      const s = merged.spikes(id);
      expect(isAscending(s)).toBe(true);
      expect(merged.amplitudeVectors(id).length).toBe(merged.numSegments);
    }
  }, 120_000);

  it('scaled-float32: a*x+b sorted with polarity -1/a finds the same spikes as the raw data', async () => {
    const a = 0.25;
    const [before, scaled] = scaledFiles(data, dir, a, 7);
    const { before: r1, scaled: r2, merged } = await sortScaledFile(before, scaled, a, opts());
    expect(r2.startTime()).toBe(r1.endTime());
    expect(merged.numSegments).toBe(r1.numSegments + r2.numSegments);
    // The same half sorted from the int16 samples directly.
    const rawHalf = new Recording({ ...data, sampleOffset: before.numSamples, numSamples: scaled.numSamples, recordingOffset: r1.endTime() });
    const raw = await performSpikeSorting(rawHalf, sortOptions);
    const spikesOf = (r: SortedRecording) => new Set(r.segments.flatMap((s) => s.spikes.flatMap((t) => Array.from(t))));
    const rawSpikes = spikesOf(raw);
    const scaledSpikes = spikesOf(r2);
    let common = 0;
    for (const t of rawSpikes) if (scaledSpikes.has(t)) common++;
    expect(rawSpikes.size).toBeGreaterThan(0);
    expect(common / rawSpikes.size).toBeGreaterThan(0.9);
    expect(Math.abs(scaledSpikes.size - rawSpikes.size) / rawSpikes.size).toBeLessThan(0.1);
  }, 120_000);

  it('split-and-remerge: segments split out and re-merged without the first', () => {
    const { parts, remerged } = splitAndRemerge(single, opts());
    expect(parts.length).toBe(single.numSegments);
    parts.forEach((p, i) => expect(p.segmentBoundaries()).toEqual([single.segmentBoundaries()[i]]));
    expect(remerged.numSegments).toBe(single.numSegments - 1);
    expect(remerged.startTime()).toBe(parts[1].startTime());
    expect(remerged.endTime()).toBe(single.endTime());
  });

  it('map-saved-result: mapClusters agrees with the sorter\'s own link between the first two segments', async () => {
    const { saved, remerged, mapping } = await mapSavedResult(join(dir, 'result.spikesift'), opts());
    expect(mapping.size).toBeGreaterThan(0);
    for (const [from, to] of mapping) {
      expect(saved.validClusterId(from)).toBe(true);
      expect(remerged.validClusterId(to)).toBe(true);
      // The sorter linked segment 0 to 1 with the same assignment and maxDrift.
      expect(to).toBe(saved.chain(from)[1]);
    }
  });

  it('track-cluster: follows the chain; per-segment spike counts add up to the train', () => {
    const id = single.clusterIds()[0];
    const track = trackCluster(single, id, opts());
    expect(track.length).toBe(single.numSegments);
    expect(track.map((t) => t.unit)).toEqual(Array.from(single.chain(id)));
    expect(track.reduce((n, t) => n + t.spikes, 0)).toBe(single.spikes(id).length);
    // The cluster's own unit wherever it has one (for a §10 chain, unit 0 of segment 0 is the id).
    const present = track.filter((t) => t.unit >= 0);
    expect(present.length).toBeGreaterThanOrEqual(2);
    expect(present[0].mappedUnit).toBe(single.tracked ? present[0].unit : id);
    expect(present[1].mappedUnit).toBe(present[1].unit);
  });

  it('transient-neurons: each reference cluster gets a presence row over the long recording\'s segments', async () => {
    const { reference, long, presence } = await transientNeurons(data, data, { ...opts(), referenceSamples: Math.floor(data.numSamples / 3) });
    expect(reference.endTime()).toBe(Math.floor(data.numSamples / 3));
    expect([...presence.keys()]).toEqual(reference.clusterIds());
    for (const row of presence.values()) expect(row.length).toBe(long.numSegments);
    // The reference stretch is the start of the long recording: its neurons are there in segment 0.
    const inFirst = [...presence.values()].filter((row) => row[0] >= 0).length;
    expect(inFirst).toBeGreaterThan(0);
  }, 120_000);

  it('raster-plot: writes an SVG with one band per segment', () => {
    const path = rasterPlot(single, opts());
    const svg = readFileSync(path, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/class="segment"/g)?.length).toBe(single.numSegments);
  });

  it('runs from the command line with the TypeScript loader (a user file, a saved result)', async () => {
    const run = (args: string[]) => promisify(execFile)(process.execPath, ['--import', './scripts/ts-loader.mjs', ...args], { cwd: root });
    const out = mkdtempSync(join(dir, 'cli-'));
    const probe = join(dir, 'data', 'probe.json');
    const sorted = await run(['examples/sort-one-file.ts', '--file', data.binaryFile, '--probe', probe, '--fs', '30000', '--dtype', 'int16', '--out', out]);
    expect(sorted.stdout).toMatch(/sorted: \d+ clusters/);
    const back = await SortedRecording.load(join(out, 'result.spikesift'));
    expect(back.endTime()).toBe(data.numSamples);
    const raster = await run(['examples/raster-plot.ts', '--saved', join(out, 'result.spikesift'), '--out', out]);
    expect(raster.stdout).toMatch(/raster plot written to/);
    expect(existsSync(join(out, 'raster.svg'))).toBe(true);
  }, 180_000);
});
