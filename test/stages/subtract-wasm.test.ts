import { describe, expect, it } from 'vitest';
import { cpuSortKernels, meanWindows, subtractAndRescan } from '../../src/stages/sort/kernels-cpu.js';
import { meanWindowsWasm, subtractAndRescanWasm } from '../../src/stages/sort/subtract-wasm.js';
import { wasmWindowFromDescriptor, wasmWindowLayout, wasmWindowViews } from '../../src/core/window.js';
import { sharedWasmMemory } from '../../src/core/wasm-memory.js';
import { WindowPool } from '../../src/pipeline/window-pool.js';
import { mulberry32 as rng } from '../random.js';

/** Two copies of one window: plain arrays (the TypeScript definition) and a WebAssembly one. */
function windows(C: number, S: number, M: number, seed: number, base = 0) {
  const layout = wasmWindowLayout(C, S, M);
  const memory = sharedWasmMemory(base + layout.bytes)!;
  // At byte `base` of the memory (above 2 GiB: the kernels' addresses must be unsigned).
  const n4 = M * C * 4;
  const w = base === 0 ? wasmWindowViews(memory, C, S, M) : wasmWindowFromDescriptor({
    memory, numChannels: C, samplesPerMs: S, numMs: M, data: base, minVal: base + layout.rows, minPos: base + layout.rows + n4,
    minValT: base + layout.rows + 2 * n4, minPosT: base + layout.rows + 3 * n4, scratch: base + layout.scratch, scratchBytes: layout.scratchBytes,
  });
  const r = rng(seed);
  // Values on a coarse grid, so blocks have tied minima (first position wins), with a few
  // -0 / +0 ties and one NaN block.
  for (let i = 0; i < w.data.length; i++) w.data[i] = Math.round((r() * 2 - 1) * 8) / 4;
  for (let i = 0; i < w.data.length; i += 97) w.data[i] = i % 2 ? 0 : -0;
  w.data[(5 * C + 3) * S + 7] = NaN;
  const plain = { numChannels: C, samplesPerMs: S, buf: { numChannels: C, samplesPerMs: S, capacityMs: M, data: w.data.slice(), minVal: new Float32Array(M * C), minPos: new Int32Array(M * C) }, numMs: M, minValT: new Float32Array(M * C), minPosT: new Int32Array(M * C) };
  const wasm = { numChannels: C, samplesPerMs: S, buf: w, numMs: M, minValT: w.wasm!.minValT, minPosT: w.wasm!.minPosT };
  for (const seg of [plain, wasm]) {
    for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) {
      const base = (m * C + c) * S;
      let mv = seg.buf.data[base];
      let mp = 0;
      for (let s = 1; s < S; s++) if (seg.buf.data[base + s] < mv) { mv = seg.buf.data[base + s]; mp = s; }
      seg.buf.minVal[m * C + c] = mv; seg.buf.minPos[m * C + c] = mp;
      seg.minValT[c * M + m] = mv; seg.minPosT[c * M + m] = mp;
    }
  }
  return { memory, plain, wasm };
}

describe('channelScores on a WebAssembly window', () => {
  it('transposes the minima in SIMD (4 x 4 blocks, the edges past multiples of 4 in TypeScript) bit for bit, scores alike', async () => {
    const kernels = cpuSortKernels();
    for (const [C, S, M, base] of [[70, 30, 133, 0], [64, 30, 128, 0], [5, 20, 3, 0], [3, 30, 9, 0], [131, 25, 70, 0], [70, 30, 133, 2 ** 31 + 65536]] as const) {
      const { plain, wasm } = windows(C, S, M, C * 7 + M, base);
      // A NaN and signed zeros among the minima, and stale transposed rows to overwrite.
      wasm.buf.minVal[Math.min(M * C - 1, 2 * C + 1)] = NaN;
      plain.buf.minVal[Math.min(M * C - 1, 2 * C + 1)] = NaN;
      wasm.buf.minVal[0] = -0;
      plain.buf.minVal[0] = -0;
      wasm.minValT.fill(7);
      wasm.minPosT.fill(-1);
      const thr = Float32Array.from({ length: C }, (_, c) => -0.5 - (c % 5) / 4);
      const want = await kernels.channelScores(plain, thr);
      const got = await kernels.channelScores(wasm, thr);
      const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`C=${C} M=${M}: ${what}[${i}] ${a[i]} vs ${b[i]}`);
      };
      same(plain.minValT, wasm.minValT.subarray(0, M * C), 'minValT');
      same(plain.minPosT, wasm.minPosT.subarray(0, M * C), 'minPosT');
      same(want, got, 'score');
    }
  });
});

