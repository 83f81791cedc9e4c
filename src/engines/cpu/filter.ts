/**
 * Difference-of-Gaussians filtering (spec §3), TypeScript path.
 *
 * Two functions with the same mathematics:
 * - `dogFilterReference`: the readable definition, sample-major in and out.
 * - `filterBlocksCpu`: the fast path used by the CPU backend; writes the (ms, channel, S)
 *   layout with per-ms minima (spec §4) straight into a FilteredBuffer. It dispatches to an
 *   exact integer path (int8/16 types) or a float64 running-sum path, each with a
 *   WebAssembly SIMD twin in filter-wasm.ts that gives the same bits ~5x faster.
 *
 * Accuracy: the spec's reference cascades running sums in float32, which drift by 1e-3..2e-2
 * over a 10 s block. Here every box sum is a running sum in float64 that restarts at least
 * every ~1000 samples, on inputs first rounded to float32 (as the spec's "all arithmetic on
 * signals is float32" input). For integer inputs every intermediate value is an integer below
 * 2^53, so the cascade is exact and only the final division and float32 rounding remain; for
 * float inputs the float64 rounding is ~1e-16 relative, far below the float32 output's ulp.
 */
import { filterHalo, filterWidths } from '../../stages/filter/taps.js';
import { boxPass } from '../../stages/filter/reference.js';
import { WasmFilterState, filterBlocksWasm, filterBlocksWasmFloat } from './filter-wasm.js';
import { copyFirstSamples, cpuGridMs, gridStartMs } from './grid.js';
import type { FilteredBuffer } from '../../core/window.js';

export { cpuGridMs, gridStartMs };

/** Sample-major typed data whose values are exactly representable in float32 after `Math.fround`. */
export type SampleArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Channels gathered together from the sample-major input (one cache line of int16 per row: 32 channels). */
const CHANNEL_TILE = 16;

/** Reusable float64 work arrays of the fast path (one per thread; grows on demand, never per sample). */
export class FilterScratch {
  tile = new Float64Array(0);
  a = new Float64Array(0);
  b = new Float64Array(0);
  itile = new Int32Array(0);
  i4 = new Int32Array(0);
  /** Use the WebAssembly SIMD kernel for int16/uint16 input where the runtime has it. */
  useWasm = true;
  /**
   * This thread's filter area in windows that reserve them (core/window.ts FilterAreas): the
   * WebAssembly kernels then write such a window in place. -1: none (they copy into it).
   */
  area = -1;
  /**
   * The input of this request is one grid block's rows already in this thread's area of the
   * destination window (the filter worker read them there from the file): the in-place kernels
   * then skip copying them in.
   */
  inputInArea = false;
  /**
   * The input of this request is one grid block's rows already in the integer kernel's own
   * memory (WasmFilterState.kernelInput: the filter worker read them there): it copies nothing in.
   */
  inputInKernel = false;
  wasm: WasmFilterState | null = null;
  /** One grid block of full window, for minima-only requests on the TypeScript paths. */
  block: FilteredBuffer | null = null;
  ensure(rows: number): void {
    if (this.a.length < rows) {
      this.tile = new Float64Array(CHANNEL_TILE * rows);
      this.a = new Float64Array(rows);
      this.b = new Float64Array(rows);
    }
  }
  ensureInt(rows: number, pad: number): void {
    if (this.itile.length < CHANNEL_TILE * rows) this.itile = new Int32Array(CHANNEL_TILE * rows);
    if (this.i4.length < rows + pad) this.i4 = new Int32Array(rows + pad);
    // I4 before the block start is zero (x = 0 there); a previous call may have written it.
    this.i4.fill(0, 0, pad);
  }
}

/**
 * Fast path: filter ms blocks [firstMs, firstMs + numMs) for channels [c0, c1) and write them
 * with minima at ms slot destMs of `dest`.
 *
 * `input` holds sample-major raw values of absolute samples [inputStart, inputStart + rows);
 * it must cover `cpuInputRange(firstMs, numMs, S)`. Loops run time-block outer, channel-tile
 * inner over the sample-major input, so each input row is touched once per 16 channels while
 * it is in cache; each channel's block is then processed contiguously.
 *
 * Small integer types take an exact integer path (see `filterBlocksInt`; for int16/uint16 its
 * WebAssembly SIMD twin in filter-wasm.ts, ~7x faster), everything else the float64 running-sum
 * cascade. All give, for integer input, bit-identical results equal to `dogFilterReference`.
 */
