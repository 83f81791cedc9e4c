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
 *
 * With `placement`, each WebAssembly memory is laid out once as a window of the longest segment
 * and may take a second segment at its other end while the first still sorts (placeBeside): the
 * second's slots that the first does not use are filtered at once, on the cores the first
 * segment's sort leaves idle, and the rest once the first is released. Memory stays what the
 * budget counts for the window (one longest segment), only more of it is used.
 */
import { allocateFilteredBuffer, wasmWindowAt, wasmWindowLayout, windowBytes, type FilterAreaPlan, type FilteredBuffer } from '../core/window.js';
import { WASM_MAX_PAGES, WASM_PAGE, ensureWasmMemory, sharedWasmMemory, type SharedWasmMemory } from '../core/wasm-memory.js';

interface Occupant {
  win: FilteredBuffer;
  firstSlot: number;
  numMs: number;
  /** Settles when the segment is released. */
  released: Promise<void>;
  resolve: () => void;
}

export class WindowPool {
  private readonly freePlain: FilteredBuffer[] = [];
  private readonly freeWasm: SharedWasmMemory[] = [];
  /** The memory behind each window handed out (to return it on release). */
  private readonly owner = new WeakMap<FilteredBuffer, SharedWasmMemory>();
  private held = 0;
  private peak = 0;
  /** Windows handed out and not yet released. */
  private inUse = 0;
  /** placement: the segments each memory holds, at most one at each end. */
  private readonly occupants = new Map<SharedWasmMemory, Occupant[]>();

  /**
   * @param useWasm place windows in WebAssembly memories where they fit (false: plain shared buffers only, as the sequential path has).
   * @param areas the engine's filter areas (Engine.filterAreas), reserved in each WebAssembly window so its filter threads write it in place.
   * @param placement lay each WebAssembly memory out for the longest segment, so placeBeside can put a second one at its other end.
   */
  constructor(private readonly numChannels: number, private readonly samplesPerMs: number, private readonly capacityMs: number,
    private readonly limit: number, useWasm = true, areas: FilterAreaPlan | null = null, private readonly placement = false) {
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
      // Placed memories have their full layout from the start (only written pages are used).
      const need = this.placement ? this.wasmMax : wasmWindowLayout(C, S, numMs, this.areas).bytes;
      // Any free memory takes the segment (grown in place, within its maximum).
      const free = this.freeWasm.pop();
      if (free) {
        if (!ensureWasmMemory(free, need)) throw new Error(`internal error: a WebAssembly window cannot grow to a ${numMs}-ms segment`);
        return this.wasmView(free, 0, numMs);
      }
      if (this.held + this.wasmMax > this.limit && this.inUse > 0) return null;
      // The maximum is reserved as address space only; pages are used as written.
      const memory = sharedWasmMemory(need, this.wasmMax);
      if (memory) {
        this.count(this.wasmMax);
        return this.wasmView(memory, 0, numMs);
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

  private wasmView(memory: SharedWasmMemory, firstSlot: number, numMs: number): FilteredBuffer {
    // Placed: slots of the longest segment's layout; otherwise the layout of this segment's length.
    const w = wasmWindowAt(memory, this.numChannels, this.samplesPerMs, this.placement ? this.capacityMs : numMs, this.areas, firstSlot, numMs);
    this.owner.set(w, memory);
    this.inUse++;
    if (this.placement) {
      let resolve!: () => void;
      const released = new Promise<void>((r) => { resolve = r; });
      const list = this.occupants.get(memory) ?? [];
      list.push({ win: w, firstSlot, numMs, released, resolve });
      this.occupants.set(memory, list);
    }
    return w;
  }

  /**
   * placement: a window for a numMs-ms segment at the free end of a memory that holds one
   * segment, or null (none does). Its slots [waitFrom, waitTo) (segment-local) overlap that
   * segment's and may be written only once `waitFor` settles (when that segment is released);
   * the loop's workspace is shared too, so it may be sorted only then.
   */
  placeBeside(numMs: number): { win: FilteredBuffer; waitFrom: number; waitTo: number; waitFor: Promise<void> } | null {
    if (!this.placement || numMs > this.capacityMs) return null;
    for (const [memory, list] of this.occupants) {
      if (list.length !== 1) continue;
      const other = list[0];
      // Opposite the other segment: at the end when it starts at slot 0, else at the start.
      const first = other.firstSlot === 0 ? this.capacityMs - numMs : 0;
      const a = Math.max(first, other.firstSlot);
      const b = Math.min(first + numMs, other.firstSlot + other.numMs);
      const win = this.wasmView(memory, first, numMs);
      return b > a ? { win, waitFrom: a - first, waitTo: b - first, waitFor: other.released } : { win, waitFrom: 0, waitTo: 0, waitFor: other.released };
    }
    return null;
  }

  /** A window taken for longer than its segment turned out to be (the first segment's head): it uses only its first numMs slots. */
  trim(w: FilteredBuffer, numMs: number): void {
    const memory = this.owner.get(w);
    const o = memory ? this.occupants.get(memory)?.find((x) => x.win === w) : undefined;
    if (o) o.numMs = Math.min(o.numMs, numMs);
  }

  release(w: FilteredBuffer): void {
    this.inUse--;
    const memory = this.owner.get(w);
    if (!memory) {
      this.freePlain.push(w);
      return;
    }
    const list = this.occupants.get(memory);
    if (list) {
      const i = list.findIndex((o) => o.win === w);
      if (i >= 0) list.splice(i, 1)[0].resolve();
      if (list.length > 0) return;
      this.occupants.delete(memory);
    }
    this.freeWasm.push(memory);
  }

  /** Drops every free window. */
  clear(): void {
    for (const w of this.freePlain.splice(0)) this.held -= windowBytes(this.numChannels, this.samplesPerMs, w.capacityMs);
    this.held -= this.freeWasm.length * this.wasmMax;
    this.freeWasm.length = 0;
  }
}
