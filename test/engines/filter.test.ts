import { describe, expect, it } from 'vitest';
import { boxPower, dogTaps, filterHalo, filterWidths } from '../../src/stages/filter/taps.js';
import { FilterScratch, cpuInputRange, filterBlocksCpu, filterBlocksFloat, filterBlocksInt } from '../../src/engines/cpu/filter.js';
import { dogFilterReference } from '../../src/stages/filter/reference.js';
import { WasmFilterState, filterAreaBytes, filterBlocksWasm, filterBlocksWasmFloat, wasmSimdAvailable } from '../../src/engines/cpu/filter-wasm.js';
import { arenaBlocks, arenaLayout, wasmWindowLayout, wasmWindowViews, windowBlocks } from '../../src/core/window.js';
import { sharedWasmMemory } from '../../src/core/wasm-memory.js';
import { msMinimaReference, toMsLayout } from '../../src/stages/filter/minima.js';
import { closedFormDog, maxAbs, noise, spiky, toInt16, worstDiff } from './data.js';

function dest(C: number, S: number, capacityMs: number) {
  return {
    numChannels: C, samplesPerMs: S, capacityMs,
    data: new Float32Array(capacityMs * C * S), minVal: new Float32Array(capacityMs * C), minPos: new Int32Array(capacityMs * C),
  };
}

describe('filter constants', () => {
  it('widths follow spec §3', () => {
    expect(filterWidths(30)).toEqual({ narrow: 3, wide: 6 });
    expect(filterWidths(20)).toEqual({ narrow: 2, wide: 4 });
    expect(filterWidths(25)).toEqual({ narrow: 2, wide: 5 });
    expect(filterWidths(8)).toEqual({ narrow: 0, wide: 1 });
    expect(filterHalo(30)).toBe(24);
    expect(() => filterWidths(0)).toThrow(/samplesPerMs/);
  });

  it('dogTaps is the closed-form kernel, symmetric, summing to 0', () => {
    for (const S of [20, 25, 30, 40]) {
      const taps = dogTaps(S);
      const ref = closedFormDog(S);
      expect(taps.length).toBe(ref.length);
      expect(worstDiff(taps, ref)).toBeLessThan(1e-15);
      let sum = 0;
      for (let j = 0; j < taps.length; j++) {
        expect(taps[j]).toBe(taps[taps.length - 1 - j]);
        sum += taps[j];
      }
      expect(Math.abs(sum)).toBeLessThan(1e-15);
    }
    expect(Array.from(boxPower(1, 2))).toEqual([1, 2, 3, 2, 1]);
  });
});

