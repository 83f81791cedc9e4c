/**
 * The filtered window: ms blocks of filtered signal in the (ms, channel, S) layout with their
 * per-ms minima (spec §3-§4). Every engine filters into one; the segmentation and the
 * per-segment loop read it.
 */
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

