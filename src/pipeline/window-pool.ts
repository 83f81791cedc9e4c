/**
 * The segment windows of pass 2, reused: a window freed by a sorted segment takes the next
 * segment that fits, so the process allocates a handful of shared buffers instead of one per
 * segment (freshly allocated shared memory is returned to the system only when every thread's
 * garbage collector has dropped it, which made peak memory grow with the recording's length).
 *
 * `bytes` counts every window the pool holds, busy or free: the memory budget bounds it.
 */
import { allocateFilteredBuffer, windowBytes, type FilteredBuffer } from '../core/window.js';

export class WindowPool {
  private readonly free: FilteredBuffer[] = [];
  private held = 0;
  private peak = 0;

  constructor(private readonly numChannels: number, private readonly samplesPerMs: number, private readonly limit: number) {}

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

  /**
   * A window of at least numMs ms, or null when none is free that fits and a new one would
   * take the pool past its limit (wait for a release, then ask again).
   */
  tryAcquire(numMs: number): FilteredBuffer | null {
    // The smallest free window that fits.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const c = this.free[i].capacityMs;
      if (c >= numMs && (best < 0 || c < this.free[best].capacityMs)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0];
    // Free windows that are too small make room for a new one, smallest first.
    this.free.sort((a, b) => a.capacityMs - b.capacityMs);
    while (this.held + this.size(numMs) > this.limit && this.free.length > 0) {
      this.held -= this.size(this.free.shift()!.capacityMs);
    }
    if (this.held + this.size(numMs) > this.limit && this.held > 0) return null;
    this.held += this.size(numMs);
    this.peak = Math.max(this.peak, this.held);
    return allocateFilteredBuffer(this.numChannels, this.samplesPerMs, numMs);
  }

  release(w: FilteredBuffer): void {
    this.free.push(w);
  }

  /** Drops every free window. */
  clear(): void {
    for (const w of this.free.splice(0)) this.held -= this.size(w.capacityMs);
  }
}