describe('dogFilterReference', () => {
  it('an impulse gives the symmetric closed-form response', () => {
    for (const S of [20, 25, 30]) {
      const C = 3;
      const h = filterHalo(S);
      const rows = 4 * h + 1;
      const x = new Float64Array(rows * C);
      const t0 = 2 * h;
      x[t0 * C + 1] = 1000;
      const y = dogFilterReference(x, C, S, -1);
      const kernel = closedFormDog(S);
      // Output row i is input row i + h; the response to an impulse at t0 is -1000 * kernel.
      for (let j = -h; j <= h; j++) {
        const v = y[(t0 - h + j) * C + 1];
        const want = -1000 * kernel[h + j];
        expect(Math.abs(v - want)).toBeLessThanOrEqual(Math.abs(want) * 2 ** -23 + 1e-12);
        expect(v).toBe(y[(t0 - h - j) * C + 1]);
        expect(y[(t0 - h + j) * C]).toBe(0);
      }
    }
  });

  it('constant, linear and slow sinusoidal drift filter to ~0', () => {
    const S = 30;
    const C = 2;
    const rows = 3000;
    const constant = new Float64Array(rows * C).fill(1234);
    expect(maxAbs(dogFilterReference(constant, C, S, -1))).toBeLessThan(1e-9 * 1234);
    const ramp = new Float64Array(rows * C);
    for (let t = 0; t < rows; t++) { ramp[t * C] = t; ramp[t * C + 1] = -3 * t + 17; }
    expect(maxAbs(dogFilterReference(ramp, C, S, -1))).toBeLessThan(1e-3);
    // A 1 Hz, 1000-unit sine at 30 kHz: the DoG keeps only (var_w - var_n)/2 * x'' (tiny).
    const sine = new Float64Array(rows * C);
    const omega = (2 * Math.PI) / 30000;
    for (let t = 0; t < rows; t++) sine[t * C] = sine[t * C + 1] = 1000 * Math.sin(omega * t);
    const { narrow: n, wide: w } = filterWidths(S);
    const varDiff = (4 * w * (w + 1)) / 3 - (4 * n * (n + 1)) / 3;
    const bound = 0.5 * varDiff * 1000 * omega * omega + 1e-3;  // + float32 rounding of the input
    const y = dogFilterReference(sine, C, S, -1);
    console.log(`slow drift: max |y| = ${maxAbs(y).toExponential(2)} (bound ${bound.toExponential(2)})`);
    expect(maxAbs(y)).toBeLessThan(bound);
  });

  it('polarity scales the output linearly', () => {
    const S = 25;
    const C = 4;
    const x = spiky(2000, C, S, 7);
    const a = dogFilterReference(x, C, S, -1);
    const b = dogFilterReference(x, C, S, 1);
    const c = dogFilterReference(x, C, S, -2.5);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]).toBe(-a[i]);
      expect(Math.abs(c[i] - 2.5 * a[i])).toBeLessThanOrEqual(Math.abs(c[i]) * 2 ** -22 + 1e-30);
    }
  });

  it('with n = 0 (fs < 10 kHz) the narrow term is the identity, with w = 0 everything is 0', () => {
    const C = 4;  // a power of two: the reference dropped the narrow term here, we must not
    const x = spiky(400, C, 8, 3);
    const y = dogFilterReference(x, C, 8, -1);
    const h = filterHalo(8);
    // y = -(G_1(x)/81 - x)
    const g = closedFormDog(8);
    for (let t = 0; t < 50; t++) {
      let want = 0;
      for (let j = 0; j < g.length; j++) want += g[j] * x[(t + j) * C + 2];
      expect(Math.abs(y[t * C + 2] + want)).toBeLessThan(1e-3);
    }
    expect(h).toBe(4);
    expect(maxAbs(dogFilterReference(x, C, 4, -1))).toBe(0);
  });
});

describe('filterBlocksCpu (fast path)', () => {
  for (const S of [20, 25, 30]) {
    it(`matches the reference exactly on int16 data, S=${S}, in (ms, C, S) layout with minima`, () => {
      const C = 37;
      const firstMs = 5;
      const numMs = 90;
      const r = cpuInputRange(firstMs, numMs, S);
      const x = toInt16(spiky(r.end, C, S, S));
      const d = dest(C, S, numMs + 2);
      filterBlocksCpu(x, 0, firstMs, numMs, -1, d, 2, 0, C, new FilterScratch());
      const h = filterHalo(S);
      const ref = toMsLayout(dogFilterReference(x.subarray((firstMs * S - h) * C, ((firstMs + numMs) * S + h) * C), C, S, -1), C, S, numMs);
      expect(worstDiff(ref, d.data, 2 * C * S)).toBe(0);
      const mm = msMinimaReference(d.data, numMs, C, S, 2);
      for (let i = 0; i < numMs * C; i++) {
        expect(d.minVal[2 * C + i]).toBe(mm.minVal[i]);
        expect(d.minPos[2 * C + i]).toBe(mm.minPos[i]);
      }
    });
  }

  it('the float path matches the reference within float32 rounding and is chunk-invariant', () => {
    const S = 30;
    const C = 5;
    const firstMs = 1;
    const numMs = 120;
    const r = cpuInputRange(firstMs, numMs, S);
    const xi = spiky(r.end, C, S, 11);
    const x = Float32Array.from(xi, (v) => 0.195 * v + 1000.3);
    const one = dest(C, S, numMs);
    const sc = new FilterScratch();
    filterBlocksCpu(x, 0, firstMs, numMs, -1, one, 0, 0, C, sc);
    const h = filterHalo(S);
    const ref = toMsLayout(dogFilterReference(x.subarray((firstMs * S - h) * C, r.end * C), C, S, -1), C, S, numMs);
    const worst = worstDiff(ref, one.data);
    console.log(`float path vs reference: worst |diff| = ${worst.toExponential(2)} (max |y| ${maxAbs(ref).toFixed(1)})`);
    expect(worst).toBeLessThan(1e-5);
    const parts = dest(C, S, numMs);
    for (const [m0, n] of [[1, 7], [8, 40], [48, 1], [49, 72]]) {
      filterBlocksFloat(x, 0, m0, n, -1, parts, m0 - 1, 0, C, sc);
    }
    expect(worstDiff(one.data, parts.data)).toBe(0);
    expect(worstDiff(one.minPos, parts.minPos)).toBe(0);
  });

  it('channel ranges compose and the input may start anywhere before the range', () => {
    const S = 20;
    const C = 40;
    const firstMs = 60;
    const numMs = 33;
    const x = toInt16(noise(3000, C, 500, 5));
    const a = dest(C, S, numMs);
    const b = dest(C, S, numMs);
    const sc = new FilterScratch();
    filterBlocksCpu(x, 0, firstMs, numMs, 1, a, 0, 0, C, sc);
    const r = cpuInputRange(firstMs, numMs, S);
    const sub = x.subarray(r.start * C, r.end * C);
    filterBlocksCpu(sub, r.start, firstMs, numMs, 1, b, 0, 0, 17, sc);
    filterBlocksCpu(sub, r.start, firstMs, numMs, 1, b, 0, 17, C, sc);
    expect(worstDiff(a.data, b.data)).toBe(0);
    expect(() => filterBlocksCpu(sub, r.start + 1, firstMs, numMs, 1, b, 0, 0, C, sc)).toThrow(/do not cover/);
  });
});

