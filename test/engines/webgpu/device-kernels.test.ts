/**
 * Kernel by kernel: each WGSL twin on a device-resident window against its CPU definition
 * (stages/sort/kernels-cpu.ts) on the same bits. The host window is filtered once by the CPU
 * engine from a generated recording and copied into a device window planned with small
 * binding limits, so the window has several channel groups and the multi-group paths run.
 * Also: pass 1's minima-only path (minima and first samples read back, no data) and the
 * device filter + minima against the host-window filter.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { createSignalProcessor, type SignalProcessor } from '../../../src/engines/select.js';
import type { GpuSignalProcessor } from '../../../src/engines/webgpu/engine.js';
import { readDeviceWindow, writeHostWindow, type DeviceSegment } from '../../../src/engines/webgpu/device-window.js';
import { allocateFilteredBuffer, allocateMinimaBuffer, type FilteredBuffer } from '../../../src/core/window.js';
import { cpuSortKernels } from '../../../src/stages/sort/kernels-cpu.js';
import type { SegmentMinima } from '../../../src/stages/sort/kernels.js';
import { generateRecording } from '../../../src/groundtruth/index.js';
import { Recording } from '../../../src/formats/recording.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('device-kernels');

function worst(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; at: number; scale: number } {
  expect(b.length).toBe(a.length);
  let diff = 0;
  let at = -1;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return { diff, at, scale };
}

function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, label: string): void {
  const w = worst(a, b);
  expect(w.diff, `${label}: first worst difference at ${w.at}`).toBe(0);
}

describe.skipIf(!gpu.ok)('WGSL sort kernels on a device window vs their CPU definitions', () => {
  let root: string;
  let rec: Recording;
  let cpu: SignalProcessor;
  let gpuEngine: GpuSignalProcessor;
  let host: FilteredBuffer;
  let hostSeg: SegmentMinima;
  let dev: DeviceSegment;
  const C = 32;
  const M = 1500;
  let S = 30;
  const k = cpuSortKernels();

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-device-kernels-'));
    const g = await generateRecording({ out: root, preset: 'linear32', duration: 1.6, seed: 11, snrRange: [8, 20] });
    rec = new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency });
    S = rec.samplesPerMs;
    cpu = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    gpuEngine = (await createSignalProcessor('webgpu')) as GpuSignalProcessor;
    host = allocateFilteredBuffer(C, S, M);
    await cpu.filterBlocks(rec, 1, M, -1, host, 0);
    hostSeg = { buf: host, numChannels: C, samplesPerMs: S, numMs: M, minValT: new Float32Array(C * M), minPosT: new Int32Array(C * M) };
    // Five channels per group: seven groups, the last one short.
    const rowBytes = M * S * 4;
    gpuEngine.resident.limits = { maxBufferSize: 5 * rowBytes, maxStorageBufferBindingSize: 5 * rowBytes };
    gpuEngine.resident.plan(C, S, M, 2e9);
    dev = await gpuEngine.resident.acquire();
    expect(dev.groups.length).toBe(7);
    writeHostWindow(gpuEngine.ctx, dev, host, M);
  }, 120_000);

  afterAll(async () => {
    cpu?.dispose();
    gpuEngine?.dispose();
    await releaseGpuContext();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const thr = (): Float32Array => {
    // Thresholds a little below the noise floor: many peaks per channel.
    const t = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let m = 0; m < M; m++) sum += host.minVal[m * C + c];
      t[c] = 1.6 * (sum / M);
    }
    return t;
  };

  it('channelScores: the same scores (f32 tree sum vs float64 sum)', async () => {
    const t = thr();
    const a = await k.channelScores(hostSeg, t);
    const b = await gpuEngine.resident.kernels.channelScores(dev, t);
    const w = worst(a, b);
    expect(w.diff).toBeLessThanOrEqual(1e-5 * w.scale);
    expect(a.some((x) => x < 0)).toBe(true);
  });

  it('detectPeaks: the same samples on every channel, at two thresholds', async () => {
    const t = thr();
    let total = 0;
    for (let c = 0; c < C; c++) {
      for (const h of [t[c], 0.5 * t[c]]) {
        const a = await k.detectPeaks(hostSeg, c, h);
        const b = await gpuEngine.resident.kernels.detectPeaks(dev, c, h);
        expect(Array.from(b), `channel ${c}`).toEqual(Array.from(a));
        total += a.length;
      }
    }
    expect(total).toBeGreaterThan(100);
  });

  it('gatherWaveforms: the same windows, across channel groups, in the given channel order', async () => {
    const peaks = await k.detectPeaks(hostSeg, 7, thr()[7]);
    const channels = Int32Array.from([7, 4, 5, 6, 11, 0, 31]);
    const a = await k.gatherWaveforms(hostSeg, peaks, channels);
    const b = await gpuEngine.resident.kernels.gatherWaveforms(dev, peaks, channels);
    expect(a.length).toBeGreaterThan(0);
    expectSame(a, b, 'waveforms');
  });

  it('matchCandidates: the same candidates', async () => {
    const channels = Int32Array.from([12, 10, 11, 13, 14, 16]);
    const peaks = await k.detectPeaks(hostSeg, 12, thr()[12]);
    const x = await k.gatherWaveforms(hostSeg, peaks, channels);
    // The template's per-channel minima from the mean of the gathered windows.
    const W = 2 * S;
    const f = new Float32Array(channels.length);
    for (let j = 0; j < channels.length; j++) {
      let mn = Infinity;
      for (let t = 0; t < W; t++) {
        let s = 0;
        for (let i = 0; i < peaks.length; i++) s += x[(i * channels.length + j) * W + t];
        mn = Math.min(mn, s / peaks.length);
      }
      f[j] = mn;
    }
    const a = await k.matchCandidates(hostSeg, channels, 12, f);
    const b = await gpuEngine.resident.kernels.matchCandidates(dev, channels, 12, f);
    expect(a.length).toBeGreaterThan(5);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('meanMinima, meanWindows, subtractAndRescan: amplitudes, means, subtracted data, minima and scores', async () => {
    const t = thr();
    const scoreA = await k.channelScores(hostSeg, t);
    const scoreB = await gpuEngine.resident.kernels.channelScores(dev, t);
    const spikes = await k.detectPeaks(hostSeg, 20, t[20]);
    expect(spikes.length).toBeGreaterThan(10);
    const spikeMs = Int32Array.from(spikes, (s) => Math.floor(s / S));
    const ampA = await k.meanMinima(hostSeg, spikeMs);
    const ampB = await gpuEngine.resident.kernels.meanMinima(dev, spikeMs);
    const wa = worst(ampA, ampB);
    expect(wa.diff).toBeLessThanOrEqual(2e-7 * wa.scale);
    // Affected channels from several groups.
    const affected = Int32Array.from([3, 18, 19, 20, 21, 22, 30]);
    const meansA = await k.meanWindows(hostSeg, spikes, affected);
    const meansB = await gpuEngine.resident.kernels.meanWindows(dev, spikes, affected);
    const wm = worst(meansA, meansB);
    expect(wm.diff).toBeLessThanOrEqual(2e-7 * wm.scale);
    const rowOf = (c: number): Float32Array => {
      const r = new Float32Array(M * S);
      for (let m = 0; m < M; m++) r.set(host.data.subarray((m * C + c) * S, (m * C + c + 1) * S), m * S);
      return r;
    };
    const before20 = rowOf(20);
    const before1 = rowOf(1);
    // Both subtract the same means (the GPU's, kept on the device), so the data must agree bit for bit.
    await k.subtractAndRescan(hostSeg, spikes, affected, meansB, t, scoreA);
    await gpuEngine.resident.kernels.subtractAndRescan(dev, spikes, affected, meansB, t, scoreB);
    const back = await readDeviceWindow(gpuEngine.ctx, dev);
    expectSame(host.data.subarray(0, M * C * S), back.data.subarray(0, M * C * S), 'subtracted data');
    expectSame(host.minVal.subarray(0, M * C), back.minVal.subarray(0, M * C), 'minima');
    expectSame(host.minPos.subarray(0, M * C), back.minPos.subarray(0, M * C), 'minimum positions');
    const ws = worst(scoreA, scoreB);
    expect(ws.diff).toBeLessThanOrEqual(1e-5 * ws.scale);
    // The subtraction changed the affected channels only.
    let changed20 = 0;
    let changed1 = 0;
    for (let m = 0; m < M; m++) {
      for (let s = 0; s < S; s++) {
        if (host.data[(m * C + 20) * S + s] !== before20[m * S + s]) changed20++;
        if (host.data[(m * C + 1) * S + s] !== before1[m * S + s]) changed1++;
      }
    }
    expect(changed20).toBeGreaterThan(spikes.length);
    expect(changed1).toBe(0);
  });

  it('templateScores (recovery, through the engine\'s host-window kernels): the same scores', async () => {
    const g = gpuEngine.sortKernels();
    const rnd = (seed: number) => () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const [Mt, Ct, K, J] of [[1000, 32, 7, 8], [5000, 64, 1, 3], [333, 5, 12, 5]] as const) {
      const r = rnd(Mt + Ct);
      // Values on a 1/8 grid with small products: every f32 product and sum is exact, so the
      // result does not depend on whether the device fuses multiply and add.
      const minVal = Float32Array.from({ length: Mt * Ct }, () => Math.round(r() * -160 + 40) / 8);
      const channels = Int32Array.from({ length: K * J }, () => Math.floor(r() * Ct));
      const weights = Float32Array.from({ length: K * J }, () => Math.round(r() * 40) / 4);
      const a = await k.templateScores(minVal, Mt, Ct, channels, weights, J);
      const b = await g.templateScores(minVal, Mt, Ct, channels, weights, J);
      expect(b.length).toBe(K * Mt);
      expectSame(a, b, `M=${Mt} C=${Ct} K=${K} J=${J}`);
      // Arbitrary floats: the same up to float32 rounding.
      const noisy = Float32Array.from({ length: Mt * Ct }, () => r() * -50 + 10);
      const c = await k.templateScores(noisy, Mt, Ct, channels, weights, J);
      const d = await g.templateScores(noisy, Mt, Ct, channels, weights, J);
      for (let i = 0; i < c.length; i++) expect(Math.abs(c[i] - d[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(c[i])));
    }
    await expect(g.templateScores(new Float32Array(10), 5, 2, Int32Array.from([2]), Float32Array.from([1]), 1)).rejects.toThrow(/channel 2 is not in 0..1/);
    expect([...gpuEngine.stagesOnDevice]).toContain('recovery');
  });

  it('the device filter and its minima match the host-window filter; pass 1 reads minima and first samples only', async () => {
    const seg2 = await gpuEngine.resident.acquire();
    try {
      await gpuEngine.resident.fill(rec, 1, M, -1, seg2);
      const back = await readDeviceWindow(gpuEngine.ctx, seg2);
      const ref = allocateFilteredBuffer(C, S, M);
      await gpuEngine.filterBlocks(rec, 1, M, -1, ref, 0);
      expectSame(ref.data.subarray(0, M * C * S), back.data.subarray(0, M * C * S), 'filtered data (device window vs host window)');
      expectSame(ref.minVal, back.minVal, 'minima');
      expectSame(ref.minPos, back.minPos, 'minimum positions');
      const mini = allocateMinimaBuffer(C, S, M, true);
      await gpuEngine.filterBlocks(rec, 1, M, -1, mini, 0);
      expectSame(ref.minVal, mini.minVal, 'minima-only minima');
      for (let m = 0; m < M; m += 97) for (let c = 0; c < C; c++) expect(mini.firstSamples![m * C + c]).toBe(ref.data[(m * C + c) * S]);
      expect([...gpuEngine.stagesOnDevice]).toEqual(expect.arrayContaining(['filter', 'minima']));
    } finally {
      gpuEngine.resident.release(seg2);
    }
  }, 60_000);
});
