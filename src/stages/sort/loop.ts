/**
 * Sorting one segment (spec §7): pick the most active channel, form a template from its
 * peaks by binary splitting, match the template against every local minimum, keep the
 * cluster closest to the template, subtract its mean waveform and update the per-ms
 * statistics, until every channel has failed.
 *
 * This module holds the control flow and the decisions only: every bulk step (scores, peaks,
 * gather, feature test, amplitudes, mean windows, subtraction with the minima rescan) goes
 * through SortKernels, on a segment handle whose window (host or device memory) the kernels
 * own; its filtered data is modified in place by the subtraction. `sortSegment` runs the loop
 * on a host window (the first M ms slots of a FilteredBuffer, layout (ms, channel, S)) with
 * the CPU kernels' handle; `sortSegmentOn` on any engine's handle.
 */
import type { FilteredBuffer } from '../../core/window.js';
import type { SegmentMinima, SortKernels, SortSegment } from './kernels.js';
import { Clusterer, type ClusterMode, type ClusterParams, type ClusterResult } from './clustering.js';
import { differenceVector } from './features.js';

export interface SegmentParams {
  minSpikesPerCluster: number;
  mergingThreshold: number;
}

export interface SegmentUnits {
  /** Per unit, in acceptance order: ascending segment-local sample indices. */
  spikes: Float64Array[];
  /** Per unit: C positive numbers (negated mean per-ms minima at the unit's spikes). */
  amplitudes: Float32Array[];
}

/** Time spent in the stages of the loop (ms), for benchmarks. */
export interface SegmentTimings {
  detect: number;
  gather: number;
  cluster: number;
  match: number;
  subtract: number;
  iterations: number;
}

/** Safety bound on accepted units per channel and segment: the loop must terminate even on adversarial data. */
export const MAX_UNITS_PER_CHANNEL = 20;

/**
 * Per-segment scratch reused across segments: transposed minima (C, M) sized for the
 * largest segment, so memory does not depend on the recording length.
 */
export class SegmentWorkspace {
  minValT: Float32Array;
  minPosT: Int32Array;
  readonly clusterer = new Clusterer();
  constructor(readonly numChannels: number, capacityMs: number) {
    this.minValT = new Float32Array(numChannels * capacityMs);
    this.minPosT = new Int32Array(numChannels * capacityMs);
  }
  /** Grows the transposed rows to hold a segment of numMs ms (never shrinks). */
  ensure(numMs: number): void {
    if (this.minValT.length < numMs * this.numChannels) {
      this.minValT = new Float32Array(numMs * this.numChannels);
      this.minPosT = new Int32Array(numMs * this.numChannels);
    }
  }
}

/**
 * Clustering somewhere else (a worker thread): the same computation as Clusterer.cluster. The
 * loop does not read `x` afterwards, so it may be transferred.
 */
export type ClusterFn = (x: Float32Array, n: number, d: number, mode: ClusterMode, p: ClusterParams, reference?: Float32Array) => Promise<ClusterResult>;

/** What the loop needs besides the segment and its kernels. */
export interface LoopInput {
  thr: Float32Array;
  neighbours: Int32Array[];
  params: SegmentParams;
  clusterer: Clusterer;
  /** When given, clustering runs through it instead of `clusterer` (same results). */
  cluster?: ClusterFn;
  timings?: SegmentTimings;
  /**
   * Yield to the event loop after this many ms of work (0: never), so that background work
   * driven from this thread (the filter prefetching the next chunk) keeps going.
   */
  yieldMs?: number;
}

export interface SortSegmentInput extends Omit<LoopInput, 'clusterer'> {
  buf: FilteredBuffer;
  /** M: the segment is buffer slots [0, M). */
  numMs: number;
  kernels: SortKernels<SegmentMinima>;
  work: SegmentWorkspace;
}

export function emptyTimings(): SegmentTimings {
  return { detect: 0, gather: 0, cluster: 0, match: 0, subtract: 0, iterations: 0 };
}

/** The loop on a host window with the CPU kernels' handle (the transposed rows live in `work`). */
export async function sortSegment(input: SortSegmentInput): Promise<SegmentUnits> {
  const { buf, numMs: M, work } = input;
  const C = buf.numChannels;
  if (M * C > work.minValT.length && !(buf.wasm && buf.wasm.minValT.length >= M * C)) {
    throw new RangeError(`sortSegment: a ${M}-ms segment does not fit the workspace (${work.minValT.length / C} ms)`);
  }
  // A window in a WebAssembly memory brings its own transposed rows (for the SIMD kernels).
  const rows = buf.wasm && buf.wasm.minValT.length >= M * C ? buf.wasm : work;
  const seg: SegmentMinima = { buf, numChannels: C, samplesPerMs: buf.samplesPerMs, numMs: M, minValT: rows.minValT, minPosT: rows.minPosT };
  return sortSegmentOn(seg, input.kernels, { ...input, clusterer: work.clusterer });
}

/**
 * Takes channel c out of play; returns 1 for the count. (Not a closure made per segment: see
 * "Code shape" in kernels-cpu.ts.)
 */
function markFailed(failed: Uint8Array, c: number): number {
  failed[c] = 1;
  return 1;
}

