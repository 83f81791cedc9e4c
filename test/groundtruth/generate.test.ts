import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRecording, driftAt, type GenerateOptions } from '../../src/groundtruth/generate.js';
import { loadGroundTruth } from '../../src/groundtruth/types.js';
import { Rng, gaussianTable } from '../../src/groundtruth/prng.js';
import { presetLayout } from '../../src/groundtruth/probes.js';
import { ParameterError } from '../../src/formats/dtype.js';
import { loadProbe } from '../../src/formats/probe.js';
import { readNpy } from '../../src/formats/npy.js';
import { Recording } from '../../src/formats/recording.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-gt-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => path.join(root, `r${n++}`);

const FILES = ['recording.bin', 'probe.json', 'probe.npy', 'ground_truth.json', 'params.json'];

function readData(dir: string, dataType: string, C: number): { x: Float32Array | Int16Array; at: (t: number, c: number) => number } {
  const buf = fs.readFileSync(path.join(dir, 'recording.bin'));
  const x = dataType === 'int16'
    ? new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2)
    : new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return { x, at: (t, c) => x[t * C + c]! };
}

describe('prng', () => {
  it('is deterministic per (seed, stream) and differs between streams', () => {
    const a = new Rng(42, 3), b = new Rng(42, 3), c = new Rng(42, 4), d = new Rng(43, 3);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
    expect(Array.from({ length: 8 }, () => d.nextU32())).not.toEqual(sa);
  });

  it('gaussian table has zero mean, unit variance and normal quantiles', () => {
    const t = gaussianTable();
    let s = 0, ss = 0;
    for (const v of t) { s += v; ss += v * v; }
    expect(Math.abs(s / t.length)).toBeLessThan(1e-6);
    expect(ss / t.length).toBeCloseTo(1, 5);
    const sorted = Float32Array.from(t).sort();
    expect(sorted[Math.round(0.8413 * t.length)]).toBeCloseTo(1, 2);
  });
});