describe('WebAssembly SIMD kernel', () => {
  it('is bit-identical to the TypeScript integer path (int16 and uint16, any channel count)', () => {
    expect(wasmSimdAvailable()).toBe(true);  // Node >= 16.4 always has it
    // From 128 channels through the tile of rows (TILE_GROUPS), its last tile partly filled at
    // 150 and 131 channels.
    for (const [C, S, unsigned] of [[4, 30, false], [7, 20, false], [13, 25, true], [64, 40, false], [3, 30, false], [33, 30, true],
      [128, 30, false], [150, 30, true], [131, 20, false]] as const) {
      const firstMs = 3;
      const numMs = 70;
      const r = cpuInputRange(firstMs, numMs, S);
      const xf = noise(r.end, C, 3000, C * S);
      const x = unsigned ? Uint16Array.from(xf, (v) => v + 32768) : toInt16(xf);
      const a = dest(C, S, numMs + 1);
      const b = dest(C, S, numMs + 1);
      filterBlocksInt(x, 0, firstMs, numMs, -0.7, a, 1, 0, C, new FilterScratch());
      const used = filterBlocksWasm(x, 0, firstMs, numMs, -0.7, b, 1, 0, C, new WasmFilterState());
      expect(used).toBe(Math.floor(C / 4) * 4);
      if (!used) continue;
      // The kernel leaves the channels past the last group of four to the TypeScript path.
      if (used < C) filterBlocksInt(x, 0, firstMs, numMs, -0.7, b, 1, used, C, new FilterScratch());
      for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) expect.fail(`C=${C} S=${S}: data[${i}] ${a.data[i]} vs ${b.data[i]}`);
      expect(worstDiff(a.minVal, b.minVal)).toBe(0);
      expect(worstDiff(a.minPos, b.minPos)).toBe(0);
    }
  });
});

