/**
 * performSpikeSorting: streams a recording through a buffer of filtered data (spec §6), cuts
 * it into segments with the drift heuristic, sorts each segment (§7) and links the units of
 * consecutive segments by drift-searched assignment (§10). Beyond the reference, each segment's
 * burst fragments are merged into their unit before linking (burst-merge.ts; `mergeBursts`).
 *
 * The buffer holds the 4L-ms window the segmentation looks at plus an L-ms prefetch region
 * that the filter (worker threads or the GPU) fills while the host sorts the current segment.
 * After a segment is sorted, the unsorted remainder moves to the front. Memory is bounded by
 * the buffer (5L ms x C x S floats, its minima, a transposed copy of 2L ms of minima),
 * independent of the recording length.
 */
import type { Recording } from '../formats/recording.js';
import type { SortedRecording, SegmentResult } from '../result/sorted-recording.js';
import { finishSegments } from './link.js';
import { recoverSpikes, type SegmentSpan } from './recover.js';
import { poolResiduals } from './pool.js';
import type { SortStats } from './stats.js';
import type { SignalProcessor } from '../engines/engine.js';
import { allocateFilteredBuffer, windowBytes, type FilteredBuffer } from '../core/window.js';
import { type SortKernels } from '../stages/sort/kernels.js';
import { mergeBurstFragments } from '../stages/sort/burst-merge.js';
import { computeNeighbourhoods } from '../stages/sort/neighbours.js';
import type { ResolvedSortOptions } from '../core/params.js';
import { longestSegmentMs, segmentLength } from '../stages/segment/segmenter.js';
import { emptyTimings, SegmentWorkspace, sortSegment } from '../stages/sort/loop.js';
import { computeThresholds } from '../stages/segment/thresholds.js';
import { deliverWarnings, inputWarnings, sortedRateWarnings } from './plausibility.js';
import { ProgressReporter } from './progress.js';

/**
 * Prefetch region (ms) beyond the 4L-ms window: filtered in the background while a segment is
 * sorted, so filtering and sorting overlap on a multi-core machine. Constant memory: L ms more.
 */
export function prefetchMs(L: number): number {
  return L;
}

/**
 * The one-stream sequential path (the design before the two-pass pipeline), kept as the
 * reference the two-pass results are tested against, bit for bit.
 */
