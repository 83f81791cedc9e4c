/**
 * The segment windows of pass 2, reused: a window freed by a sorted segment takes the next
 * segment that fits, so the process allocates a handful of buffers instead of one per segment
 * (freshly allocated shared memory is returned to the system only when every thread's garbage
 * collector has dropped it, which made peak memory grow with the recording's length).
 *
 * Windows live in shared WebAssembly memories when the longest possible segment fits one
 * (4 GiB: 1536 channels x 20 s at 30 kHz does, 2048 channels do not): the loop's SIMD
 * kernels then address them in place (core/window.ts WindowWasm). Such a memory starts at the
 * size of its first segment, grows in place for a longer one up to the longest segment and is
 * never dropped. Otherwise windows are plain shared buffers with the capacity of the longest
 * possible segment. Either way any free window takes any segment (a dropped shared buffer stays
 * resident until every thread has collected it: dropping and reallocating let peak memory climb
 * past the budget). Only the pages a segment writes become resident. `bytes` counts every window
 * held, busy or free, at the most it may grow to.
 */
import { allocateFilteredBuffer, wasmWindowLayout, wasmWindowViews, windowBytes, type FilterAreaPlan, type FilteredBuffer } from '../core/window.js';
import { WASM_MAX_PAGES, WASM_PAGE, ensureWasmMemory, sharedWasmMemory, type SharedWasmMemory } from '../core/wasm-memory.js';

export class WindowPool {
  private readonly freePlain: FilteredBuffer[] = [];
  private readonly freeWasm: SharedWasmMemory[] = [];
  /** The memory behind each window handed out (to return it on release). */
  private readonly owner = new WeakMap<FilteredBuffer, SharedWasmMemory>();
  private held = 0;
  private peak = 0;
  /** Windows handed out and not yet released. */
  private inUse = 0;

  /**
   * @param useWasm place windows in WebAssembly memories where they fit (false: plain shared buffers only, as the sequential path has).
   * @param areas the engine's filter areas (Engine.filterAreas), reserved in each WebAssembly window so its filter threads write it in place.
   */
  constructor(private readonly numChannels: number, private readonly samplesPerMs: number, private readonly capacityMs: number,
    private readonly limit: number, useWasm = true, areas: FilterAreaPlan | null = null) {
    // The filter areas only where they leave the longest window within one memory (past it the
    // windows would lose the loop's in-place kernels for the filter's copy).
    this.areas = areas && wasmWindowLayout(numChannels, samplesPerMs, capacityMs, areas).bytes > WASM_MAX_PAGES * WASM_PAGE ? null : areas;
    this.wasmMax = wasmWindowLayout(numChannels, samplesPerMs, capacityMs, this.areas).bytes;
    // Only when every segment fits one: a mix of both kinds could keep both resident at once
    // (e.g. at 2048 channels, 4 GiB + 5.2 GB) past what the budget counted.
    this.useWasm = useWasm && this.wasmMax <= WASM_MAX_PAGES * WASM_PAGE;
  }

  private readonly useWasm: boolean;
  private readonly areas: FilterAreaPlan | null;

  /** What a WebAssembly window may grow to, and what the budget counts for each. */
  private readonly wasmMax: number;

  /** Bytes of all windows held (busy and free). */
  get bytes(): number {
    return this.held;
  }

  /** The most bytes ever held. */
  get peakBytes(): number {
    return this.peak;
  }

  private count(bytes: number): void {
    this.held += bytes;
    this.peak = Math.max(this.peak, this.held);
  }

  /** A window for a numMs-ms segment, or null when none is free and a new one would take the pool past its limit (wait for a release, then ask again). */
  tryAcquire(numMs: number): FilteredBuffer | null {
    if (numMs > this.capacityMs) throw new RangeError(`WindowPool: a ${numMs}-ms segment exceeds the ${this.capacityMs}-ms windows`);
    const C = this.numChannels;
    const S = this.samplesPerMs;
    if (this.useWasm) {
      const need = wasmWindowLayout(C, S, numMs, this.areas).bytes;
      // Any free memory takes the segment (grown in place, within its maximum).
      const free = this.freeWasm.pop();
      if (free) {
        if (!ensureWasmMemory(free, need)) throw new Error(`internal error: a WebAssembly window cannot grow to a ${numMs}-ms segment`);
        return this.wasmView(free, numMs);
      }
      if (this.held + this.wasmMax > this.limit && this.inUse > 0) return null;
      // The maximum is reserved as address space only; pages are used as written.
      const memory = sharedWasmMemory(need, this.wasmMax);
      if (memory) {
        this.count(this.wasmMax);
        return this.wasmView(memory, numMs);
      }
    }
    const plain = this.freePlain.pop();
    if (plain) {
      this.inUse++;
      return plain;
    }
    const size = windowBytes(C, S, this.capacityMs);
    if (this.held + size > this.limit && this.inUse > 0) return null;
    this.count(size);
    this.inUse++;
    return allocateFilteredBuffer(C, S, this.capacityMs);
  }

  private wasmView(memory: SharedWasmMemory, numMs: number): FilteredBuffer {
    const w = wasmWindowViews(memory, this.numChannels, this.samplesPerMs, numMs, this.areas);
    this.owner.set(w, memory);
    this.inUse++;
    return w;
  }

  release(w: FilteredBuffer): void {
    this.inUse--;
    const memory = this.owner.get(w);
    if (memory) this.freeWasm.push(memory);
    else this.freePlain.push(w);
  }

  /** Drops every free window. */
  clear(): void {
    for (const w of this.freePlain.splice(0)) this.held -= windowBytes(this.numChannels, this.samplesPerMs, w.capacityMs);
    this.held -= this.freeWasm.length * this.wasmMax;
    this.freeWasm.length = 0;
  }
}