describe('WebAssembly SIMD kernel with exactBelow (pass 1 after the thresholds)', () => {
  it('gives the exact minimum and position wherever it is below exactBelow, a larger value elsewhere', () => {
    for (const [C, S, unsigned, polarity] of [[8, 30, false, -1], [13, 25, true, -0.7], [36, 30, false, 1], [5, 20, true, -1 / 0.195], [141, 30, false, -1]] as const) {
      const firstMs = 3;
      const numMs = 200;
      const r = cpuInputRange(firstMs, numMs, S);
      const xf = spiky(r.end, C, S, 7 * C + S);
      const x = unsigned ? Uint16Array.from(xf, (v) => v + 32768) : toInt16(xf);
      const exact = { ...dest(C, S, numMs), data: new Float32Array(0) };
      const full = dest(C, S, numMs);
      filterBlocksInt(x, 0, firstMs, numMs, polarity, full, 0, 0, C, new FilterScratch());
      exact.minVal.set(full.minVal);
      exact.minPos.set(full.minPos);
      // Thresholds on the exact minima themselves (ties at the boundary), at a low quantile
      // (spike blocks below, most blocks above) and above every block (all recomputed).
      for (const pick of ['tie', 'quantile', 'above'] as const) {
        const thr = new Float32Array(C);
        for (let c = 0; c < C; c++) {
          const col = Array.from({ length: numMs }, (_, m) => exact.minVal[m * C + c]).sort((a, b) => a - b);
          thr[c] = pick === 'above' ? col[numMs - 1] + 1 : pick === 'tie' ? col[Math.floor(numMs / 2)] : col[Math.floor(numMs * 0.05)];
        }
        const fast = { ...dest(C, S, numMs), data: new Float32Array(0), exactBelow: thr };
        const used = filterBlocksWasm(x, 0, firstMs, numMs, polarity, fast, 0, 0, C, new WasmFilterState());
        expect(used).toBe(Math.floor(C / 4) * 4);
        if (used < C) filterBlocksInt(x, 0, firstMs, numMs, polarity, fast, 0, used, C, new FilterScratch());
        let below = 0;
        for (let i = 0; i < numMs * C; i++) {
          const c = i % C;
          if (exact.minVal[i] < thr[c]) {
            below++;
            if (!Object.is(fast.minVal[i], exact.minVal[i]) || fast.minPos[i] !== exact.minPos[i]) {
              expect.fail(`C=${C} S=${S} ${pick}: block ${i} below the threshold: ${fast.minVal[i]}@${fast.minPos[i]}, exact ${exact.minVal[i]}@${exact.minPos[i]}`);
            }
          } else if (!(fast.minVal[i] >= thr[c])) {
            expect.fail(`C=${C} S=${S} ${pick}: block ${i} is ${fast.minVal[i]}, below the threshold ${thr[c]} (exact ${exact.minVal[i]})`);
          }
        }
        expect(below).toBeGreaterThan(pick === 'above' ? numMs * C - 1 : 0);
      }
    }
  });
});

describe('WebAssembly SIMD float kernel', () => {
  it('is bit-identical to the TypeScript float path (float32, odd channel counts, n = 0)', () => {
    for (const [C, S] of [[4, 30], [7, 20], [13, 25], [2, 8], [1, 30], [33, 40]] as const) {
      const firstMs = 3;
      const numMs = 70;
      const r = cpuInputRange(firstMs, numMs, S);
      const x = Float32Array.from(noise(r.end, C, 3000, C + S), (v) => 0.195 * v + 812.3);
      const a = dest(C, S, numMs + 1);
      const b = dest(C, S, numMs + 1);
      filterBlocksFloat(x, 0, firstMs, numMs, -1 / 0.195, a, 1, 0, C, new FilterScratch());
      const used = filterBlocksWasmFloat(x, 0, firstMs, numMs, -1 / 0.195, b, 1, 0, C, new WasmFilterState());
      expect(used).toBe(Math.floor(C / 2) * 2);
      if (!used) continue;
      if (used < C) filterBlocksFloat(x, 0, firstMs, numMs, -1 / 0.195, b, 1, used, C, new FilterScratch());
      for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) expect.fail(`C=${C} S=${S}: data[${i}] ${a.data[i]} vs ${b.data[i]}`);
      expect(worstDiff(a.minVal, b.minVal)).toBe(0);
      expect(worstDiff(a.minPos, b.minPos)).toBe(0);
    }
  });
});