/** The loop (§7) on an engine's segment handle with that engine's kernels. */
export async function sortSegmentOn<Seg extends SortSegment>(seg: Seg, kernels: SortKernels<Seg>, input: LoopInput): Promise<SegmentUnits> {
  const { thr, neighbours, params } = input;
  const tm = input.timings;
  const C = seg.numChannels;
  const S = seg.samplesPerMs;
  const Nmin = params.minSpikesPerCluster;

  // §7.1 channel scores.
  const score = await kernels.channelScores(seg, thr);

  const failed = new Uint8Array(C);
  const accepted = new Int32Array(C);
  let numFailed = 0;
  const units: SegmentUnits = { spikes: [], amplitudes: [] };
  const clusterer = input.clusterer;
  const width = 2 * S;

  const yieldMs = input.yieldMs ?? 0;
  let lastYield = performance.now();
  while (numFailed < C) {
    if (tm) tm.iterations++;
    if (yieldMs > 0 && performance.now() - lastYield > yieldMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    // §7.2.1 target: lowest score among the channels still in play, first index on ties.
    let target = -1;
    for (let c = 0; c < C; c++) {
      if (failed[c] === 0 && (target < 0 || score[c] < score[target])) target = c;
    }
    if (accepted[target] >= MAX_UNITS_PER_CHANNEL) {
      numFailed += markFailed(failed, target);
      continue;
    }

    // §7.2.2 peaks
    let t0 = performance.now();
    const peakSamples = await kernels.detectPeaks(seg, target, thr[target]);
    if (tm) tm.detect += performance.now() - t0;
    if (peakSamples.length < Nmin) {
      numFailed += markFailed(failed, target);
      continue;
    }

    // §7.3-7.5 neighbourhood, waveforms, template formation
    const nb = neighbours[target];
    const nch = nb.length;
    const d = nch * width;
    const cp: ClusterParams = { minSpikes: Nmin, lambda: params.mergingThreshold, numChannels: nch, width };
    t0 = performance.now();
    const xPeaks = await kernels.gatherWaveforms(seg, peakSamples, nb);
    let t1 = performance.now();
    if (tm) tm.gather += t1 - t0;
    const formed = input.cluster
      ? await input.cluster(xPeaks, peakSamples.length, d, 'formation', cp)
      : clusterer.cluster(xPeaks, peakSamples.length, d, 'formation', cp);
    if (tm) tm.cluster += performance.now() - t1;
    if (formed.rows.length < Nmin) {
      numFailed += markFailed(failed, target);
      continue;
    }

    // §7.6 reference vector, §7.7 template matching feature test
    const reference = differenceVector(formed.mean, nch, width);
    const fmin = new Float32Array(nch);
    for (let k = 0; k < nch; k++) {
      let mn = Infinity;
      const o = k * width;
      for (let t = 0; t < width; t++) if (formed.mean[o + t] < mn) mn = formed.mean[o + t];
      fmin[k] = mn;
    }
    t0 = performance.now();
    const candSamples = await kernels.matchCandidates(seg, nb, target, fmin);
    t1 = performance.now();
    if (tm) tm.match += t1 - t0;
    if (candSamples.length < Nmin) {
      numFailed += markFailed(failed, target);
      continue;
    }
    const xCand = await kernels.gatherWaveforms(seg, candSamples, nb);
    const t2 = performance.now();
    if (tm) tm.gather += t2 - t1;

    // §7.8 final clustering, §7.9 rejection
    const matched = input.cluster
      ? await input.cluster(xCand, candSamples.length, d, 'matching', cp, reference)
      : clusterer.cluster(xCand, candSamples.length, d, 'matching', cp, reference);
    if (tm) tm.cluster += performance.now() - t2;
    if (matched.rows.length < Nmin || matched.mean[S] > thr[target]) {
      numFailed += markFailed(failed, target);
      continue;
    }

    t0 = performance.now();
    const n = matched.rows.length;
    const spikes = new Int32Array(n);
    for (let i = 0; i < n; i++) spikes[i] = candSamples[matched.rows[i]];
    // rows are ascending and candidates ascending in time, so spikes are ascending already.

    // §7.10 amplitude vector over all channels (stored negated).
    const spikeMs = new Int32Array(n);
    for (let i = 0; i < n; i++) spikeMs[i] = Math.floor(spikes[i] / S);
    const meanMin = await kernels.meanMinima(seg, spikeMs);
    const amplitude = new Float32Array(C);
    for (let c = 0; c < C; c++) amplitude[c] = -meanMin[c];

    // §7.11 channels whose mean minimum is below thr/2 are affected; the mean 4-ms waveform
    // (taken before any subtraction) is subtracted at every spike on them, §7.12 with the
    // minima rescan and the score update.
    let numAffected = 0;
    for (let c = 0; c < C; c++) if (meanMin[c] < thr[c] / 2) numAffected++;
    const affected = new Int32Array(numAffected);
    for (let c = 0, k = 0; c < C; c++) if (meanMin[c] < thr[c] / 2) affected[k++] = c;
    const means = await kernels.meanWindows(seg, spikes, affected);
    await kernels.subtractAndRescan(seg, spikes, affected, means, thr, score);
    if (tm) tm.subtract += performance.now() - t0;

    // §7.13 record the unit; the target stays in play.
    units.spikes.push(Float64Array.from(spikes));
    units.amplitudes.push(amplitude);
    accepted[target]++;
  }
  return units;
}

