/**
 * One segment's sort (pass 2): the per-segment loop (§7) on the segment's own filtered window,
 * then, beyond the reference, the burst-fragment merge. The same function runs on the calling
 * thread or in a sort worker (segment-worker.ts); the window arrives in shared memory, so a
 * worker reads and subtracts in place without a copy.
 */
import type { FilteredBuffer } from '../core/window.js';
import { mergeBurstFragments } from '../stages/sort/burst-merge.js';
import { cpuSortKernels } from '../stages/sort/kernels-cpu.js';
import type { SortKernels, SortSegment } from '../stages/sort/kernels.js';
import { Clusterer } from '../stages/sort/clustering.js';
import { emptyTimings, SegmentWorkspace, sortSegment, sortSegmentOn, type ClusterFn, type SegmentParams, type SegmentTimings, type SegmentUnits } from '../stages/sort/loop.js';

/** What a segment's sort needs besides its window; the same for every segment of a recording. */
export interface SegmentContext {
  thresholds: Float32Array;
  neighbours: Int32Array[];
  params: SegmentParams;
  mergeBursts: boolean;
  samplingFrequency: number;
}

export interface SegmentOutcome {
  units: SegmentUnits;
  timings: SegmentTimings;
  /** Wall time of the loop and the burst merge (ms). */
  sortMs: number;
}

/** Per-thread state kept between segments: the transposed-minima workspace and the kernels. */
export class SegmentSorter {
  private work: SegmentWorkspace | null = null;
  constructor(private readonly kernels: SortKernels = cpuSortKernels()) {}

  async sort(buf: FilteredBuffer, numMs: number, ctx: SegmentContext, yieldMs = 0): Promise<SegmentOutcome> {
    const C = buf.numChannels;
    if (!this.work || this.work.numChannels !== C) this.work = new SegmentWorkspace(C, 0);
    // A window in a WebAssembly memory carries its own transposed rows.
    if (!(buf.wasm && buf.wasm.minValT.length >= numMs * C)) this.work.ensure(numMs);
    const timings = emptyTimings();
    const t0 = performance.now();
    const found = await sortSegment({
      buf, numMs, thr: ctx.thresholds, neighbours: ctx.neighbours, params: ctx.params,
      kernels: this.kernels, work: this.work, timings, yieldMs,
    });
    return finish(found, numMs * buf.samplesPerMs, ctx, timings, t0);
  }
}

/** Beyond the reference (burst-merge.ts): late, smaller spikes of bursts rejoin their unit. */
function finish(found: SegmentUnits, numSamples: number, ctx: SegmentContext, timings: SegmentTimings, t0: number): SegmentOutcome {
  const units = ctx.mergeBursts ? mergeBurstFragments(found, ctx.samplingFrequency, numSamples) : found;
  return { units, timings, sortMs: performance.now() - t0 };
}

/**
 * One segment's sort on an engine's resident window (the WebGPU engine's device window) with
 * that engine's kernels, on the calling thread; several may run at once (each awaits its GPU
 * steps while the others submit theirs), each with its own clusterer.
 */
export async function sortResidentSegment<Seg extends SortSegment>(seg: Seg, kernels: SortKernels<Seg>, ctx: SegmentContext,
  cluster?: ClusterFn, clusterer: Clusterer = new Clusterer()): Promise<SegmentOutcome> {
  const timings = emptyTimings();
  const t0 = performance.now();
  const found = await sortSegmentOn(seg, kernels, { thr: ctx.thresholds, neighbours: ctx.neighbours, params: ctx.params, clusterer, timings, ...(cluster ? { cluster } : {}) });
  return finish(found, seg.numMs * seg.samplesPerMs, ctx, timings, t0);
}
