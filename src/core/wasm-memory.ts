/**
 * Shared WebAssembly memories for the sort windows: a window placed in one is visible to the
 * filter threads (its buffer is a SharedArrayBuffer) and directly addressable by the SIMD
 * kernels of the loop (stages/sort/subtract-wasm.ts), with no copy. A memory holds at most
 * 4 GiB (wasm32); larger windows stay in plain SharedArrayBuffers.
 */

// The project's lib settings (ES2023 + node types) do not declare WebAssembly; the little used here:
export interface SharedWasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
interface MemoryApi { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedWasmMemory }
const WA = (globalThis as unknown as { WebAssembly?: MemoryApi }).WebAssembly;

export const WASM_PAGE = 65536;
/** The most pages a wasm32 memory may have (4 GiB). */
export const WASM_MAX_PAGES = 65536;

/**
 * A shared memory of at least `bytes`, growable in place up to `maxBytes` (both at most 4 GiB),
 * or null where none can be made (no WebAssembly, or too large).
 */
export function sharedWasmMemory(bytes: number, maxBytes = bytes): SharedWasmMemory | null {
  const initial = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  const maximum = Math.max(initial, Math.ceil(maxBytes / WASM_PAGE));
  if (!WA || maximum > WASM_MAX_PAGES) return null;
  try {
    return new WA.Memory({ initial, maximum, shared: true });
  } catch {
    return null;
  }
}

/** Grows `memory` to at least `bytes`; false when its maximum does not allow it. */
export function ensureWasmMemory(memory: SharedWasmMemory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (have >= bytes) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
    return true;
  } catch {
    return false;
  }
}