export async function sortSequential(
  recording: Recording,
  opts: ResolvedSortOptions,
  processor: SignalProcessor,
  kernels: SortKernels,
  tStart: number,
): Promise<{ sorted: SortedRecording; stats: SortStats; thresholds: Float32Array }> {
  const C = recording.numChannels;
  const S = recording.samplesPerMs;
  const T = Math.floor(recording.numSamples / S) - 1;
  const firstMs = 1;
  const endMs = T; // sorting covers ms blocks 1 .. T-1
  const totalMs = endMs - firstMs;
  const L = opts.minSegmentMs;
  const polarity = opts.detectionPolarity;
  const offset = recording.recordingOffset;

  // The buffer holds the 4L ms the segmentation looks at plus a prefetch region that the
  // filter fills in the background while the host sorts the current segment.
  const window = Math.min(4 * L, totalMs);
  const capacity = Math.min(window + prefetchMs(L), totalMs);
  const buf: FilteredBuffer = allocateFilteredBuffer(C, S, capacity);
  const work = new SegmentWorkspace(C, longestSegmentMs(L, window));
  const neighbours = computeNeighbourhoods(recording.geometry, opts.mode === 'improved');
  const loop = emptyTimings();
  let filterMs = 0;
  let filterWaitMs = 0;
  let sortMs = 0;
  let segmentMs = 0;

  let pos = firstMs; // absolute ms held in slot 0
  let filled = 0; // slots [0, filled) hold filtered data
  let requested = 0; // slots [filled, requested) are being filled
  let pending: Promise<void> | null = null;
  const request = (upTo: number): void => {
    if (upTo <= requested) return;
    const from = requested;
    const n = upTo - from;
    const at = pos + from;
    requested = upTo;
    const prev = pending;
    pending = (async () => {
      if (prev) await prev;
      const t0 = performance.now();
      await processor.filterBlocks(recording, at, n, polarity, buf, from);
      filterMs += performance.now() - t0;
      filled = from + n;
    })();
    // A background request can fail while the host is sorting; the error is rethrown by the
    // next settle(), but must not count as an unhandled rejection (which ends the process).
    pending.catch(() => undefined);
  };
  const settle = async (): Promise<void> => {
    if (!pending) return;
    const t0 = performance.now();
    const p = pending;
    await p;
    if (pending === p) pending = null;
    filterWaitMs += performance.now() - t0;
  };

  const progress = new ProgressReporter(opts.verbose, totalMs, recording.samplingFrequency, S);
  request(window);
  await settle();
  // The prefetch region fills while the thresholds and the first segmentation are computed.
  request(capacity);
  let t0 = performance.now();
  const thresholds = computeThresholds(buf, window, opts.detectionSensitivity);
  const thresholdMs = performance.now() - t0;
  deliverWarnings(inputWarnings(recording, thresholds, neighbours), opts.onWarning, opts.verbose);
  let copyMs = 0;

  const segments: SegmentResult[] = [];
  const spans: SegmentSpan[] = [];
  const segParams = { minSpikesPerCluster: opts.minSpikesPerCluster, mergingThreshold: opts.mergingThreshold };
  while (pos < endMs) {
    const need = Math.min(window, endMs - pos);
    if (filled < need) {
      request(need);
      await settle();
    }
    // Prefetch the rest of the buffer while this segment is sorted.
    request(Math.min(capacity, endMs - pos));
    t0 = performance.now();
    const d = segmentLength(buf.minVal, thresholds, need, L);
    segmentMs += performance.now() - t0;
    t0 = performance.now();
    const found = await sortSegment({ buf, numMs: d, thr: thresholds, neighbours, params: segParams, kernels, work, timings: loop, yieldMs: 25 });
    // Beyond the reference (burst-merge.ts): late, smaller spikes of bursts rejoin their unit.
    const units = opts.mergeBursts ? mergeBurstFragments(found, recording.samplingFrequency, d * S) : found;
    sortMs += performance.now() - t0;
    const base = offset + pos * S;
    for (const sp of units.spikes) for (let i = 0; i < sp.length; i++) sp[i] += base;
    segments.push({ start: base, end: offset + (pos + d) * S, spikes: units.spikes, amplitudes: units.amplitudes });
    spans.push({ startMs: pos, numMs: d });

    // The filter writes into the buffer: let it finish before the remainder moves to the front.
    await settle();
    const rest = filled - d;
    t0 = performance.now();
    if (rest > 0) {
      buf.data.copyWithin(0, d * C * S, filled * C * S);
      buf.minVal.copyWithin(0, d * C, filled * C);
      buf.minPos.copyWithin(0, d * C, filled * C);
    }
    copyMs += performance.now() - t0;
    pos += d;
    filled = rest;
    requested = rest;
    progress.update(pos - firstMs);
    opts.onProgress?.({ doneMs: pos - firstMs, totalMs });
  }

  const tm = performance.now();
  const pooled = opts.poolResiduals ? await poolResiduals(segments, spans, recording, processor, thresholds, polarity, opts.minSpikesPerCluster) : null;
  const poolMs = performance.now() - tm;
  let sorted = pooled
    ? finishSegments(pooled.segments, recording, opts, [], segments.map((g) => g.spikes.length), thresholds)
    : finishSegments(segments, recording, opts, [], undefined, thresholds);
  const mergeMs = performance.now() - tm - poolMs;
  const tr = performance.now();
  if (opts.recoverSpikes) sorted = (await recoverSpikes(sorted, spans, recording, processor, kernels, thresholds, polarity)).sorted;
  const recoverMs = performance.now() - tr;
  deliverWarnings(sortedRateWarnings(sorted, C, totalMs / 1000), opts.onWarning, opts.verbose);
  const totalWall = performance.now() - tStart;
  const numUnits = sorted.length;
  progress.finish(
    `spikesift: sorted ${(totalMs / 1000).toFixed(1)} s x ${C} channels in ${(totalWall / 1000).toFixed(2)} s ` +
      `(${(totalMs / totalWall).toFixed(1)}x real time) on ${processor.description}: ` +
      `${segments.length} segment${segments.length === 1 ? '' : 's'}, ${numUnits} unit${numUnits === 1 ? '' : 's'}`,
  );
  return {
    sorted,
    thresholds,
    stats: {
      backend: processor.backend,
      backendDescription: processor.description,
      runnerDescription: 'the calling thread (sequential path)',
      pass2: 'sequential',
      scanMs: 0,
      peakInFlight: 1,
      placedBeside: 0,
      placedOverlapMs: 0,
      peakWindowBytes: windowBytes(C, S, capacity),
      filterMs,
      filterWaitMs,
      sortMs,
      segmentMs,
      thresholdMs,
      copyMs,
      mergeMs,
      searchHelpers: 0,
      recoverySearchesOnHelpers: 0,
      recoverMs,
      poolMs,
      recoveryMinima: opts.recoverSpikes ? 'refiltered' : 'off',
      totalMs: totalWall,
      loop,
      numSegments: segments.length,
      numUnits,
      recordingSeconds: totalMs / 1000,
    },
  };
}
