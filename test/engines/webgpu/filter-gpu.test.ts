import { afterAll, describe, expect, it } from 'vitest';
import { GpuContext, getGpuContext, releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { filterHalo } from '../../../src/stages/filter/taps.js';
import { FilterScratch, cpuInputRange, filterBlocksCpu } from '../../../src/engines/cpu/filter.js';
import { GpuFilter, rawEncoding } from '../../../src/engines/webgpu/filter.js';
import { msMinimaReference } from '../../../src/stages/filter/minima.js';
import { createSignalProcessor } from '../../../src/engines/select.js';
import { allocateFilteredBuffer } from '../../../src/core/window.js';
import { maxAbs, noise, spiky, toInt16, worstDiff, writeRecording } from '../data.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('filter-gpu');

afterAll(async () => {
  await releaseGpuContext();
});

function dest(C: number, S: number, capacityMs: number) {
  return allocateFilteredBuffer(C, S, capacityMs);
}

/** Peak-to-peak range of the raw input: the GPU's f32 rounding scales with the local signal swing. */
function range(x: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
  return hi - lo;
}

// Bound for GPU vs TS: 5e-7 of the input's peak-to-peak range (measured worst ~4e-8 of it on lavapipe),
// i.e. far below the reference implementation's own float32 drift of 1e-3..2e-2.
const REL_BOUND = 5e-7;

describe.skipIf(!gpu.ok)('DoG filter + minima on the GPU vs the TypeScript reference', () => {
  let ctx: GpuContext;
  let gf: GpuFilter;
  const rows: string[] = [];

  afterAll(() => {
    gf?.dispose();
    console.log(`GPU vs TS worst |diff| (adapter ${gpu.name}):\n${rows.join('\n')}`);
  });

  const cases: [number, number, string][] = [
    [20000, 4, 'random'], [25000, 64, 'spiky'], [30000, 384, 'spiky'], [30000, 7, 'random'], [20000, 130, 'spiky'],
  ];
  for (const [fs, C, kind] of cases) {
    for (const polarity of [-1, 1]) {
      it(`fs ${fs / 1000} kHz, ${C} channels, ${kind} int16 data, polarity ${polarity}`, async () => {
        ctx ??= await getGpuContext();
        gf ??= new GpuFilter(ctx);
        const S = Math.floor(fs / 1000);
        const numMs = C >= 300 ? 60 : 150;
        const firstMs = 1;
        const r = cpuInputRange(firstMs, numMs, S);
        const xf = kind === 'random' ? noise(r.end, C, 2000, fs + C) : spiky(r.end, C, S, fs + C);
        const x = toInt16(xf);
        const cpu = dest(C, S, numMs);
        filterBlocksCpu(x, 0, firstMs, numMs, polarity, cpu, 0, 0, C, new FilterScratch());
        const h = filterHalo(S);
        const raw = x.subarray((firstMs * S - h) * C, ((firstMs + numMs) * S + h) * C);
        const g = dest(C, S, numMs);
        await gf.run(raw, rawEncoding('int16'), numMs, polarity, g, 0);
        const worst = worstDiff(cpu.data, g.data);
        const bound = REL_BOUND * range(raw);
        rows.push(`  fs ${fs} C ${C} ${kind} p ${polarity}: ${worst.toExponential(2)} (bound ${bound.toExponential(2)}, max |y| ${maxAbs(cpu.data).toFixed(1)})`);
        expect(worst).toBeLessThanOrEqual(bound);
        // GPU minima are exactly the minima of the GPU's own filtered data.
        const mm = msMinimaReference(g.data, numMs, C, S);
        expect(worstDiff(mm.minVal, g.minVal)).toBe(0);
        expect(worstDiff(mm.minPos, g.minPos)).toBe(0);
        // and agree with the TypeScript minima up to the filter difference.
        expect(worstDiff(cpu.minVal, g.minVal)).toBeLessThanOrEqual(bound);
      });
    }
  }

  it('polarity -1/a on float32 data saved as a*x+b recovers the int16 result', async () => {
    ctx ??= await getGpuContext();
    gf ??= new GpuFilter(ctx);
    const S = 30;
    const C = 32;
    const numMs = 100;
    const a = 0.195;
    const b = 812.5;
    const r = cpuInputRange(1, numMs, S);
    const xf = spiky(r.end, C, S, 77);
    const x = toInt16(xf);
    const y = Float32Array.from(xf, (v) => a * v + b);
    const h = filterHalo(S);
    const ref = dest(C, S, numMs);
    filterBlocksCpu(x, 0, 1, numMs, -1, ref, 0, 0, C, new FilterScratch());
    const cpu = dest(C, S, numMs);
    filterBlocksCpu(y, 0, 1, numMs, -1 / a, cpu, 0, 0, C, new FilterScratch());
    const g = dest(C, S, numMs);
    await gf.run(y.subarray((S - h) * C, ((1 + numMs) * S + h) * C), rawEncoding('float32'), numMs, -1 / a, g, 0);
    const gpuVsCpu = worstDiff(cpu.data, g.data);
    // Storing a*x+b in float32 rounds each value by up to ulp(b + a*max|x|)/2; the filter's
    // gain (sum |h| <= 2) and the 1/a rescaling carry that into y.
    const storeErr = ((b + a * maxAbs(xf)) * 2 ** -24 * 2) / a;
    const vsInt = worstDiff(ref.data, cpu.data);
    rows.push(`  a*x+b float32, polarity -1/a: GPU vs TS ${gpuVsCpu.toExponential(2)}, TS vs int16 original ${vsInt.toExponential(2)} (bound ${storeErr.toExponential(2)})`);
    expect(gpuVsCpu).toBeLessThanOrEqual(REL_BOUND * range(x) + 1e-6);
    expect(vsInt).toBeLessThanOrEqual(storeErr);
    expect(worstDiff(ref.data, g.data)).toBeLessThanOrEqual(storeErr + REL_BOUND * range(x));
  });

  it('constant input filters to ~0 and an impulse gives the symmetric closed-form response', async () => {
    ctx ??= await getGpuContext();
    gf ??= new GpuFilter(ctx);
    const S = 25;
    const C = 3;
    const numMs = 10;
    const h = filterHalo(S);
    const rawRows = numMs * S + 2 * h;
    const flat = new Int16Array(rawRows * C).fill(-1234);
    const g = dest(C, S, numMs);
    await gf.run(flat, rawEncoding('int16'), numMs, -1, g, 0);
    expect(maxAbs(g.data)).toBe(0);  // centre differences are exactly 0
    const imp = new Int16Array(rawRows * C);
    const t0 = 5 * S;  // output sample t0 is raw row t0 + h
    imp[(t0 + h) * C + 2] = 1000;
    await gf.run(imp, rawEncoding('int16'), numMs, -1, g, 0);
    const cpu = dest(C, S, numMs);
    filterBlocksCpu(imp, S - h, 1, numMs, -1, cpu, 0, 0, C, new FilterScratch());
    const at = (d: Float32Array, t: number) => d[(Math.floor(t / S) * C + 2) * S + (t % S)];
    for (let j = 1; j <= h; j++) {
      expect(Math.abs(at(g.data, t0 + j) - at(g.data, t0 - j))).toBeLessThan(1e-4);
      expect(Math.abs(at(g.data, t0 + j) - at(cpu.data, t0 + j))).toBeLessThan(1e-3);
    }
  });

  it('int8, uint8, uint16 are read from packed bytes like int16', async () => {
    ctx ??= await getGpuContext();
    gf ??= new GpuFilter(ctx);
    const S = 20;
    const C = 9;  // odd: sub-word positions vary from row to row
    const numMs = 40;
    const h = filterHalo(S);
    const rawRows = numMs * S + 2 * h;
    const base = noise(rawRows, C, 100, 5);
    for (const [dt, arr] of [
      ['int8', Int8Array.from(base, (v) => v)],
      ['uint8', Uint8Array.from(base, (v) => v + 120)],
      ['uint16', Uint16Array.from(base, (v) => v * 300 + 33000)],
    ] as const) {
      const cpu = dest(C, S, numMs);
      filterBlocksCpu(arr, S - h, 1, numMs, -1, cpu, 0, 0, C, new FilterScratch());
      const g = dest(C, S, numMs);
      await gf.run(arr, rawEncoding(dt), numMs, -1, g, 0);
      expect(worstDiff(cpu.data, g.data), dt).toBeLessThanOrEqual(REL_BOUND * range(arr));
    }
  });
});

describe.skipIf(!gpu.ok)('webgpu signal processor', () => {
  it('chunked requests give exactly the one-pass output, and match the CPU backend', async () => {
    const C = 48;
    const fs = 30000;
    const S = 30;
    const rows = fs;
    const t = writeRecording(spiky(rows, C, S, 4), C, fs, 'int16');
    const p = await createSignalProcessor('webgpu');
    const q = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    try {
      expect(p.backend).toBe('webgpu');
      expect(p.description).toMatch(/^webgpu on .* \((software|hardware)\)$/);
      const numMs = Math.floor(rows / S) - 2;
      const one = allocateFilteredBuffer(C, S, numMs);
      await p.filterBlocks(t.rec, 1, numMs, -1, one, 0);
      const parts = allocateFilteredBuffer(C, S, numMs);
      let m = 1;
      for (const n of [1, 250, 97, numMs - 348]) {
        await p.filterBlocks(t.rec, m, n, -1, parts, m - 1);
        m += n;
      }
      expect(worstDiff(one.data, parts.data)).toBe(0);
      expect(worstDiff(one.minPos, parts.minPos)).toBe(0);
      const cpu = allocateFilteredBuffer(C, S, numMs);
      await q.filterBlocks(t.rec, 1, numMs, -1, cpu, 0);
      expect(worstDiff(cpu.data, one.data)).toBeLessThanOrEqual(REL_BOUND * 65536);
    } finally {
      p.dispose();
      q.dispose();
      t.cleanup();
    }
  });
});
