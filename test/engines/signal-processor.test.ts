import { afterAll, describe, expect, it } from 'vitest';
import { filterHalo } from '../../src/stages/filter/taps.js';
import { dogFilterReference } from '../../src/stages/filter/reference.js';
import { msMinimaReference, toMsLayout } from '../../src/stages/filter/minima.js';
import { createSignalProcessor } from '../../src/engines/select.js';
import { allocateFilteredBuffer, allocateMinimaBuffer, wasmWindowLayout, wasmWindowViews, type FilteredBuffer } from '../../src/core/window.js';
import { sharedWasmMemory } from '../../src/core/wasm-memory.js';
import { GpuUnavailableError, releaseGpuContext, setAdapterRequester } from '../../src/engines/webgpu/context.js';
import { maxAbs, spiky, worstDiff, writeRecording } from './data.js';
import { copyFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recording } from '../../src/formats/recording.js';
import type { CpuSignalProcessor } from '../../src/engines/cpu/engine.js';

afterAll(async () => {
  await setAdapterRequester(null);
  await releaseGpuContext();
});

function referenceBlocks(values: Float32Array, C: number, S: number, firstMs: number, numMs: number, polarity: number): Float32Array {
  const h = filterHalo(S);
  const sub = values.subarray((firstMs * S - h) * C, ((firstMs + numMs) * S + h) * C);
  return toMsLayout(dogFilterReference(sub, C, S, polarity), C, S, numMs);
}

function expectSame(a: FilteredBuffer, b: FilteredBuffer): void {
  expect(worstDiff(a.data, b.data)).toBe(0);
  expect(worstDiff(a.minVal, b.minVal)).toBe(0);
  expect(worstDiff(a.minPos, b.minPos)).toBe(0);
}