describe('subtractAndRescanWasm', () => {
  it('is bit-identical to the TypeScript definition: data, both minima layouts and scores (also for a window above 2 GiB)', () => {
    for (const [C, S, M, A, base] of [[16, 30, 60, 5, 0], [7, 20, 45, 7, 0], [40, 25, 50, 12, 0], [5, 3, 40, 2, 0], [16, 30, 60, 5, 2 ** 31 + 65536]] as const) {
      const { memory, plain, wasm } = windows(C, S, M, C * 31 + S, base);
      const r = rng(S);
      // Spikes in blocks 2..M-3, ascending, some overlapping (blocks rescanned twice).
      const spikes = Int32Array.from({ length: 40 }, (_, i) => 2 * S + Math.floor(((M - 5) * S * i) / 40 + r() * 2 * S)).sort();
      const affected = Int32Array.from({ length: A }, (_, a) => Math.min(C - 1, a * 2 + (C > 2 * A ? 1 : 0))).filter((c, i, arr) => i === 0 || c > arr[i - 1]);
      const means = Float32Array.from({ length: affected.length * 4 * S }, () => Math.round((r() * 2 - 1) * 6) / 8);
      const thr = Float32Array.from({ length: C }, () => -0.5 - r());
      const s1 = Float64Array.from({ length: C }, () => -r() * 10);
      const s2 = s1.slice();
      subtractAndRescan(plain, spikes, affected, means, thr, s1);
      const w = wasm.buf.wasm!;
      expect(subtractAndRescanWasm(memory, w.scratch, w.scratchBytes, wasm, spikes, affected, means, thr, s2)).toBe(true);
      const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`C=${C} S=${S}: ${what}[${i}] ${a[i]} vs ${b[i]}`);
      };
      same(plain.buf.data, wasm.buf.data, 'data');
      same(plain.buf.minVal, wasm.buf.minVal, 'minVal');
      same(plain.buf.minPos, wasm.buf.minPos, 'minPos');
      same(plain.minValT, wasm.minValT, 'minValT');
      same(plain.minPosT, wasm.minPosT, 'minPosT');
      same(s1, s2, 'score');
    }
  });

  it('meanWindowsWasm gives the TypeScript means bit for bit (odd and even run lengths; also above 2 GiB)', () => {
    for (const [C, S, M, base] of [[16, 30, 60, 0], [7, 25, 45, 0], [5, 3, 40, 0], [16, 30, 60, 2 ** 31 + 65536]] as const) {
      const { memory, plain, wasm } = windows(C, S, M, C + 5 * S, base);
      wasm.buf.data[(5 * C + 3) * S + 7] = 1.5;   // no NaN here: a NaN would be a NaN in both
      plain.buf.data[(5 * C + 3) * S + 7] = 1.5;
      const r = rng(C);
      const spikes = Int32Array.from({ length: 30 }, (_, i) => 2 * S + Math.floor(((M - 5) * S * i) / 30 + r() * S)).sort();
      const affected = Int32Array.of(0, 2, 3, C - 1);
      const w = wasm.buf.wasm!;
      const a = meanWindows(plain.buf, spikes, affected);
      const b = meanWindowsWasm(memory, w.scratch, w.scratchBytes, wasm.buf, spikes, affected)!;
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`C=${C} S=${S}: mean[${i}] ${a[i]} vs ${b[i]}`);
    }
  });

  it('refuses spikes whose blocks leave the window and channels outside it (the kernel would address another array)', () => {
    const { memory, wasm } = windows(8, 30, 20, 5);
    const w = wasm.buf.wasm!;
    const call = (spike: number, channel: number) => () => subtractAndRescanWasm(memory, w.scratch, w.scratchBytes, wasm, Int32Array.of(spike), Int32Array.of(channel), new Float32Array(120), new Float32Array(8), new Float64Array(8));
    expect(call(59, 1)).toThrow(/ms 1\) is not in ms 2\.\.17/);
    expect(call(18 * 30, 1)).toThrow(/ms 18\) is not in ms 2\.\.17/);
    expect(call(300, 8)).toThrow(/channel 8 is not in 0\.\.7/);
    expect(() => meanWindowsWasm(memory, w.scratch, w.scratchBytes, wasm.buf, Int32Array.of(40), Int32Array.of(0))).toThrow(/ms 1\)/);
  });

  it('refuses arrays outside its memory (the caller then runs the TypeScript definition)', () => {
    const { memory, plain } = windows(8, 30, 20, 3);
    expect(subtractAndRescanWasm(memory, 0, 1 << 16, plain, Int32Array.of(300), Int32Array.of(1), new Float32Array(120), new Float32Array(8), new Float64Array(8))).toBe(false);
    // Shared, as large as the memory, and elsewhere.
    const elsewhere = { ...plain, buf: { ...plain.buf, data: new Float32Array(new SharedArrayBuffer(memory.buffer.byteLength), 0, plain.buf.data.length) } };
    expect(subtractAndRescanWasm(memory, 0, 1 << 16, elsewhere, Int32Array.of(300), Int32Array.of(1), new Float32Array(120), new Float32Array(8), new Float64Array(8))).toBe(false);
  });

  it('runs on a window whose memory has a new buffer object since another shared memory grew', () => {
    const { memory, plain, wasm } = windows(8, 30, 20, 11);
    const other = sharedWasmMemory(65536, 4 * 65536)!;
    other.grow(1);
    // V8 gives every shared memory of the thread a new buffer object when any of them grows:
    // the window's arrays are views of the older one (same bytes).
    expect(memory.buffer).not.toBe(wasm.buf.data.buffer);
    const w = wasm.buf.wasm!;
    const spikes = Int32Array.of(90, 200, 330);
    const affected = Int32Array.of(1, 4);
    const means = Float32Array.from({ length: 2 * 4 * 30 }, (_, i) => ((i % 7) - 3) / 8);
    const thr = new Float32Array(8).fill(-0.75);
    const s1 = new Float64Array(8);
    const s2 = new Float64Array(8);
    expect(meanWindowsWasm(memory, w.scratch, w.scratchBytes, wasm.buf, spikes, affected)).toEqual(meanWindows(plain.buf, spikes, affected));
    subtractAndRescan(plain, spikes, affected, means, thr, s1);
    expect(subtractAndRescanWasm(memory, w.scratch, w.scratchBytes, wasm, spikes, affected, means, thr, s2)).toBe(true);
    expect(Array.from(wasm.buf.data)).toEqual(Array.from(plain.buf.data));
    expect(Array.from(wasm.minValT)).toEqual(Array.from(plain.minValT));
    expect(Array.from(s2)).toEqual(Array.from(s1));
  });
});