describe('the WebAssembly kernels writing a window in place (filter areas)', () => {
  it('give the same bits as through their own memory, for every thread area, with first samples, in pool windows and the arena', () => {
    for (const [C, S, kind] of [[7, 30, 'int16'], [13, 25, 'uint16'], [33, 30, 'float32'], [5, 20, 'float32'], [64, 30, 'int16'], [138, 30, 'int16']] as const) {
      const firstMs = 5;
      const numMs = 90;
      const r = cpuInputRange(firstMs, numMs, S);
      const xf = spiky(r.end, C, S, 3 * C + S);
      const x = kind === 'float32' ? Float32Array.from(xf, (v) => 0.195 * v + 81.3) : kind === 'uint16' ? Uint16Array.from(xf, (v) => v + 32768) : toInt16(xf);
      const polarity = kind === 'float32' ? -1 / 0.195 : -1;
      // Through the kernels' own memory into a plain window (slots 2.., first samples as pass 1 asks).
      const want = { ...dest(C, S, numMs + 2), firstSamples: new Float32Array((numMs + 2) * C) };
      const own = new FilterScratch();
      filterBlocksCpu(x, 0, firstMs, numMs, polarity, want, 2, 0, C, own);
      const areas = { count: 3, bytes: filterAreaBytes(C, S) };
      for (const where of ['pool', 'arena'] as const) {
        for (let area = 0; area < areas.count; area++) {
          let win;
          let areaStart: number;
          const memory = sharedWasmMemory(where === 'pool' ? wasmWindowLayout(C, S, numMs + 2, areas).bytes : arenaLayout(C, S, numMs + 2, 40, 2, areas).bytes)!;
          if (where === 'pool') {
            win = wasmWindowViews(memory, C, S, numMs + 2, areas);
            areaStart = wasmWindowLayout(C, S, numMs + 2, areas).areas;
          } else {
            const layout = arenaLayout(C, S, numMs + 2, 40, 2, areas);
            win = arenaBlocks(memory, layout, 0, numMs + 2);
            areaStart = layout.areaOffset;
          }
          expect(win.filterAreas?.offset).toBe(areaStart);
          const got = { ...windowBlocks(win, 2, numMs), firstSamples: new Float32Array(numMs * C) };
          const scratch = new FilterScratch();
          scratch.area = area;
          filterBlocksCpu(x, 0, firstMs, numMs, polarity, got, 0, 0, C, scratch);
          const label = `${kind} C=${C} S=${S} ${where} area ${area}`;
          const d = win.data.subarray(2 * C * S);
          for (let i = 0; i < numMs * C * S; i++) if (!Object.is(d[i], want.data[2 * C * S + i])) expect.fail(`${label}: data[${i}] ${d[i]} vs ${want.data[2 * C * S + i]}`);
          expect(worstDiff(win.minVal.subarray(2 * C), want.minVal.subarray(2 * C))).toBe(0);
          expect(worstDiff(win.minPos.subarray(2 * C), want.minPos.subarray(2 * C))).toBe(0);
          expect(worstDiff(got.firstSamples, want.firstSamples.subarray(2 * C))).toBe(0);
          // The kernels ran on the window's memory: the last grid block's input rows are in this
          // thread's area (and in no other), the slots before the destination untouched.
          const bytes = new Uint8Array(memory.buffer);
          const used = (a: number): boolean => bytes.subarray(areaStart + a * areas.bytes, areaStart + a * areas.bytes + 4096).some((v) => v !== 0);
          for (let a = 0; a < areas.count; a++) expect(used(a), `${label}: area ${a}`).toBe(a === area);
          expect(win.data.subarray(0, 2 * C * S).every((v) => v === 0)).toBe(true);
        }
      }
      // A thread without an area, or past the areas, copies as before: same bits.
      for (const area of [-1, areas.count]) {
        const memory = sharedWasmMemory(wasmWindowLayout(C, S, numMs, areas).bytes)!;
        const win = wasmWindowViews(memory, C, S, numMs, areas);
        const scratch = new FilterScratch();
        scratch.area = area;
        filterBlocksCpu(x, 0, firstMs, numMs, polarity, win, 0, 0, C, scratch);
        expect(worstDiff(win.data, want.data.subarray(2 * C * S))).toBe(0);
        expect(new Uint8Array(memory.buffer).subarray(wasmWindowLayout(C, S, numMs, areas).areas).every((v) => v === 0)).toBe(true);
      }
    }
  });
});

describe('msMinimaReference', () => {
  it('takes the first position of the minimum', () => {
    const S = 4;
    const data = Float32Array.from([3, 1, 1, 2, /* */ 0, 0, 0, 0, /* */ 5, 4, 3, -1]);
    const { minVal, minPos } = msMinimaReference(data, 3, 1, S);
    expect(Array.from(minVal)).toEqual([1, 0, -1]);
    expect(Array.from(minPos)).toEqual([1, 0, 3]);
  });
});
