import { afterAll, describe, expect, it } from 'vitest';
import { getGpuContext, releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { type SortKernels } from '../../../src/stages/sort/kernels.js';
import { gpuSortKernels, kernelsForProcessor } from '../../../src/engines/webgpu/kernels.js';
import { cpuSortKernels } from '../../../src/stages/sort/kernels-cpu.js';
import { createSignalProcessor } from '../../../src/engines/select.js';
import { allocateFilteredBuffer } from '../../../src/core/window.js';
import { rng, worstDiff } from '../data.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('sort-kernels-gpu');

afterAll(async () => {
  await releaseGpuContext();
});

describe.skipIf(!gpu.ok)('SortKernels: WGSL twins give the TypeScript results', () => {
  const cpu = cpuSortKernels();
  let g: SortKernels;
  afterAll(() => g?.dispose?.());

  function minima(M: number, S: number, seed: number): { val: Float32Array; pos: Int32Array } {
    const r = rng(seed);
    const val = new Float32Array(M);
    const pos = new Int32Array(M);
    for (let m = 0; m < M; m++) {
      // Coarse values so that equal neighbours (the <= / > tie rules) occur often.
      val[m] = Math.round(r() * -40 + 10) / 2;
      pos[m] = Math.floor(r() * S);
    }
    return { val, pos };
  }

  it('detectPeaks on random minima with many ties, several thresholds and lengths', async () => {
    g ??= gpuSortKernels(await getGpuContext());
    for (const M of [5, 6, 33, 64, 1000, 40_001]) {
      const { val, pos } = minima(M, 30, M);
      for (const h of [-12, -3.5, 0]) {
        const a = await cpu.detectPeaks(val, pos, h);
        const b = await g.detectPeaks(val, pos, h);
        expect(Array.from(b), `M=${M} h=${h}`).toEqual(Array.from(a));
      }
    }
    expect((await g.detectPeaks(new Float32Array(4), new Int32Array(4), 1)).length).toBe(0);
  });

  it('matchCandidates on random minima rows and templates', async () => {
    g ??= gpuSortKernels(await getGpuContext());
    for (const [M, K] of [[50, 5], [3000, 5], [20_000, 4], [777, 1]] as const) {
      const rows = Array.from({ length: K }, (_, k) => minima(M, 30, 100 * M + k).val);
      const { pos } = minima(M, 30, M + 7);
      const r = rng(M);
      for (let trial = 0; trial < 3; trial++) {
        const f = Float32Array.from({ length: K }, () => Math.round(r() * -20) / 2);
        const a = await cpu.matchCandidates(rows, pos, f);
        const b = await g.matchCandidates(rows, pos, f);
        expect(Array.from(b), `M=${M} K=${K}`).toEqual(Array.from(a));
      }
    }
  });

  it('templateScores (recovery) gives the same scores', async () => {
    g ??= gpuSortKernels(await getGpuContext());
    for (const [M, C, K, J] of [[1000, 32, 7, 8], [5000, 64, 1, 3], [333, 5, 12, 5]] as const) {
      const r = rng(M + C);
      // Values on a 1/8 grid with small products: every f32 product and sum is exact, so the
      // result does not depend on whether the device fuses multiply and add.
      const minVal = Float32Array.from({ length: M * C }, () => Math.round(r() * -160 + 40) / 8);
      const channels = Int32Array.from({ length: K * J }, () => Math.floor(r() * C));
      const weights = Float32Array.from({ length: K * J }, () => Math.round(r() * 40) / 4);
      const a = await cpu.templateScores(minVal, M, C, channels, weights, J);
      const b = await g.templateScores(minVal, M, C, channels, weights, J);
      expect(b.length).toBe(K * M);
      expect(worstDiff(a, b), `M=${M} C=${C} K=${K} J=${J}`).toBe(0);
      // Arbitrary floats: the same up to float32 rounding.
      const noisy = Float32Array.from({ length: M * C }, () => r() * -50 + 10);
      const c = await cpu.templateScores(noisy, M, C, channels, weights, J);
      const d = await g.templateScores(noisy, M, C, channels, weights, J);
      for (let i = 0; i < c.length; i++) expect(Math.abs(c[i] - d[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(c[i])));
    }
    await expect(g.templateScores(new Float32Array(10), 5, 2, Int32Array.from([2]), Float32Array.from([1]), 1)).rejects.toThrow(/channel 2 is not in 0..1/);
  });

  it('gatherWaveforms returns exactly the same windows', async () => {
    g ??= gpuSortKernels(await getGpuContext());
    const C = 20;
    const S = 25;
    const M = 400;
    const buf = allocateFilteredBuffer(C, S, M + 3);
    const r = rng(5);
    for (let i = 0; i < buf.data.length; i++) buf.data[i] = r() * 100 - 50;
    const n = 700;
    const samples = Int32Array.from({ length: n }, (_, i) => S + Math.floor((i / n) * (M - 2) * S));
    samples[0] = S;                 // window starting exactly at the segment start
    samples[n - 1] = (M - 1) * S;   // ... and ending exactly at its end
    for (const ch of [Int32Array.from([7, 6, 8, 5, 9]), Int32Array.from([19, 0, 1, 2])]) {
      const a = await cpu.gatherWaveforms(buf, 3, M, samples, ch);
      const b = await g.gatherWaveforms(buf, 3, M, samples, ch);
      expect(b.length).toBe(a.length);
      expect(worstDiff(a, b)).toBe(0);
    }
  });

  it('kernelsForProcessor gives WGSL peak detection / feature test for a webgpu processor', async () => {
    const p = await createSignalProcessor('webgpu');
    const k = kernelsForProcessor(p);
    expect(k).not.toBeNull();
    const { val, pos } = minima(100, 30, 1);
    expect(Array.from(await k!.detectPeaks(val, pos, -5))).toEqual(Array.from(await cpu.detectPeaks(val, pos, -5)));
    const rows = [val, minima(100, 30, 2).val];
    const f = Float32Array.from([-6, -2]);
    expect(Array.from(await k!.matchCandidates(rows, pos, f))).toEqual(Array.from(await cpu.matchCandidates(rows, pos, f)));
    const buf = allocateFilteredBuffer(3, 30, 10);
    buf.data.fill(1.5);
    expect(Array.from(await k!.gatherWaveforms(buf, 0, 10, Int32Array.from([100]), Int32Array.from([2, 0])))).toEqual(new Array(120).fill(1.5));
    k!.dispose?.();
    p.dispose();
  });
});
