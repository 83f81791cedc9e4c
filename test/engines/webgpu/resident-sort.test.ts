/**
 * The device-resident WebGPU engine end to end against the CPU engine, on generated
 * recordings of 4, 32, 64 and 384 channels and the three kinds of detectionPolarity (−1, +1,
 * and −1/a, the generator's exact inverse scale): they must agree on >= 99 % of spikes and on
 * the unit count of >= 95 % of segments, and the result's provenance must list every step of
 * the loop as run on the device. The engines differ only in float rounding (the GPU filter's
 * f32 order, f32 sums in place of float64 ones), so a rare near-tie may resolve differently.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GenerateOptions } from '../../../src/groundtruth/index.js';
import { Recording } from '../../../src/formats/recording.js';
import { performSpikeSortingDetailed } from '../../../src/pipeline/perform.js';
import { releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { DEVICE_STAGES } from '../../../src/result/info.js';
import { sharedSpikes } from '../../../src/engines/calibrate.js';
import type { SortedRecording } from '../../../src/result/sorted-recording.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('resident-sort');

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-resident-'));
});
afterAll(async () => {
  await releaseGpuContext();
  fs.rmSync(root, { recursive: true, force: true });
});

function spikeTimes(s: SortedRecording): Float64Array {
  const parts: number[] = [];
  for (const seg of s.segments) for (const u of seg.spikes) for (const t of u) parts.push(t);
  return Float64Array.from(parts).sort();
}


interface Case {
  name: string;
  gen: Omit<GenerateOptions, 'out'>;
  polarity: '-1' | '+1' | '-1/a';
  minSegmentLength: number;
  /** Spikes the CPU must find (so that agreement is not vacuous). */
  minSpikes: number;
}

const CASES: Case[] = [
  { name: '4 ch, -1/a', gen: { geometry: [[0, 0], [0, 20], [0, 40], [0, 60]], duration: 8, seed: 21, numUnits: 3, snrRange: [8, 20] }, polarity: '-1/a', minSegmentLength: 2, minSpikes: 30 },
  { name: '32 ch, -1', gen: { preset: 'linear32', duration: 6, seed: 22, snrRange: [8, 20] }, polarity: '-1', minSegmentLength: 2, minSpikes: 100 },
  { name: '32 ch, +1', gen: { preset: 'linear32', duration: 6, seed: 22, snrRange: [8, 20] }, polarity: '+1', minSegmentLength: 2, minSpikes: 0 },
  { name: '64 ch, -1/a', gen: { preset: 'poly64', duration: 4, seed: 23, snrRange: [8, 20] }, polarity: '-1/a', minSegmentLength: 1, minSpikes: 100 },
  { name: '384 ch, -1/a', gen: { preset: 'np384', duration: 2.5, seed: 24, snrRange: [8, 20] }, polarity: '-1/a', minSegmentLength: 1, minSpikes: 200 },
];

describe.skipIf(!gpu.ok)('webgpu (device-resident) vs cpu', () => {
  for (const c of CASES) {
    it(`${c.name}: >= 99 % of spikes and the unit count of >= 95 % of segments agree`, async () => {
      const g = await generateRecording({ out: path.join(root, c.name.replace(/\W+/g, '-')), ...c.gen });
      const rec = new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency });
      const detectionPolarity = c.polarity === '-1/a' ? g.detectionPolarity : c.polarity === '-1' ? -1 : 1;
      const opts = { verbose: false, minSegmentLength: c.minSegmentLength, detectionPolarity };
      const a = await performSpikeSortingDetailed(rec, { ...opts, backend: 'cpu' });
      const b = await performSpikeSortingDetailed(rec, { ...opts, backend: 'webgpu' });
      expect(b.stats.pass2).toBe('device');
      const ta = spikeTimes(a.sorted);
      const tb = spikeTimes(b.sorted);
      expect(ta.length).toBeGreaterThanOrEqual(c.minSpikes);
      expect(sharedSpikes(ta, tb), `${c.name}: cpu spikes found by webgpu`).toBeGreaterThanOrEqual(0.99);
      expect(sharedSpikes(tb, ta), `${c.name}: webgpu spikes found by cpu`).toBeGreaterThanOrEqual(0.99);
      expect(b.sorted.numSegments).toBe(a.sorted.numSegments);
      let same = 0;
      for (let s = 0; s < a.sorted.numSegments; s++) if (a.sorted.segments[s].spikes.length === b.sorted.segments[s].spikes.length) same++;
      console.log(`[resident-sort] ${c.name}: cpu ${ta.length} spikes, webgpu ${tb.length}; shared ${(100 * sharedSpikes(ta, tb)).toFixed(2)} % / ${(100 * sharedSpikes(tb, ta)).toFixed(2)} %; ` +
        `unit counts equal in ${same} of ${a.sorted.numSegments} segments`);
      expect(same / a.sorted.numSegments, `${c.name}: segments with the same unit count`).toBeGreaterThanOrEqual(0.95);
      // Provenance: what ran where.
      expect(a.sorted.info?.engine).toBe('cpu');
      expect(a.sorted.info?.stagesOnDevice).toEqual([]);
      expect(a.sorted.info?.parameters.detectionPolarity).toBe(detectionPolarity);
      expect(b.sorted.info?.engine).toBe('webgpu');
      expect(b.sorted.info?.adapter).toBe(gpu.name.length > 0 ? b.sorted.info?.adapter : null);
      // Every step of the loop ran on the GPU (the recovery's template scores run there only
      // when the recovery pass has segments to fill: device-kernels.test.ts checks them).
      const loopStages = (list: readonly string[] | undefined) => (list ?? []).filter((s) => s !== 'recovery');
      if (ta.length > 0) expect(loopStages(b.sorted.info?.stagesOnDevice)).toEqual(loopStages(DEVICE_STAGES));
    }, 300_000);
  }

  it('clustering on worker threads gives the same bits as on the calling thread', async () => {
    const g = await generateRecording({ out: path.join(root, 'cluster-threads'), preset: 'poly64', duration: 4, seed: 25, snrRange: [8, 20] });
    const rec = new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency });
    const opts = { verbose: false, minSegmentLength: 1, detectionPolarity: g.detectionPolarity, backend: 'webgpu' as const };
    const one = await performSpikeSortingDetailed(rec, { ...opts, workers: 1 });
    const two = await performSpikeSortingDetailed(rec, { ...opts, workers: 2 });
    expect(one.stats.runnerDescription).toMatch(/host clustering on the calling thread/);
    expect(two.stats.runnerDescription).toMatch(/host clustering on 2 worker threads/);
    expect(two.sorted.numSegments).toBe(one.sorted.numSegments);
    let spikes = 0;
    one.sorted.segments.forEach((seg, s) => {
      const other = two.sorted.segments[s];
      expect(other.spikes.length).toBe(seg.spikes.length);
      seg.spikes.forEach((t, u) => {
        expect(Array.from(other.spikes[u])).toEqual(Array.from(t));
        expect(Array.from(other.amplitudes[u])).toEqual(Array.from(seg.amplitudes[u]));
        spikes += t.length;
      });
    });
    expect(spikes).toBeGreaterThan(50);
  }, 300_000);
});