describe('CPU signal processor', () => {
  it('filters a recording like the reference, on the calling thread and on workers, in chunks or not', async () => {
    const C = 24;
    const fs = 30000;
    const S = 30;
    const rows = 2 * fs;
    const t = writeRecording(spiky(rows, C, S, 1), C, fs, 'int16', 64);
    try {
      const values = t.rec.read({ start: 0, numSamples: rows });
      const numMs = Math.floor(rows / S) - 2;
      const want = referenceBlocks(values, C, S, 1, numMs, -1);
      const inline = await createSignalProcessor('cpu', { cpuWorkers: 0, cpuSimd: false });
      const workers = await createSignalProcessor('cpu', { cpuWorkers: 2, chunkBytes: 400_000 });
      try {
        expect(inline.backend).toBe('cpu');
        expect(workers.description).toMatch(/^cpu \((WebAssembly SIMD \+ )?TypeScript, 2 worker threads/);
        const a = allocateFilteredBuffer(C, S, numMs);
        await inline.filterBlocks(t.rec, 1, numMs, -1, a, 0);
        expect(worstDiff(want, a.data)).toBe(0);
        const mm = msMinimaReference(a.data, numMs, C, S);
        expect(worstDiff(mm.minVal, a.minVal)).toBe(0);
        expect(worstDiff(mm.minPos, a.minPos)).toBe(0);
        const b = allocateFilteredBuffer(C, S, numMs + 10);
        // Uneven pieces written at shifted slots, through the worker pool (small chunkBytes: many chunks).
        let m = 1;
        for (const n of [333, 1, 64, 900, numMs - 1298]) {
          await workers.filterBlocks(t.rec, m, n, -1, b, m - 1 + 10);
          m += n;
        }
        const shifted = { ...b, data: b.data.subarray(10 * C * S), minVal: b.minVal.subarray(10 * C), minPos: b.minPos.subarray(10 * C) };
        expectSame(a, shifted as FilteredBuffer);
        // A full window may ask for y at each block's first sample too (pass 1's kept chunks
        // and arena blocks do): the workers write it beside the samples.
        for (const engine of [inline, workers]) {
          const f = { ...allocateFilteredBuffer(C, S, numMs), firstSamples: new Float32Array(new SharedArrayBuffer(numMs * C * 4)).fill(NaN) };
          await engine.filterBlocks(t.rec, 1, numMs, -1, f, 0);
          expectSame(a, f);
          const wrong: string[] = [];
          for (let q = 0; q < numMs; q++) for (let c = 0; c < C; c++) {
            if (!Object.is(f.firstSamples[q * C + c], a.data[(q * C + c) * S])) wrong.push(`${engine.description}: ms ${q}, channel ${c}`);
          }
          expect(wrong.slice(0, 3)).toEqual([]);
        }
        // A non-shared destination still works (filtered on the calling thread).
        // The SIMD kernel (on the workers above) and the TypeScript one are bit-identical.
        const plain: FilteredBuffer = { numChannels: C, samplesPerMs: S, capacityMs: 50, data: new Float32Array(50 * C * S), minVal: new Float32Array(50 * C), minPos: new Int32Array(50 * C) };
        await workers.filterBlocks(t.rec, 101, 50, -1, plain, 0);
        expect(worstDiff(plain.data, a.data, 100 * C * S, 50 * C * S)).toBe(0);
      } finally {
        inline.dispose();
        workers.dispose();
      }
    } finally {
      t.cleanup();
    }
  });

  it('once online, the workers read their own rows of the file: plain, with a header, or a channel subset; a truncated file fails clearly', async () => {
    const C = 12;
    const fs = 30000;
    const S = 30;
    const rows = fs;
    const all = spiky(rows, C + 3, S, 4);
    const t = writeRecording(all, C + 3, fs, 'int16', 48);
    const dir = mkdtempSync(join(tmpdir(), 'spikesift-rows-'));
    try {
      // The same file read as its first C columns reversed (a subset: the worker packs the columns).
      const channels = Array.from({ length: C }, (_, c) => C - 1 - c);
      const subset = new Recording({ binaryFile: t.rec.binaryFile, dataType: 'int16', samplingFrequency: fs, header: 48, fileChannels: C + 3, channels,
        probeGeometry: channels.map((c) => [(c % 2) * 16, Math.floor(c / 2) * 20]) });
      const numMs = Math.floor(rows / S) - 2;
      const inline = await createSignalProcessor('cpu', { cpuWorkers: 0, cpuSimd: false });
      const workers = await createSignalProcessor('cpu', { cpuWorkers: 2, chunkBytes: 300_000 });
      try {
        await (workers as CpuSignalProcessor).workersOnline();
        for (const rec of [t.rec, subset]) {
          const want = allocateFilteredBuffer(rec.numChannels, S, numMs);
          await inline.filterBlocks(rec, 1, numMs, -1, want, 0);
          const got = allocateFilteredBuffer(rec.numChannels, S, numMs);
          await workers.filterBlocks(rec, 1, numMs, -1, got, 0);
          expectSame(want, got);
        }
        // Each job read in pieces of one or two grid blocks (32 ms) instead of 8 MiB at once.
        for (const pieceBytes of [1, 40_000]) {
          (workers as CpuSignalProcessor).readPieceBytes = pieceBytes;
          for (const rec of [t.rec, subset]) {
            const want = allocateFilteredBuffer(rec.numChannels, S, numMs);
            await inline.filterBlocks(rec, 1, numMs, -1, want, 0);
            const got = allocateFilteredBuffer(rec.numChannels, S, numMs + 3);
            await workers.filterBlocks(rec, 5, numMs - 4, -1, got, 7);
            await workers.filterBlocks(rec, 1, 4, -1, got, 3);
            expectSame(want, { ...got, data: got.data.subarray(3 * rec.numChannels * S), minVal: got.minVal.subarray(3 * rec.numChannels), minPos: got.minPos.subarray(3 * rec.numChannels) } as FilteredBuffer);
          }
        }
        (workers as CpuSignalProcessor).readPieceBytes = 8 << 20;
        // Minima-only requests (pass 1): each worker reads its rows straight into the integer
        // kernel's own memory, a grid block at a time. The same minima and first samples and,
        // with exactBelow, the same minima below it; at 130 channels through the kernel's tile.
        const wideRec = writeRecording(spiky(rows, 130, S, 5), 130, fs, 'int16');
        try {
          for (const rec of [t.rec, subset, wideRec.rec]) {
            const Cr = rec.numChannels;
            const want = allocateFilteredBuffer(Cr, S, numMs);
            await inline.filterBlocks(rec, 1, numMs, -1, want, 0);
            const mins = allocateMinimaBuffer(Cr, S, numMs, true);
            await workers.filterBlocks(rec, 1, numMs, -1, mins, 0);
            expect(worstDiff(mins.minVal, want.minVal), `${Cr} ch`).toBe(0);
            expect(worstDiff(mins.minPos, want.minPos), `${Cr} ch`).toBe(0);
            for (let i = 0; i < numMs * Cr; i++) if (!Object.is(mins.firstSamples![i], want.data[i * S])) expect.fail(`${Cr} ch: first sample ${i}`);
            const thr = new Float32Array(Cr);
            for (let c = 0; c < Cr; c++) thr[c] = Array.from({ length: numMs }, (_, m) => want.minVal[m * Cr + c]).sort((a, b) => a - b)[Math.floor(numMs * 0.05)];
            const below = { ...allocateMinimaBuffer(Cr, S, numMs), exactBelow: thr };
            await workers.filterBlocks(rec, 1, numMs, -1, below, 0);
            let exact = 0;
            for (let i = 0; i < numMs * Cr; i++) {
              if (want.minVal[i] < thr[i % Cr]) {
                exact++;
                if (!Object.is(below.minVal[i], want.minVal[i]) || below.minPos[i] !== want.minPos[i]) expect.fail(`${Cr} ch: block ${i} below the threshold`);
              } else if (!(below.minVal[i] >= thr[i % Cr])) expect.fail(`${Cr} ch: block ${i} above the threshold came out below it`);
            }
            expect(exact).toBeGreaterThan(0);
            // With minimaCopy, the minima as they are written, positions in bytes, on the
            // workers and on the calling thread (copiesMinima).
            for (const engine of [workers, inline]) {
              expect(engine.copiesMinima).toBe(true);
              const win = allocateFilteredBuffer(Cr, S, numMs);
              const copy = { minVal: new Float32Array(new SharedArrayBuffer(numMs * Cr * 4)), minPos: new Uint8Array(new SharedArrayBuffer(numMs * Cr)) };
              await engine.filterBlocks(rec, 1, numMs, -1, { ...win, minimaCopy: copy }, 0);
              expect(worstDiff(win.minVal, want.minVal)).toBe(0);
              expect(worstDiff(copy.minVal, want.minVal), `${Cr} ch copy`).toBe(0);
              expect(worstDiff(copy.minPos, want.minPos), `${Cr} ch copy`).toBe(0);
            }
          }
        } finally {
          wideRec.cleanup();
        }
        // Into a WebAssembly window with filter areas, each worker reads its rows straight into
        // its own area, a grid block at a time, where the in-place kernels read them: the same
        // bits for int16 and float32 files, 15 channels (three past the kernels' groups of four,
        // which the TypeScript path filters from the same rows) and a column subset.
        // (Default chunks: 300-kB ones of float32 rows are too small to be worth the workers.)
        const f32 = writeRecording(Float32Array.from(all, (v) => v * 0.25), C + 3, fs, 'float32', 48);
        const wide = await createSignalProcessor('cpu', { cpuWorkers: 2 });
        try {
          await (wide as CpuSignalProcessor).workersOnline();
          for (const rec of [t.rec, subset, f32.rec]) {
            const Cr = rec.numChannels;
            const areas = wide.filterAreas!(Cr, S)!;
            const memory = sharedWasmMemory(wasmWindowLayout(Cr, S, numMs + 3, areas).bytes)!;
            const got = wasmWindowViews(memory, Cr, S, numMs + 3, areas);
            const want = allocateFilteredBuffer(Cr, S, numMs);
            await inline.filterBlocks(rec, 1, numMs, -1, want, 0);
            await wide.filterBlocks(rec, 5, numMs - 4, -1, got, 7);
            await wide.filterBlocks(rec, 1, 4, -1, got, 3);
            expectSame(want, { ...got, data: got.data.subarray(3 * Cr * S), minVal: got.minVal.subarray(3 * Cr), minPos: got.minPos.subarray(3 * Cr) } as FilteredBuffer);
            // Both workers' areas hold input rows (the calling thread filters the small request in its own).
            const bytes = new Uint8Array(memory.buffer);
            const used = (a: number): boolean => bytes.subarray(got.filterAreas!.offset + a * areas.bytes, got.filterAreas!.offset + (a + 1) * areas.bytes).some((v) => v !== 0);
            expect([0, 1].map(used), `${rec.dataType} ${Cr} ch`).toEqual([true, true]);
          }
        } finally {
          wide.dispose();
          f32.cleanup();
        }
        // A file cut short after the recording was opened: the worker's read names the file.
        const cut = join(dir, 'cut.bin');
        copyFileSync(t.rec.binaryFile, cut);
        const short = new Recording({ binaryFile: cut, dataType: 'int16', samplingFrequency: fs, header: 48, probeGeometry: t.rec.probeGeometry });
        truncateSync(cut, 48 + 2 * (C + 3) * 1000);
        await expect(workers.filterBlocks(short, 1, numMs, -1, allocateFilteredBuffer(C + 3, S, numMs), 0)).rejects.toThrow(/unexpected end of .*cut\.bin/);
      } finally {
        inline.dispose();
        workers.dispose();
      }
    } finally {
      t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads every supported dtype through the float or integer path', async () => {
    const C = 5;
    const fs = 20000;
    const S = 20;
    const rows = 4000;
    const base = spiky(rows, C, S, 9);
    const p = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    try {
      for (const dt of ['int16', 'int8', 'uint8', 'uint16', 'int32', 'float32', 'float64'] as const) {
        const vals = base.map((v) => (dt === 'int8' ? Math.max(-128, Math.min(127, Math.round(v / 8)))
          : dt === 'uint8' ? Math.max(0, Math.min(255, Math.round(v / 8 + 128)))
          : dt === 'uint16' ? v + 30000 : dt === 'float64' ? v * 0.37 + 0.01 : v));
        const t = writeRecording(vals, C, fs, dt);
        try {
          const numMs = Math.floor(rows / S) - 2;
          const buf = allocateFilteredBuffer(C, S, numMs);
          await p.filterBlocks(t.rec, 1, numMs, -1, buf, 0);
          const want = referenceBlocks(t.rec.read({ start: 0, numSamples: rows }), C, S, 1, numMs, -1);
          const worst = worstDiff(want, buf.data);
          // Integer types are exact; float types differ only by float64 rounding of the running sums.
          expect(worst, dt).toBeLessThanOrEqual(maxAbs(want) * 1e-6);
        } finally {
          t.cleanup();
        }
      }
    } finally {
      p.dispose();
    }
  });

  it('rejects invalid requests with errors naming the argument', async () => {
    const t = writeRecording(spiky(3000, 4, 30, 2), 4, 30000, 'int16');
    const p = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    try {
      const buf = allocateFilteredBuffer(4, 30, 10);
      await expect(p.filterBlocks(t.rec, 0, 5, -1, buf, 0)).rejects.toThrow(/firstMs/);
      await expect(p.filterBlocks(t.rec, 95, 5, -1, buf, 0)).rejects.toThrow(/halo/);
      await expect(p.filterBlocks(t.rec, 1, 5, -1, buf, 6)).rejects.toThrow(/capacityMs/);
      await expect(p.filterBlocks(t.rec, 1, 5, 0, buf, 0)).rejects.toThrow(/polarity/);
      await expect(p.filterBlocks(t.rec, 1, 5, -1, allocateFilteredBuffer(5, 30, 10), 0)).rejects.toThrow(/channels/);
      expect(() => allocateFilteredBuffer(4, 30, 0)).toThrow(/capacityMs/);
    } finally {
      p.dispose();
      t.cleanup();
    }
    await expect(createSignalProcessor('gpu' as never)).rejects.toThrow(/backend must be one of/);
  });
});

describe('backend selection', () => {
  it("'webgpu' without an adapter throws what to install; 'auto' falls back to the CPU and says why", async () => {
    await setAdapterRequester(async () => null);
    const err = await createSignalProcessor('webgpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect((err as Error).message).toMatch(/npm run setup/);
    expect((err as Error).message).toMatch(/lavapipe/);
    expect((err as Error).message).toMatch(/Mesa >= 25/);
    const lines: string[] = [];
    const auto = await createSignalProcessor('auto', { log: (l) => lines.push(l), cpuWorkers: 0 });
    expect(auto.backend).toBe('cpu');
    expect(auto.description).toMatch(/no WebGPU adapter/);
    expect(lines.join('\n')).toContain(auto.description);
    auto.dispose();
  });

  it("'auto' does not use a software adapter, and falls back when a hardware device fails", async () => {
    const fakeAdapter = (description: string, fallback: boolean) => ({
      info: { vendor: 'v', architecture: '', device: '', description, isFallbackAdapter: fallback },
      limits: {},
      requestDevice: async () => { throw new Error('device creation refused (test)'); },
    }) as unknown as GPUAdapter;
    await setAdapterRequester(async () => fakeAdapter('llvmpipe (LLVM 15.0.6, 256 bits)', false));
    const soft = await createSignalProcessor('auto', { cpuWorkers: 0 });
    expect(soft.backend).toBe('cpu');
    expect(soft.description).toMatch(/software renderer/);
    soft.dispose();
    await setAdapterRequester(async () => fakeAdapter('Fake Discrete GPU', false));
    const hw = await createSignalProcessor('auto', { cpuWorkers: 0 });
    expect(hw.backend).toBe('cpu');
    expect(hw.description).toMatch(/Fake Discrete GPU.*failed: .*refused/);
    hw.dispose();
    await expect(createSignalProcessor('webgpu')).rejects.toThrow(/could not create a WebGPU device on Fake Discrete GPU/);
    await setAdapterRequester(null);
  });
});