export function filterBlocksCpu(
  input: SampleArray,
  inputStart: number,
  firstMs: number,
  numMs: number,
  polarity: number,
  dest: FilteredBuffer,
  destMs: number,
  c0: number,
  c1: number,
  scratch: FilterScratch,
): void {
  const { wide } = filterWidths(dest.samplesPerMs);
  const maxAbs = input instanceof Int16Array ? 32768 : input instanceof Uint16Array ? 65535
    : input instanceof Int8Array ? 128 : input instanceof Uint8Array ? 255 : Infinity;
  // The integer path computes each G_k exactly in wrapping int32 arithmetic, which is correct
  // whenever the true G_k fits in int32: (2w+1)^4 * max|x| < 2^31 (int16 up to fs < 38 kHz).
  const integer = (2 * wide + 1) ** 4 * maxAbs < 2 ** 31;
  // The WebAssembly kernels take the leading channel groups (and write a minima-only
  // destination directly); the TypeScript paths take the rest.
  if (scratch.useWasm && c0 === 0) {
    if (integer && (input instanceof Int16Array || input instanceof Uint16Array)) {
      scratch.wasm ??= new WasmFilterState();
      scratch.wasm.area = scratch.area;
      scratch.wasm.inputInArea = scratch.inputInArea;
      scratch.wasm.inputInKernel = scratch.inputInKernel;
      c0 = filterBlocksWasm(input, inputStart, firstMs, numMs, polarity, dest, destMs, c0, c1, scratch.wasm);
    } else if (!integer && input instanceof Float32Array) {
      scratch.wasm ??= new WasmFilterState();
      scratch.wasm.area = scratch.area;
      scratch.wasm.inputInArea = scratch.inputInArea;
      c0 = filterBlocksWasmFloat(input, inputStart, firstMs, numMs, polarity, dest, destMs, c0, c1, scratch.wasm);
    }
  }
  if (c0 >= c1) return;
  if (dest.data.length === 0) filterMinimaOnly(input, inputStart, firstMs, numMs, polarity, dest, destMs, c0, c1, scratch);
  else {
    if (integer) filterBlocksInt(input as Int16Array, inputStart, firstMs, numMs, polarity, dest, destMs, c0, c1, scratch);
    else filterBlocksFloat(input, inputStart, firstMs, numMs, polarity, dest, destMs, c0, c1, scratch);
    const { numChannels: C, samplesPerMs: S } = dest;
    if (dest.firstSamples) copyFirstSamples(dest.data.subarray(destMs * C * S), numMs, C, S, c0, c1, dest.firstSamples, destMs);
  }
}

/**
 * The TypeScript paths for a minima-only destination (empty data): each grid block is filtered
 * into a one-block scratch window and its minima copied. Grid blocks are the unit of
 * computation either way, so the minima are the same bits.
 */
function filterMinimaOnly(input: SampleArray, inputStart: number, firstMs: number, numMs: number, polarity: number,
  dest: FilteredBuffer, destMs: number, c0: number, c1: number, scratch: FilterScratch): void {
  const C = dest.numChannels;
  const S = dest.samplesPerMs;
  const G = cpuGridMs(S);
  if (scratch.block === null || scratch.block.numChannels !== C || scratch.block.samplesPerMs !== S) {
    scratch.block = {
      numChannels: C, samplesPerMs: S, capacityMs: G,
      data: new Float32Array(G * C * S), minVal: new Float32Array(G * C), minPos: new Int32Array(G * C),
    };
  }
  const block = scratch.block;
  const wasm = scratch.useWasm;
  scratch.useWasm = false;  // only the channels [c0, c1) the caller left to the TypeScript paths
  const endMs = firstMs + numMs;
  for (let gs = gridStartMs(firstMs, S); gs < endMs; gs += G) {
    const m0 = Math.max(gs, firstMs);
    const m1 = Math.min(gs + G, endMs);
    const n = m1 - m0;
    filterBlocksCpu(input, inputStart, m0, n, polarity, block, 0, c0, c1, scratch);
    for (let m = 0; m < n; m++) {
      const src = m * C;
      const dst = (destMs + m0 - firstMs + m) * C;
      dest.minVal.set(block.minVal.subarray(src + c0, src + c1), dst + c0);
      dest.minPos.set(block.minPos.subarray(src + c0, src + c1), dst + c0);
    }
    if (dest.firstSamples) copyFirstSamples(block.data, n, C, S, c0, c1, dest.firstSamples, destMs + m0 - firstMs);
  }
  scratch.useWasm = wasm;
}