describe('generateRecording', () => {
  const small: Omit<GenerateOptions, 'out'> = { preset: 'linear32', duration: 1.5, seed: 7, numUnits: 5 };

  it('writes all files, readable by the io module, with a consistent description', async () => {
    const r = await generateRecording({ ...small, out: tmp() });
    for (const f of FILES) expect(fs.existsSync(path.join(r.dir, f))).toBe(true);
    expect(r.numChannels).toBe(32);
    expect(r.numSamples).toBe(45000);
    expect(fs.statSync(r.binaryFile).size).toBe(45000 * 32 * 2);
    expect(await loadProbe(r.probeFile)).toEqual(presetLayout('linear32').positions);
    const npy = readNpy(r.probeNpyFile);
    expect(npy.shape).toEqual([32, 2]);
    expect(Array.from(npy.data as Float64Array)).toEqual(presetLayout('linear32').positions.flat());
    const rec = new Recording(r); // the result carries exactly what a Recording needs
    expect(rec.numSamples).toBe(r.numSamples);
    expect(rec.numChannels).toBe(32);
    const gt = loadGroundTruth(r.groundTruthFile);
    expect(gt.units).toHaveLength(5);
    expect(gt.samplingFrequency).toBe(30000);
    expect(gt.scale).toBeCloseTo(1 / 0.195, 12);
    expect(gt.detectionPolarity).toBeCloseTo(-0.195, 12);
    for (const u of gt.units) {
      for (let i = 1; i < u.spikes.length; i++) expect(u.spikes[i]!).toBeGreaterThan(u.spikes[i - 1]!);
      expect(u.spikes.every((s) => Number.isInteger(s) && s >= 0 && s < r.numSamples)).toBe(true);
      expect(u.bestChannel).toBeGreaterThanOrEqual(0);
      expect(u.firingRate).toBeCloseTo(u.spikes.length / 1.5, 2);
      expect(u.snr!).toBeGreaterThanOrEqual(3 * 0.85);
      expect(u.snr!).toBeLessThanOrEqual(20 * 1.15);
    }
    const params = JSON.parse(fs.readFileSync(r.paramsFile, 'utf8'));
    expect(params.options.seed).toBe(7);
    expect(params.uVPerUnit).toBeCloseTo(0.195, 12);
  });

  it('gives byte-identical files for the same seed, whatever the chunk size', async () => {
    const a = await generateRecording({ ...small, out: tmp(), drift: { rate: 5, jumps: [{ time: 0.7, um: 15 }] } });
    const b = await generateRecording({ ...small, out: tmp(), drift: { rate: 5, jumps: [{ time: 0.7, um: 15 }] }, chunkSamples: 977 });
    for (const f of FILES) {
      expect(fs.readFileSync(path.join(b.dir, f)).equals(fs.readFileSync(path.join(a.dir, f))), f).toBe(true);
    }
    const c = await generateRecording({ ...small, seed: 8, out: tmp() });
    expect(fs.readFileSync(c.binaryFile).equals(fs.readFileSync(a.binaryFile))).toBe(false);
  });

  it('regenerates the same bytes from params.json', async () => {
    const a = await generateRecording({ ...small, preset: 'poly64', duration: 0.5, dataType: 'float32', out: tmp() });
    const params = JSON.parse(fs.readFileSync(a.paramsFile, 'utf8'));
    const b = await generateRecording({ ...params.options, out: tmp() });
    expect(fs.readFileSync(b.binaryFile).equals(fs.readFileSync(a.binaryFile))).toBe(true);
  });

  it('regenerates a custom-geometry recording from params.json', async () => {
    const geometry = [[0, 0], [20, 0], [0, 30], [20, 30], [0, 60], [20, 60]];
    const a = await generateRecording({ geometry, duration: 0.3, seed: 9, numUnits: 2, out: tmp() });
    const params = JSON.parse(fs.readFileSync(a.paramsFile, 'utf8'));
    expect(params.options.preset).toBeNull();
    expect(params.options.geometry).toEqual(geometry);
    const b = await generateRecording({ ...params.options, out: tmp() });
    expect(fs.readFileSync(b.binaryFile).equals(fs.readFileSync(a.binaryFile))).toBe(true);
    expect(await loadProbe(b.probeFile)).toEqual(geometry);
  });

  it('puts every GT spike at the trough of its unit on the best channel (low noise)', async () => {
    const r = await generateRecording({
      preset: 'linear32', duration: 3, seed: 3, numUnits: 4, dataType: 'float32', noiseLevel: 0.05,
      amplitudeRange: [60, 150], backgroundUnits: 0, lfpAmplitude: 0, dcOffsetRange: 0, closePairFraction: 0, out: tmp(),
    });
    const gt = loadGroundTruth(r.groundTruthFile);
    const { at } = readData(r.dir, 'float32', r.numChannels);
    let total = 0;
    for (const u of gt.units) {
      let exact = 0;
      for (const s of u.spikes) {
        let m = s;
        for (let k = s - 10; k <= s + 10; k++) if (k >= 0 && k < r.numSamples && at(k, u.bestChannel) < at(m, u.bestChannel)) m = k;
        expect(Math.abs(m - s)).toBeLessThanOrEqual(1);
        if (m === s) exact++;
      }
      // Other units' spikes overlapping on the same channel may tilt a trough by a sample, rarely.
      expect(exact).toBeGreaterThanOrEqual(0.95 * u.spikes.length);
      // The footprint in the ground truth matches the data: trough depth ratios to the best channel.
      const trough = (c: number): number => {
        const v = u.spikes.map((s0) => { let m = 0; for (let k = -2; k <= 14; k++) m = Math.min(m, at(s0 + k, c)); return -m; }).sort((p, q) => p - q);
        return v[v.length >> 1]!;
      };
      const fp = u.footprint;
      const bi = fp.channels.indexOf(u.bestChannel);
      expect(fp.amplitudes[bi]).toBeCloseTo(u.peakAmplitude, 1);
      const tb = trough(u.bestChannel);
      fp.channels.forEach((c, i) => {
        if (fp.amplitudes[i]! < 0.3 * u.peakAmplitude) return;
        const ratio = trough(c) / tb, expected = fp.amplitudes[i]! / u.peakAmplitude;
        expect(Math.abs(ratio - expected), `unit ${u.id} channel ${c}`).toBeLessThan(0.1 * expected);
      });
      total += u.spikes.length;
    }
    expect(total).toBeGreaterThan(20);
  });

  it('puts the spike-triggered average trough at the GT time with default noise (int16)', async () => {
    const r = await generateRecording({ preset: 'poly64', duration: 6, seed: 11, numUnits: 8, firingRateRange: [6, 15], out: tmp() });
    const gt = loadGroundTruth(r.groundTruthFile);
    const { at } = readData(r.dir, 'int16', r.numChannels);
    let exactChecked = 0;
    for (const u of gt.units) {
      if (u.spikes.length < 5) continue;
      const avg = new Float64Array(21);
      for (const s of u.spikes) for (let k = -10; k <= 10; k++) avg[k + 10]! += at(s + k, u.bestChannel) - at(s - 30, u.bestChannel);
      let m = 0;
      for (let k = 0; k < 21; k++) if (avg[k]! < avg[m]!) m = k;
      // Exactly at 0 wherever the template's trough is sharper than the averaged noise can blur;
      // broad low-SNR troughs may land one sample off by chance.
      const tp = u.bestChannelTemplate, pre = gt.templatePre;
      const sharpness = Math.min(tp[pre - 1]!, tp[pre + 1]!) - tp[pre]!;
      expect(tp[pre]!).toBeLessThan(Math.min(...tp.filter((_, k) => k !== pre)));
      if (sharpness > 3 * gt.noiseLevel / Math.sqrt(u.spikes.length)) {
        expect(m - 10, `unit ${u.id}`).toBe(0);
        exactChecked++;
      } else expect(Math.abs(m - 10), `unit ${u.id}`).toBeLessThanOrEqual(1);
      // SNR is peak / noise sd; the average trough (in µV) is near the stated peak amplitude.
      const troughUv = (avg[10]! / u.spikes.length) / gt.scale;
      expect(-troughUv).toBeGreaterThan(0.5 * u.peakAmplitude);
      expect(-troughUv).toBeLessThan(1.5 * u.peakAmplitude);
    }
    expect(exactChecked).toBeGreaterThanOrEqual(3);
  });

  it('has the requested noise level and spatially correlated noise', async () => {
    const r = await generateRecording({
      preset: 'linear32', duration: 1, seed: 5, numUnits: 0, backgroundUnits: 0, lfpAmplitude: 0, dcOffsetRange: 0,
      dataType: 'float32', noiseLevel: 10, out: tmp(),
    });
    const { at } = readData(r.dir, 'float32', r.numChannels);
    let s = 0, s01 = 0, s0far = 0, s1 = 0, sfar = 0;
    for (let t = 0; t < r.numSamples; t++) {
      const a = at(t, 10), b = at(t, 11), c = at(t, 31);
      s += a * a; s1 += b * b; sfar += c * c; s01 += a * b; s0far += a * c;
    }
    const sd = Math.sqrt(s / r.numSamples);
    expect(sd).toBeGreaterThan(9);
    expect(sd).toBeLessThan(11);
    const rNear = s01 / Math.sqrt(s * s1), rFar = s0far / Math.sqrt(s * sfar);
    expect(rNear).toBeGreaterThan(0.15);
    expect(rFar).toBeLessThan(rNear);
  });

  // Trajectory y at time t, linear between its rows (rows bracket every jump).
  const trajectoryY = (traj: [number, number, number, number][], t: number): number => {
    let k = 0;
    while (k + 2 < traj.length && traj[k + 1]![0] <= t) k++;
    const [t0, , y0] = traj[k]!, [t1, , y1] = traj[k + 1]!;
    return y0 + ((y1 - y0) * (t - t0)) / (t1 - t0);
  };

  for (const nonRigid of [0, 0.6]) {
    it(`moves the footprint by the requested drift (gradual and abrupt, nonRigid ${nonRigid})`, async () => {
      // A dense single column so the footprint's centre of mass follows the soma closely.
      const geometry = Array.from({ length: 120 }, (_, i) => [0, 10 * i]);
      const drift = { rate: 10, jumps: [{ time: 2, um: 30 }], nonRigid };
      const r = await generateRecording({
        geometry, duration: 4, seed: 21, numUnits: 6, noiseLevel: 1, amplitudeRange: [80, 150], backgroundUnits: 0, lfpAmplitude: 0,
        dcOffsetRange: 0, dataType: 'float32', firingRateRange: [10, 15], burstFraction: 0, closePairFraction: 0, out: tmp(), drift,
      });
      const gt = loadGroundTruth(r.groundTruthFile);
      expect(driftAt(gt.drift, 3)).toBe(60);
      const { at } = readData(r.dir, 'float32', r.numChannels);
      const C = r.numChannels;
      const fsHz = r.samplingFrequency;
      const centre = (spikes: number[]): { y: number; t: number } => {
        const amp = new Float64Array(C);
        for (const s of spikes) {
          for (let c = 0; c < C; c++) {
            let m = 0;
            for (let k = 0; k <= 14; k++) m = Math.min(m, at(s + k, c));
            amp[c]! -= m / spikes.length;
          }
        }
        const peak = Math.max(...amp);
        let w = 0, wy = 0;
        for (let c = 0; c < C; c++) if (amp[c]! > 0.2 * peak) { w += amp[c]! ** 2; wy += amp[c]! ** 2 * geometry[c]![1]!; }
        return { y: wy / w, t: spikes.reduce((a, s) => a + s, 0) / spikes.length / fsHz };
      };
      let checked = 0;
      const moved: number[] = [];
      for (const u of gt.units) {
        // The trajectory says how far this unit moves: the nominal drift, scaled by depth when non-rigid.
        const total = u.trajectory[u.trajectory.length - 1]![2] - u.trajectory[0]![2];
        expect(total).toBeCloseTo(driftAt(gt.drift, 4, u.position[1]), 2);
        const ys = u.trajectory.map((p) => p[2]);
        // Only units whose footprint stays well inside the probe at all times.
        if (Math.min(...ys) < 200 || Math.max(...ys) > 990) continue;
        const early = u.spikes.filter((s) => s < 0.8 * fsHz);
        const late = u.spikes.filter((s) => s > 3.2 * fsHz);
        if (early.length < 4 || late.length < 4) continue;
        const a = centre(early), b = centre(late);
        const expected = trajectoryY(u.trajectory, b.t) - trajectoryY(u.trajectory, a.t);
        expect(b.y - a.y, `unit ${u.id}`).toBeGreaterThan(expected - 4);
        expect(b.y - a.y, `unit ${u.id}`).toBeLessThan(expected + 4);
        moved.push(total);
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(2);
      if (nonRigid === 0) for (const m of moved) expect(m).toBeCloseTo(70, 2);
      else expect(Math.max(...moved) - Math.min(...moved)).toBeGreaterThan(10);
    });
  }

  it('writes float32 as scale * µV + offset', async () => {
    const base = { preset: 'linear32' as const, duration: 0.3, seed: 2, numUnits: 2, dataType: 'float32' as const };
    const a = await generateRecording({ ...base, out: tmp() });
    const b = await generateRecording({ ...base, scale: -2, offset: 100, out: tmp() });
    expect(b.detectionPolarity).toBe(0.5);
    const xa = readData(a.dir, 'float32', 32).x, xb = readData(b.dir, 'float32', 32).x;
    for (let i = 0; i < xa.length; i += 997) expect(xb[i]!).toBeCloseTo(-2 * xa[i]! + 100, 2);
  });

  it('rejects bad options naming the parameter', async () => {
    const bad: [Partial<GenerateOptions>, string][] = [
      [{ preset: 'np999' as never }, 'preset'],
      [{ duration: -1 }, 'duration'],
      [{ samplingFrequency: 500 }, 'samplingFrequency'],
      [{ numUnits: 2.5 }, 'numUnits'],
      [{ dataType: 'int32' as never }, 'dataType'],
      [{ drift: { jumps: [{ time: -1, um: 3 }] } }, 'drift.jumps[0].time'],
      [{ drift: { nonRigid: 1.5 } }, 'drift.nonRigid'],
      [{ snrRange: [5, 2] }, 'snrRange'],
      [{ geometry: [[0, 1], [2]] }, 'geometry[1]'],
      [{ noiseLevel: 0 }, 'noiseLevel'],
    ];
    for (const [o, param] of bad) {
      const p = generateRecording({ out: tmp(), ...o });
      await expect(p).rejects.toBeInstanceOf(ParameterError);
      await expect(p).rejects.toMatchObject({ parameter: param });
    }
  });
});