describe('WindowPool', () => {
  it('hands out WebAssembly windows that grow in place for longer segments and stay within the budget', () => {
    const C = 8, S = 30;
    const per = wasmWindowLayout(C, S, 900).bytes;
    const pool = new WindowPool(C, S, 900, 2 * per);
    const a = pool.tryAcquire(300)!;
    expect(a.wasm).toBeDefined();
    expect(a.capacityMs).toBe(300);
    const b = pool.tryAcquire(900)!;
    expect(b.wasm).toBeDefined();
    // Two windows of the longest segment exhaust the budget.
    expect(pool.tryAcquire(100)).toBeNull();
    a.data[0] = 42;
    pool.release(a);
    const c = pool.tryAcquire(900)!;
    // The same memory, grown: its first sample is still there.
    expect(c.wasm!.memory).toBe(a.wasm!.memory);
    expect(c.data[0]).toBe(42);
    expect(c.data.length).toBe(900 * C * S);
    expect(pool.peakBytes).toBeLessThanOrEqual(2 * per);
    const plain = new WindowPool(C, S, 900, 2 * per, false).tryAcquire(300)!;
    expect(plain.wasm).toBeUndefined();
  });

  it('places a second segment at the free end of a busy window, its overlap gated on the first one\'s release', async () => {
    const C = 8, S = 30, cap = 900;
    const layout = wasmWindowLayout(C, S, cap);
    const pool = new WindowPool(C, S, cap, layout.bytes, true, null, true);
    const a = pool.tryAcquire(400)!;
    // The budget holds one window: no second memory, but its other end.
    expect(pool.tryAcquire(300)).toBeNull();
    const b = pool.placeBeside(600)!;
    expect(b.win.wasm!.memory).toBe(a.wasm!.memory);
    // At slots [300, 900) of the capacity layout: its first 100 ms overlap a's [0, 400).
    expect([b.waitFrom, b.waitTo]).toEqual([0, 100]);
    expect(b.win.data.byteOffset).toBe(300 * C * S * 4);
    expect(b.win.data.length).toBe(600 * C * S);
    expect(b.win.minVal.byteOffset).toBe(layout.rows + 300 * C * 4);
    expect(b.win.minPos.byteOffset).toBe(layout.rows + cap * C * 4 + 300 * C * 4);
    // The loop's workspace is the memory's one: the two sort one after the other.
    expect(b.win.wasm!.minValT.byteOffset).toBe(a.wasm!.minValT.byteOffset);
    a.data[400 * C * S - 1] = 7;
    expect(b.win.data[100 * C * S - 1]).toBe(7);
    b.win.data[600 * C * S - 1] = 5;
    expect(new Float32Array(a.wasm!.memory.buffer)[cap * C * S - 1]).toBe(5);
    // Two segments fill it.
    expect(pool.placeBeside(100)).toBeNull();
    let released = false;
    void b.waitFor.then(() => { released = true; });
    await Promise.resolve();
    expect(released).toBe(false);
    pool.release(a);
    await b.waitFor;
    expect(released).toBe(true);
    // Opposite b (which starts at slot 300): at the start, its slots [300, 500) overlapping b's.
    const c = pool.placeBeside(500)!;
    expect(c.win.data.byteOffset).toBe(0);
    expect([c.waitFrom, c.waitTo]).toEqual([300, 500]);
    pool.release(b.win);
    pool.release(c.win);
    // Free again: a whole window from slot 0, and segments that do not overlap wait for nothing.
    const d = pool.tryAcquire(450)!;
    expect(d.data.byteOffset).toBe(0);
    const e = pool.placeBeside(450)!;
    expect([e.waitFrom, e.waitTo]).toEqual([0, 0]);
    pool.release(d);
    pool.release(e.win);
    // A window taken for the longest segment and trimmed to its own leaves the rest free.
    const f = pool.tryAcquire(cap)!;
    expect(pool.placeBeside(300)).toMatchObject({ waitFrom: 0, waitTo: 300 });
    const g = new WindowPool(C, S, cap, layout.bytes, true, null, true);
    const h = g.tryAcquire(cap)!;
    g.trim(h, 500);
    expect(g.placeBeside(300)).toMatchObject({ waitFrom: 0, waitTo: 0 });
    pool.release(f);
    expect(pool.peakBytes).toBe(layout.bytes);
  });
});