/**
 * Integer path (CIC form): G_k = (1 - z^-L)^4 / (1 - z^-1)^4 with L = 2k+1, i.e. four running
 * integrators shared by both filters followed by a 5-tap binomial comb per filter. Integrators
 * wrap modulo 2^32 (`|0`); because the comb output is the exact G_k value and fits in int32,
 * the wrap-around cancels and the result is exact. ~3x fewer memory operations than eight
 * box passes.
 */
export function filterBlocksInt(
  input: Int16Array | Uint16Array | Int8Array | Uint8Array,
  inputStart: number,
  firstMs: number,
  numMs: number,
  polarity: number,
  dest: FilteredBuffer,
  destMs: number,
  c0: number,
  c1: number,
  scratch: FilterScratch,
): void {
  const C = dest.numChannels;
  const S = dest.samplesPerMs;
  const { narrow: n, wide: w } = filterWidths(S);
  const G = cpuGridMs(S);
  const endMs = firstMs + numMs;
  const maxRows = G * S + 8 * w;
  const Lw = 2 * w + 1;
  const Ln = 2 * n + 1;
  const P = 4 * Lw;                              // zeros before the block: I4 of "x = 0 before it"
  scratch.ensureInt(maxRows, P);
  const tile = scratch.itile;
  const I4 = scratch.i4;
  const aw = polarity / Lw ** 4;
  const an = polarity / Ln ** 4;
  const data = dest.data;
  const minVal = dest.minVal;
  const minPos = dest.minPos;

  for (let gs = gridStartMs(firstMs, S); gs < endMs; gs += G) {
    const ge = Math.min(gs + G, endMs);
    const rowStart = gs * S - 4 * w;
    const rows = (ge - gs) * S + 8 * w;
    const r0 = rowStart - inputStart;
    if (r0 < 0 || (r0 + rows) * C > input.length) {
      throw new RangeError(`filterBlocksCpu: input rows [${inputStart}, ${inputStart + input.length / C}) do not cover [${rowStart}, ${rowStart + rows})`);
    }
    const outMs0 = Math.max(gs, firstMs);
    for (let ct = c0; ct < c1; ct += CHANNEL_TILE) {
      const nt = Math.min(CHANNEL_TILE, c1 - ct);
      for (let r = 0; r < rows; r++) {
        const base = (r0 + r) * C + ct;
        for (let j = 0; j < nt; j++) tile[j * maxRows + r] = input[base + j];
      }
      for (let j = 0; j < nt; j++) {
        const c = ct + j;
        const xo = j * maxRows;
        let i1 = 0, i2 = 0, i3 = 0, i4 = 0;
        for (let r = 0; r < rows; r++) {
          i1 = (i1 + tile[xo + r]) | 0;
          i2 = (i2 + i1) | 0;
          i3 = (i3 + i2) | 0;
          i4 = (i4 + i3) | 0;
          I4[P + r] = i4;
        }
        // Output at block row r (absolute sample rowStart + r) is the comb at I4 index
        // P + r + 4k (the causal form delays by 4k).
        for (let m = outMs0; m < ge; m++) {
          const slot = (destMs + m - firstMs) * C + c;
          const o = slot * S;
          let tw = P + (m - gs) * S + 8 * w;
          let tn = tw - 4 * (w - n);
          let mv = 0;
          let mp = 0;
          for (let s = 0; s < S; s++, tw++, tn++) {
            const gw = (I4[tw] - 4 * I4[tw - Lw] + 6 * I4[tw - 2 * Lw] - 4 * I4[tw - 3 * Lw] + I4[tw - 4 * Lw]) | 0;
            const gn = (I4[tn] - 4 * I4[tn - Ln] + 6 * I4[tn - 2 * Ln] - 4 * I4[tn - 3 * Ln] + I4[tn - 4 * Ln]) | 0;
            const y = Math.fround(aw * gw - an * gn);
            data[o + s] = y;
            if (s === 0 || y < mv) { mv = y; mp = s; }
          }
          minVal[slot] = mv;
          minPos[slot] = mp;
        }
      }
    }
  }
}

