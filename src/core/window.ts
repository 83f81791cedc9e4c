/**
 * The filtered window: ms blocks of filtered signal in the (ms, channel, S) layout with their
 * per-ms minima (spec §3-§4). Every engine filters into one; the segmentation and the
 * per-segment loop read it.
 */
import type { SharedWasmMemory } from './wasm-memory.js';

/**
 * A sort window placed in a shared WebAssembly memory (allocateWasmWindow): the loop's SIMD
 * kernels address its arrays in place. The transposed minima rows of the loop and a scratch
 * area for the kernels' inputs live in the same memory.
 */
export interface WindowWasm {
  memory: SharedWasmMemory;
  /** (C, M) rows of the loop: [c*M + m]. */
  minValT: Float32Array;
  minPosT: Int32Array;
  /** Free bytes [scratch, scratch + scratchBytes) of the memory. */
  scratch: number;
  scratchBytes: number;
}

/**
 * Scratch areas for filter threads inside a window's shared WebAssembly memory (`count` areas of
 * `bytes` from byte `offset`): a filter thread that has area i runs its kernels on that memory
 * and writes the window's samples and minima in place, instead of in its own memory and then
 * copying them out (a memmove of 4 bytes per sample and channel: ~0.5 ns of a ~2.6-ns filter).
 */
export interface FilterAreas extends FilterAreaPlan {
  memory: SharedWasmMemory;
  offset: number;
}

/** How many filter areas of how many bytes an engine's filter threads use (Engine.filterAreas). */
export interface FilterAreaPlan {
  count: number;
  bytes: number;
}

/** Destination for filtered ms blocks, layout (ms, channel, S). Arrays sized capacityMs*C*S and capacityMs*C. */
export interface FilteredBuffer {
  numChannels: number;
  samplesPerMs: number;
  capacityMs: number;
  /** data[((m*C)+c)*S + s] */
  data: Float32Array;
  /** [m*C + c] */
  minVal: Float32Array;
  /** [m*C + c], first s attaining the minimum */
  minPos: Int32Array;
  /**
   * Optional: y at the first sample of each ms block, [m*C + c] (what the thresholds of §5
   * read), written by the filter when present, for minima-only and full windows alike.
   */
  firstSamples?: Float32Array;
  /**
   * Optional, for minima-only windows (no samples, no firstSamples): a filter may then make
   * minVal[m*C + c] exact only where the exact minimum is below exactBelow[c] (with its
   * minPos); elsewhere it writes some value above exactBelow[c] and minPos 0. The drift
   * heuristic of §6 reads only min(0, minVal - thr), so pass 1 gives these the thresholds and the
   * CPU engine skips the exact computation of the spike-free blocks (filter-wasm.ts). Exact
   * minima everywhere are always a valid answer.
   */
  exactBelow?: Float32Array;
  /**
   * Optional, where the engine says it honours it (SignalProcessor.copiesMinima): the minima
   * it writes at slot m are also copied to slot m of these ([m*C + c], positions converted to
   * minimaCopy.minPos's type), by the thread that filtered them. Pass 2 keeps the segments'
   * unsubtracted minima for the recovery pass this way (pipeline/recover.ts), off the thread
   * that sorts.
   */
  minimaCopy?: { minVal: Float32Array; minPos: Int32Array | Uint8Array };
  /** Present when the window lives in a shared WebAssembly memory (allocateWasmWindow). */
  wasm?: WindowWasm;
  /** Present when filter threads may write this window in place (see FilterAreas). */
  filterAreas?: FilterAreas;
}

/** Minima [from, to) (value indices m*C + c) into the same places of `into` (positions converted to its type). */
export function copyMinima(into: { minVal: Float32Array; minPos: Int32Array | Uint8Array }, minVal: Float32Array, minPos: Int32Array, from: number, to: number): void {
  into.minVal.set(minVal.subarray(from, to), from);
  into.minPos.set(minPos.subarray(from, to), from);
}

/** dest.minimaCopy's slots [from, to) from dest's minima (nothing without minimaCopy). */
export function copyMinimaOut(dest: FilteredBuffer, from: number, to: number): void {
  const k = dest.minimaCopy;
  if (!k || to <= from) return;
  const C = dest.numChannels;
  copyMinima(k, dest.minVal, dest.minPos, from * C, to * C);
}

