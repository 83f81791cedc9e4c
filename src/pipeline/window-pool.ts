/**
 * The segment windows of pass 2, reused: a window freed by a sorted segment takes the next
 * segment that fits, so the process allocates a handful of shared buffers instead of one per
 * segment (freshly allocated shared memory is returned to the system only when every thread's
 * garbage collector has dropped it, which made peak memory grow with the recording's length).
 *
 * Every window has the capacity of the longest possible segment, so any free window takes any
 * segment and none is ever dropped for a larger one (a dropped shared buffer stays resident until
 * every thread has collected it: dropping and reallocating let peak memory climb past the
 * budget). Only the pages a segment writes become resident, so a window costs what the longest
 * segment it held needs. `bytes` counts every window held, busy or free, at full capacity.
 */
import { allocateFilteredBuffer, windowBytes, type FilteredBuffer } from '../core/window.js';

export class WindowPool {
  private readonly free: FilteredBuffer[] = [];
  private held = 0;
  private peak = 0;

  constructor(private readonly numChannels: number, private readonly samplesPerMs: number, private readonly capacityMs: number,
    private readonly limit: number) {}

  /** Bytes of all windows held (busy and free). */
  get bytes(): number {
    return this.held;
  }

  /** The most bytes ever held. */
  get peakBytes(): number {
    return this.peak;
  }

  private size(capacityMs: number): number {
    return windowBytes(this.numChannels, this.samplesPerMs, capacityMs);
  }

  /** A window for a numMs-ms segment, or null when none is free and a new one would take the pool past its limit (wait for a release, then ask again). */
  tryAcquire(numMs: number): FilteredBuffer | null {
    if (numMs > this.capacityMs) throw new RangeError(`WindowPool: a ${numMs}-ms segment exceeds the ${this.capacityMs}-ms windows`);
    const free = this.free.pop();
    if (free) return free;
    const size = this.size(this.capacityMs);
    if (this.held + size > this.limit && this.held > 0) return null;
    this.held += size;
    this.peak = Math.max(this.peak, this.held);
    return allocateFilteredBuffer(this.numChannels, this.samplesPerMs, this.capacityMs);
  }

  release(w: FilteredBuffer): void {
    this.free.push(w);
  }

  /** Drops every free window. */
  clear(): void {
    for (const w of this.free.splice(0)) this.held -= this.size(w.capacityMs);
  }
}
