import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convolve, detectorKernel } from '../../src/groundtruth/detectability.js';
import { generateRecording, DEFAULT_THRESHOLD_SD } from '../../src/groundtruth/generate.js';
import { loadGroundTruth } from '../../src/groundtruth/types.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-gtdet-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function channel(dir: string, C: number, c: number): Float64Array {
  const buf = fs.readFileSync(path.join(dir, 'recording.bin'));
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const out = new Float64Array(x.length / C);
  for (let t = 0; t < out.length; t++) out[t] = x[t * C + c]!;
  return out;
}

describe('detector model', () => {
  it('has the spec widths, removes DC and is absent below 5 kHz', () => {
    expect(detectorKernel(30000)!.length).toBe(8 * 6 + 1);
    expect(detectorKernel(20000)!.length).toBe(8 * 4 + 1);
    expect(detectorKernel(4000)).toBeNull();
    const h = detectorKernel(30000)!;
    expect(Math.abs(h.reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
    for (let i = 0; i < h.length; i++) expect(h[i]).toBeCloseTo(h[h.length - 1 - i]!, 15);
  });

  it('predicts the filtered noise sd and each unit\'s filtered trough', async () => {
    const noise = await generateRecording({
      preset: 'linear32', duration: 2, seed: 1, numUnits: 0, backgroundUnits: 0, lfpAmplitude: 0, dataType: 'float32', out: path.join(root, 'n'),
    });
    const gtN = loadGroundTruth(noise.groundTruthFile);
    const h = detectorKernel(30000)!;
    const y = convolve(channel(noise.dir, 32, 7), h).subarray(h.length, -h.length);
    const sd = Math.sqrt(y.reduce((a, v) => a + v * v, 0) / y.length);
    expect(Math.abs(sd / gtN.detectorNoiseSd! - 1)).toBeLessThan(0.05);

    // Spikes alone (noise 0): the filtered trough at each spike is filteredSnr x detectorNoiseSd of
    // a 10 µV recording, up to the 5% amplitude jitter.
    const r = await generateRecording({
      preset: 'linear32', duration: 3, seed: 2, numUnits: 3, noiseLevel: 0, amplitudeRange: [40, 120], backgroundUnits: 0,
      lfpAmplitude: 0, burstFraction: 0, closePairFraction: 0, dataType: 'float32', out: path.join(root, 's'),
    });
    const ref = await generateRecording({
      preset: 'linear32', duration: 3, seed: 2, numUnits: 3, noiseLevel: 10, amplitudeRange: [40, 120], backgroundUnits: 0,
      lfpAmplitude: 0, burstFraction: 0, closePairFraction: 0, dataType: 'float32', out: path.join(root, 'ref'),
    });
    const gt = loadGroundTruth(r.groundTruthFile), gtRef = loadGroundTruth(ref.groundTruthFile);
    expect(gt.units.every((u) => u.filteredSnr === null)).toBe(true);
    for (const [i, u] of gt.units.entries()) {
      const expected = gtRef.units[i]!.filteredSnr! * gtRef.detectorNoiseSd!;
      const yy = convolve(channel(r.dir, 32, u.bestChannel), h);
      const half = (h.length - 1) / 2;
      const troughs = u.spikes.map((s) => { let m = 0; for (let k = -5; k <= 5; k++) m = Math.min(m, yy[s + k + half]!); return -m; }).sort((a, b) => a - b);
      const median = troughs[troughs.length >> 1]!;
      expect(Math.abs(median / expected - 1), `unit ${u.id}`).toBeLessThan(0.1);
    }
    expect(DEFAULT_THRESHOLD_SD).toBeCloseTo(6.745, 3);
  });
});