/**
 * Allocates a FilteredBuffer. The arrays live in SharedArrayBuffers so the CPU backend's
 * worker threads can write them in place (they behave like ordinary typed arrays otherwise).
 */
export function allocateFilteredBuffer(numChannels: number, samplesPerMs: number, capacityMs: number): FilteredBuffer {
  for (const [name, v] of [['numChannels', numChannels], ['samplesPerMs', samplesPerMs], ['capacityMs', capacityMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`allocateFilteredBuffer: ${name} must be a positive integer, got ${v}`);
  }
  const n = capacityMs * numChannels;
  return {
    numChannels,
    samplesPerMs,
    capacityMs,
    data: new Float32Array(new SharedArrayBuffer(n * samplesPerMs * 4)),
    minVal: new Float32Array(new SharedArrayBuffer(n * 4)),
    minPos: new Int32Array(new SharedArrayBuffer(n * 4)),
  };
}


/**
 * A minima-only window: `data` is empty, so a filter writes only minVal and minPos (pass 1 of
 * the pipeline needs nothing else, and skipping the samples saves their memory traffic).
 */
export function allocateMinimaBuffer(numChannels: number, samplesPerMs: number, capacityMs: number, withFirstSamples = false): FilteredBuffer {
  const b = allocateFilteredBuffer(numChannels, samplesPerMs, 1);
  const n = capacityMs * numChannels;
  return {
    ...b,
    capacityMs,
    data: new Float32Array(new SharedArrayBuffer(0)),
    minVal: new Float32Array(new SharedArrayBuffer(n * 4)),
    minPos: new Int32Array(new SharedArrayBuffer(n * 4)),
    ...(withFirstSamples ? { firstSamples: new Float32Array(new SharedArrayBuffer(n * 4)) } : {}),
  };
}

/** Whether a window holds filtered samples (false for allocateMinimaBuffer's). */
export function hasSamples(buf: FilteredBuffer): boolean {
  return buf.data.length > 0;
}

/** Bytes of a window of numMs ms: the filtered data and both minima arrays. */
export function windowBytes(numChannels: number, samplesPerMs: number, numMs: number): number {
  return numMs * numChannels * (samplesPerMs * 4 + 8);
}

/**
 * Byte layout of a window of numMs ms in a WebAssembly memory: [data][minVal][minPos][minValT]
 * [minPosT][scratch][filter areas]; the scratch holds a kernel call's inputs: score and
 * thresholds, the affected channels' mean windows (float64 sums: 4S x 8 bytes per channel) and
 * a batch of spikes (spikes beyond it go in further batches); the filter areas (`areas`, none by
 * default) are the filter threads' (FilterAreas).
 */
export function wasmWindowLayout(numChannels: number, samplesPerMs: number, numMs: number, areas: FilterAreaPlan | null = null):
  { rows: number; scratch: number; scratchBytes: number; areas: number; bytes: number } {
  const n = numMs * numChannels;
  const rows = n * samplesPerMs * 4;
  const scratch = rows + 4 * n * 4;
  const scratchBytes = numChannels * (32 * samplesPerMs + 12) + 8 + (256 << 10);
  const areaStart = Math.ceil((scratch + scratchBytes) / 16) * 16;
  return { rows, scratch, scratchBytes, areas: areaStart, bytes: areas ? areaStart + areas.count * areas.bytes : scratch + scratchBytes };
}

/** The window views of numMs ms over `memory` (at least wasmWindowLayout(...).bytes long), laid out from byte 0. */
export function wasmWindowViews(memory: SharedWasmMemory, numChannels: number, samplesPerMs: number, numMs: number, areas: FilterAreaPlan | null = null): FilteredBuffer {
  return wasmWindowAt(memory, numChannels, samplesPerMs, numMs, areas, 0, numMs);
}

/**
 * Slots [firstSlot, firstSlot + numMs) of a memory laid out as one window of `capacityMs` ms
 * (wasmWindowLayout(numChannels, samplesPerMs, capacityMs, areas), from byte 0), as a window of
 * numMs ms: its samples and minima are those slots of the capacity layout, its transposed rows,
 * scratch and filter areas the layout's own. Two segments placed at the two ends of one such
 * memory share the loop's workspace (so they sort one after the other) and, where their lengths
 * add up to more than capacityMs, the slots in between: the second writes those only once the
 * first is released (WindowPool.placeBeside).
 */
export function wasmWindowAt(memory: SharedWasmMemory, numChannels: number, samplesPerMs: number, capacityMs: number,
  areas: FilterAreaPlan | null, firstSlot: number, numMs: number): FilteredBuffer {
  const layout = wasmWindowLayout(numChannels, samplesPerMs, capacityMs, areas);
  if (firstSlot < 0 || numMs < 1 || firstSlot + numMs > capacityMs) {
    throw new RangeError(`wasmWindowAt: slots [${firstSlot}, ${firstSlot + numMs}) outside the ${capacityMs}-ms layout`);
  }
  if (memory.buffer.byteLength < layout.bytes) throw new RangeError(`wasmWindowAt: a ${capacityMs}-ms layout needs ${layout.bytes} bytes, the memory has ${memory.buffer.byteLength}`);
  const C = numChannels;
  const n4 = capacityMs * C * 4;
  const win = wasmWindowFromDescriptor({
    memory, numChannels: C, samplesPerMs, numMs,
    data: firstSlot * C * samplesPerMs * 4, minVal: layout.rows + firstSlot * C * 4, minPos: layout.rows + n4 + firstSlot * C * 4,
    minValT: layout.rows + 2 * n4, minPosT: layout.rows + 3 * n4, scratch: layout.scratch, scratchBytes: layout.scratchBytes,
  });
  return areas && areas.count > 0 ? { ...win, filterAreas: { memory, offset: layout.areas, ...areas } } : win;
}

/**
 * Where a WebAssembly window's arrays lie in its memory (byte offsets), so that another thread
 * can rebuild the same views (a window of the pool or of the arena).
 */
export interface WasmWindowDescriptor {
  memory: SharedWasmMemory;
  numChannels: number;
  samplesPerMs: number;
  numMs: number;
  data: number;
  minVal: number;
  minPos: number;
  minValT: number;
  minPosT: number;
  scratch: number;
  scratchBytes: number;
}

export function describeWasmWindow(buf: FilteredBuffer, numMs: number): WasmWindowDescriptor {
  const w = buf.wasm;
  if (!w) throw new TypeError('describeWasmWindow: the window is not in a WebAssembly memory');
  return {
    memory: w.memory, numChannels: buf.numChannels, samplesPerMs: buf.samplesPerMs, numMs,
    data: buf.data.byteOffset, minVal: buf.minVal.byteOffset, minPos: buf.minPos.byteOffset,
    minValT: w.minValT.byteOffset, minPosT: w.minPosT.byteOffset, scratch: w.scratch, scratchBytes: w.scratchBytes,
  };
}

export function wasmWindowFromDescriptor(d: WasmWindowDescriptor): FilteredBuffer {
  const buf = d.memory.buffer;
  const n = d.numMs * d.numChannels;
  return {
    numChannels: d.numChannels,
    samplesPerMs: d.samplesPerMs,
    capacityMs: d.numMs,
    data: new Float32Array(buf, d.data, n * d.samplesPerMs),
    minVal: new Float32Array(buf, d.minVal, n),
    minPos: new Int32Array(buf, d.minPos, n),
    wasm: {
      memory: d.memory,
      minValT: new Float32Array(buf, d.minValT, n),
      minPosT: new Int32Array(buf, d.minPosT, n),
      scratch: d.scratch,
      scratchBytes: d.scratchBytes,
    },
  };
}

/**
 * The arena: a whole recording's filtered data and minima in one WebAssembly memory, ms block m
 * (1-based, as the recording's sortable blocks) at slot m - 1, plus `slots` loop workspaces
 * (transposed rows of the longest segment and the kernels' scratch), one per segment in flight.
 * Pass 1 filters into it and each segment is sorted where it lies: no second filter pass and
 * no copy into a window.
 */
export interface ArenaLayout {
  numChannels: number;
  samplesPerMs: number;
  numMs: number;
  longestMs: number;
  slots: number;
  minValOffset: number;
  minPosOffset: number;
  slotOffset: number;
  slotBytes: number;
  /** The filter threads' areas after the slots (pass 1 writes the arena in place), if any. */
  areas: FilterAreaPlan | null;
  areaOffset: number;
  bytes: number;
}

export function arenaLayout(numChannels: number, samplesPerMs: number, numMs: number, longestMs: number, slots: number, areas: FilterAreaPlan | null = null): ArenaLayout {
  const n = numMs * numChannels;
  const minValOffset = n * samplesPerMs * 4;
  const minPosOffset = minValOffset + n * 4;
  const slotOffset = Math.ceil((minPosOffset + n * 4) / 8) * 8;
  const { scratchBytes } = wasmWindowLayout(numChannels, samplesPerMs, longestMs);
  const slotBytes = Math.ceil((longestMs * numChannels * 8 + scratchBytes) / 8) * 8;
  const areaOffset = Math.ceil((slotOffset + slots * slotBytes) / 16) * 16;
  const bytes = areas ? areaOffset + areas.count * areas.bytes : slotOffset + slots * slotBytes;
  return { numChannels, samplesPerMs, numMs, longestMs, slots, minValOffset, minPosOffset, slotOffset, slotBytes, areas, areaOffset, bytes };
}

/** Arena blocks [firstSlot, firstSlot + numMs) as a plain window (what pass 1 filters into). */
export function arenaBlocks(memory: SharedWasmMemory, a: ArenaLayout, firstSlot: number, numMs: number): FilteredBuffer {
  const buf = memory.buffer;
  const n = a.numMs * a.numChannels;
  const whole: FilteredBuffer = {
    numChannels: a.numChannels,
    samplesPerMs: a.samplesPerMs,
    capacityMs: a.numMs,
    data: new Float32Array(buf, 0, n * a.samplesPerMs),
    minVal: new Float32Array(buf, a.minValOffset, n),
    minPos: new Int32Array(buf, a.minPosOffset, n),
    ...(a.areas && a.areas.count > 0 ? { filterAreas: { memory, offset: a.areaOffset, ...a.areas } } : {}),
  };
  return windowBlocks(whole, firstSlot, numMs);
}

/** Slots [firstSlot, firstSlot + numMs) of a window as a window of their own (pass 1 filters the first segment's head there). */
export function windowBlocks(win: FilteredBuffer, firstSlot: number, numMs: number): FilteredBuffer {
  const C = win.numChannels;
  const S = win.samplesPerMs;
  if (firstSlot < 0 || firstSlot + numMs > win.capacityMs) throw new RangeError(`windowBlocks: slots [${firstSlot}, ${firstSlot + numMs}) outside the window's (or arena's) ${win.capacityMs}`);
  return {
    numChannels: C,
    samplesPerMs: S,
    capacityMs: numMs,
    data: win.data.subarray(firstSlot * C * S, (firstSlot + numMs) * C * S),
    minVal: win.minVal.subarray(firstSlot * C, (firstSlot + numMs) * C),
    minPos: win.minPos.subarray(firstSlot * C, (firstSlot + numMs) * C),
    ...(win.filterAreas ? { filterAreas: win.filterAreas } : {}),
  };
}

/** A segment's window in the arena, with loop workspace `slot` (WebAssembly kernels run on it in place). */
export function arenaWindow(memory: SharedWasmMemory, a: ArenaLayout, firstSlot: number, numMs: number, slot: number): FilteredBuffer {
  if (numMs > a.longestMs || slot < 0 || slot >= a.slots) throw new RangeError(`arenaWindow: a ${numMs}-ms segment in slot ${slot} does not fit the arena (${a.longestMs} ms, ${a.slots} slots)`);
  const base = a.slotOffset + slot * a.slotBytes;
  const C = a.numChannels;
  const scratch = base + a.longestMs * C * 8;
  return wasmWindowFromDescriptor({
    memory, numChannels: C, samplesPerMs: a.samplesPerMs, numMs,
    data: firstSlot * C * a.samplesPerMs * 4, minVal: a.minValOffset + firstSlot * C * 4, minPos: a.minPosOffset + firstSlot * C * 4,
    minValT: base, minPosT: base + a.longestMs * C * 4, scratch, scratchBytes: base + a.slotBytes - scratch,
  });
}