/**
 * Float path: eight float64 box passes per channel and grid block (values first rounded to
 * float32). Running sums restart at each grid block, which is what makes chunked requests
 * bit-identical to a single pass for float input too.
 */
export function filterBlocksFloat(
  input: SampleArray,
  inputStart: number,
  firstMs: number,
  numMs: number,
  polarity: number,
  dest: FilteredBuffer,
  destMs: number,
  c0: number,
  c1: number,
  scratch: FilterScratch,
): void {
  const C = dest.numChannels;
  const S = dest.samplesPerMs;
  const { narrow: n, wide: w } = filterWidths(S);
  const G = cpuGridMs(S);
  const endMs = firstMs + numMs;
  const maxRows = G * S + 8 * w;
  scratch.ensure(maxRows);
  const { tile, a, b } = scratch;
  const aw = polarity / (2 * w + 1) ** 4;
  const an = polarity / (2 * n + 1) ** 4;
  const data = dest.data;
  const minVal = dest.minVal;
  const minPos = dest.minPos;
  const shiftN = 4 * (w - n);

  for (let gs = gridStartMs(firstMs, S); gs < endMs; gs += G) {
    const ge = Math.min(gs + G, endMs);
    const rowStart = gs * S - 4 * w;
    const rows = (ge - gs) * S + 8 * w;
    const r0 = rowStart - inputStart;
    if (r0 < 0 || (r0 + rows) * C > input.length) {
      throw new RangeError(`filterBlocksCpu: input rows [${inputStart}, ${inputStart + input.length / C}) do not cover [${rowStart}, ${rowStart + rows})`);
    }
    const outMs0 = Math.max(gs, firstMs);
    for (let ct = c0; ct < c1; ct += CHANNEL_TILE) {
      const nt = Math.min(CHANNEL_TILE, c1 - ct);
      for (let r = 0; r < rows; r++) {
        const base = (r0 + r) * C + ct;
        for (let j = 0; j < nt; j++) tile[j * maxRows + r] = Math.fround(input[base + j]);
      }
      for (let j = 0; j < nt; j++) {
        const c = ct + j;
        const xo = j * maxRows;
        let len = rows;
        // Wide: tile -> a -> b -> a -> b (result in b).
        boxPass(tile, xo, len, w, a, 0); len -= 2 * w;
        boxPass(a, 0, len, w, b, 0); len -= 2 * w;
        boxPass(b, 0, len, w, a, 0); len -= 2 * w;
        boxPass(a, 0, len, w, b, 0);
        // Narrow ping-pongs between a and this channel's tile row (no longer needed); result in the tile row.
        len = rows - 2 * shiftN;
        boxPass(tile, xo + shiftN, len, n, a, 0); len -= 2 * n;
        boxPass(a, 0, len, n, tile, xo); len -= 2 * n;
        boxPass(tile, xo, len, n, a, 0); len -= 2 * n;
        boxPass(a, 0, len, n, tile, xo);
        for (let m = outMs0; m < ge; m++) {
          const slot = (destMs + m - firstMs) * C + c;
          const o = slot * S;
          const i0 = (m - gs) * S;
          let mv = 0;
          let mp = 0;
          for (let s = 0; s < S; s++) {
            const y = Math.fround(aw * b[i0 + s] - an * tile[xo + i0 + s]);
            data[o + s] = y;
            if (s === 0 || y < mv) { mv = y; mp = s; }
          }
          minVal[slot] = mv;
          minPos[slot] = mp;
        }
      }
    }
  }
}

/** Raw sample range [start, end) that `filterBlocksCpu` needs for a request. */
export function cpuInputRange(firstMs: number, numMs: number, samplesPerMs: number): { start: number; end: number } {
  const halo = filterHalo(samplesPerMs);
  return { start: gridStartMs(firstMs, samplesPerMs) * samplesPerMs - halo, end: (firstMs + numMs) * samplesPerMs + halo };
}
