import { afterEach, describe, expect, it } from 'vitest';
import { autoDecision, calibrationMs, clearAutoDecisions, decideBackend, describeDecision, type Calibration } from '../../src/engines/calibrate.js';

const cal = (cpuMBps: number, gpuMBps: number, agree = true): Calibration => ({
  cpuMBps, gpuMBps, agree, worstDiff: agree ? 2e-5 : 0.5, workload: '500 ms of 384 ch int16 from the recording', seconds: 0.21,
});

afterEach(() => clearAutoDecisions());

describe("'auto' on a hardware GPU: the decision from injected timings", () => {
  it('picks the faster path; the CPU on a tie or when the outputs disagree', () => {
    // H100 machine, bench/filter.ts: 384 ch cpu 1440 MB/s vs webgpu 712 MB/s; 32 ch 628x vs 698x real time.
    expect(decideBackend(cal(1440, 712))).toBe('cpu');
    expect(decideBackend(cal(1206, 1340))).toBe('webgpu');
    expect(decideBackend(cal(1000, 1000))).toBe('cpu');
    expect(decideBackend(cal(100, 5000, false))).toBe('cpu');
  });

  it('says in one line which it chose and both measured rates', () => {
    const cpuLabel = 'WebAssembly SIMD + TypeScript, 4 worker threads';
    const gpuLabel = 'webgpu on NVIDIA H100 (hardware)';
    const a = describeDecision('cpu', cal(1440, 712), cpuLabel, gpuLabel, false);
    expect(a).toBe('cpu (WebAssembly SIMD + TypeScript, 4 worker threads: 1440 MB/s; faster than webgpu on NVIDIA H100 (hardware): 712 MB/s; ' +
      'calibrated on 500 ms of 384 ch int16 from the recording in 0.21 s)');
    const b = describeDecision('webgpu', cal(1206, 1340), cpuLabel, gpuLabel, true);
    expect(b).toBe('webgpu on NVIDIA H100 (hardware): 1340 MB/s; faster than cpu (WebAssembly SIMD + TypeScript, 4 worker threads): 1206 MB/s; ' +
      'calibrated earlier in this process on 500 ms of 384 ch int16 from the recording');
    const c = describeDecision('cpu', cal(100, 5000, false), cpuLabel, gpuLabel, false);
    expect(c).toMatch(/^cpu \(.*: 100 MB\/s; webgpu on NVIDIA H100 \(hardware\) \(5000 MB\/s\) disagreed with the CPU path on the minima by 5\.00e-1;/);
    for (const line of [a, b, c]) expect(line).not.toMatch(/\n/);
  });

  it('measures once per key and process, caches the result, and does not cache a failure', async () => {
    let calls = 0;
    const measure = async () => {
      calls++;
      return cal(1440, 712);
    };
    const first = await autoDecision('384x30 int16', measure);
    expect(first.cached).toBe(false);
    const again = await Promise.all([autoDecision('384x30 int16', measure), autoDecision('384x30 int16', measure)]);
    expect(again.map((d) => d.cached)).toEqual([true, true]);
    expect(again[0].calibration).toBe(first.calibration);
    expect(calls).toBe(1);
    await autoDecision('32x30 int16', measure);
    expect(calls).toBe(2);
    await expect(autoDecision('1024x30 int16', async () => { throw new Error('device lost (test)'); })).rejects.toThrow(/device lost/);
    const retry = await autoDecision('1024x30 int16', measure);
    expect(retry.cached).toBe(false);
    expect(calls).toBe(3);
  });

  it('keeps the calibration block small: <= 500 ms and <= 16 MiB of raw data', () => {
    expect(calibrationMs({ numChannels: 384, samplesPerMs: 30, dataType: 'int16' })).toBe(500);
    expect(calibrationMs({ numChannels: 1024, samplesPerMs: 30, dataType: 'int16' })).toBe(273);
    expect(calibrationMs({ numChannels: 4096, samplesPerMs: 30, dataType: 'float64' })).toBe(20);
  });
});
