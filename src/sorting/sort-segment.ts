/**
 * Sorting one segment (spec §7): pick the most active channel, form a template from its
 * peaks by binary splitting, match the template against every local minimum, keep the
 * cluster closest to the template, subtract its mean waveform and update the per-ms
 * statistics, until every channel has failed.
 *
 * The segment is the first M ms slots of a FilteredBuffer (layout (ms, channel, S)); its
 * filtered data is modified in place by the subtraction. The bulk steps (peak detection,
 * waveform gathering, the template feature test) go through SortKernels.
 */
import type { FilteredBuffer } from '../preprocess/signal-processor.js';
import type { SortKernels } from '../preprocess/sort-kernels.js';
import { Clusterer, type ClusterParams } from './clustering.js';
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
  private sums = new Float64Array(0);
  constructor(readonly numChannels: number, capacityMs: number) {
    this.minValT = new Float32Array(numChannels * capacityMs);
    this.minPosT = new Int32Array(numChannels * capacityMs);
  }
  /** A zeroed float64 accumulator of length n (reused). */
  channelSums(n: number): Float64Array {
    if (this.sums.length < n) this.sums = new Float64Array(n);
    const v = this.sums.subarray(0, n);
    v.fill(0);
    return v;
  }
}

export interface SortSegmentInput {
  buf: FilteredBuffer;
  /** M: the segment is buffer slots [0, M). */
  numMs: number;
  thr: Float32Array;
  neighbours: Int32Array[];
  params: SegmentParams;
  kernels: SortKernels;
  work: SegmentWorkspace;
  timings?: SegmentTimings;
  /**
   * Yield to the event loop after this many ms of work (0: never), so that background work
   * driven from this thread (the filter prefetching the next chunk) keeps going.
   */
  yieldMs?: number;
}

export function emptyTimings(): SegmentTimings {
  return { detect: 0, gather: 0, cluster: 0, match: 0, subtract: 0, iterations: 0 };
}

export async function sortSegment(input: SortSegmentInput): Promise<SegmentUnits> {
  const { buf, numMs: M, thr, neighbours, params, kernels, work } = input;
  const tm = input.timings;
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const data = buf.data;
  const minValT = work.minValT;
  const minPosT = work.minPosT;
  const Nmin = params.minSpikesPerCluster;
  if (M * C > minValT.length) {
    throw new RangeError(`sortSegment: a ${M}-ms segment does not fit the workspace (${minValT.length / C} ms)`);
  }

  // Transpose the segment's minima to (C, M) rows and score the channels (§7.1).
  const score = new Float64Array(C);
  {
    const mv = buf.minVal;
    const mp = buf.minPos;
    for (let m = 0; m < M; m++) {
      const row = m * C;
      for (let c = 0; c < C; c++) {
        const v = mv[row + c];
        minValT[c * M + m] = v;
        minPosT[c * M + m] = mp[row + c];
      }
    }
    for (let c = 0; c < C; c++) {
      const t = thr[c];
      let s = 0;
      const o = c * M;
      for (let m = 0; m < M; m++) {
        const e = Math.fround(minValT[o + m] - t);
        if (e < 0) s += e;
      }
      score[c] = s;
    }
  }

  const failed = new Uint8Array(C);
  const accepted = new Int32Array(C);
  let numFailed = 0;
  const units: SegmentUnits = { spikes: [], amplitudes: [] };
  const clusterer = work.clusterer;
  const width = 2 * S;
  const minValRow = (c: number): Float32Array => minValT.subarray(c * M, (c + 1) * M);
  const minPosRow = (c: number): Int32Array => minPosT.subarray(c * M, (c + 1) * M);
  const fail = (c: number): void => {
    failed[c] = 1;
    numFailed++;
  };

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
      fail(target);
      continue;
    }

    // §7.2.2 peaks
    let t0 = performance.now();
    const peakMs = await kernels.detectPeaks(minValRow(target), minPosRow(target), thr[target]);
    if (tm) tm.detect += performance.now() - t0;
    if (peakMs.length < Nmin) {
      fail(target);
      continue;
    }

    // §7.3-7.5 neighbourhood, waveforms, template formation
    const nb = neighbours[target];
    const nch = nb.length;
    const d = nch * width;
    const cp: ClusterParams = { minSpikes: Nmin, lambda: params.mergingThreshold, numChannels: nch, width };
    const tpos = target * M;
    const peakSamples = new Int32Array(peakMs.length);
    for (let i = 0; i < peakMs.length; i++) peakSamples[i] = peakMs[i] * S + minPosT[tpos + peakMs[i]];
    t0 = performance.now();
    const xPeaks = await kernels.gatherWaveforms(buf, 0, M, peakSamples, nb);
    let t1 = performance.now();
    if (tm) tm.gather += t1 - t0;
    const formed = clusterer.cluster(xPeaks, peakSamples.length, d, 'formation', cp);
    if (tm) tm.cluster += performance.now() - t1;
    if (formed.rows.length < Nmin) {
      fail(target);
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
    const rows: Float32Array[] = [];
    for (let k = 0; k < nch; k++) rows.push(minValRow(nb[k]));
    // The target leads its neighbourhood unless another site shares its coordinates.
    const candMs = await kernels.matchCandidates(rows, minPosRow(target), fmin, nb[0] === target ? undefined : minValRow(target));
    const candSamples = new Int32Array(candMs.length);
    for (let i = 0; i < candMs.length; i++) candSamples[i] = candMs[i] * S + minPosT[tpos + candMs[i]];
    t1 = performance.now();
    if (tm) tm.match += t1 - t0;
    if (candSamples.length < Nmin) {
      fail(target);
      continue;
    }
    const xCand = await kernels.gatherWaveforms(buf, 0, M, candSamples, nb);
    const t2 = performance.now();
    if (tm) tm.gather += t2 - t1;

    // §7.8 final clustering, §7.9 rejection
    const matched = clusterer.cluster(xCand, candSamples.length, d, 'matching', cp, reference);
    if (tm) tm.cluster += performance.now() - t2;
    if (matched.rows.length < Nmin || matched.mean[S] > thr[target]) {
      fail(target);
      continue;
    }

    t0 = performance.now();
    const n = matched.rows.length;
    const spikes = new Int32Array(n);
    for (let i = 0; i < n; i++) spikes[i] = candSamples[matched.rows[i]];
    // rows are ascending and candidates ascending in time, so spikes are ascending already.

    // §7.10 amplitude vector over all channels. The ms-major minima (kept in step with the
    // transposed rows) make this a contiguous pass per spike.
    const spikeMs = new Int32Array(n);
    for (let i = 0; i < n; i++) spikeMs[i] = Math.floor(spikes[i] / S);
    const acc = work.channelSums(C);
    const mvMajor = buf.minVal;
    for (let i = 0; i < n; i++) {
      const row = spikeMs[i] * C;
      for (let c = 0; c < C; c++) acc[c] += mvMajor[row + c];
    }
    const meanMin = new Float32Array(C);
    const amplitude = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      meanMin[c] = acc[c] / n;
      amplitude[c] = -meanMin[c];
    }

    // §7.11 subtraction of the mean 4-ms waveform (taken before any subtraction) on the
    // affected channels, §7.12 statistics update spike by spike, channel by channel, blocks
    // m-2 .. m+2. Each spike's blocks are re-scanned right after its own subtraction while
    // they are in cache; a block shared with a later spike is re-scanned again after that
    // one, so the final minima are those of the fully subtracted data, and each score
    // changes by (final - original) contributions as in the reference order.
    const affected: number[] = [];
    for (let c = 0; c < C; c++) if (meanMin[c] < thr[c] / 2) affected.push(c);
    const means = meanWindows(buf, spikes, affected);
    const W4 = 4 * S;
    const mpMajor = buf.minPos;
    for (let i = 0; i < n; i++) {
      const m = spikeMs[i];
      const w0 = spikes[i] - 2 * S;
      const blk0 = Math.floor(w0 / S);
      const off0 = w0 - blk0 * S;
      for (let a = 0; a < affected.length; a++) {
        const c = affected[a];
        const mo = a * W4;
        let blk = blk0;
        let off = off0;
        let q = 0;
        while (q < W4) {
          const len = Math.min(S - off, W4 - q);
          const base = (blk * C + c) * S + off;
          for (let j = 0; j < len; j++) data[base + j] -= means[mo + q + j];
          q += len;
          blk++;
          off = 0;
        }
        const tc = thr[c];
        const o = c * M;
        let sc = score[c];
        for (let b = m - 2; b <= m + 2; b++) {
          const old = Math.fround(minValT[o + b] - tc);
          if (old < 0) sc -= old;
          const base = (b * C + c) * S;
          let mv = data[base];
          let mp = 0;
          for (let t = 1; t < S; t++) {
            const v = data[base + t];
            if (v < mv) {
              mv = v;
              mp = t;
            }
          }
          minValT[o + b] = mv;
          minPosT[o + b] = mp;
          mvMajor[b * C + c] = mv;
          mpMajor[b * C + c] = mp;
          const now = Math.fround(mv - tc);
          if (now < 0) sc += now;
        }
        score[c] = sc;
      }
    }
    if (tm) tm.subtract += performance.now() - t0;

    // §7.13 record the unit; the target stays in play.
    units.spikes.push(Float64Array.from(spikes));
    units.amplitudes.push(amplitude);
    accepted[target]++;
  }
  return units;
}

/**
 * Mean over all spikes of the window [s - 2S, s + 2S) on each affected channel, read from the
 * buffer before any subtraction: affected.length rows of 4S float32 values.
 */
export function meanWindows(buf: FilteredBuffer, spikes: Int32Array, affected: readonly number[]): Float32Array {
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const data = buf.data;
  const W = 4 * S;
  const n = spikes.length;
  const means = new Float32Array(affected.length * W);
  if (n === 0) return means;
  const acc = new Float64Array(W);
  for (let a = 0; a < affected.length; a++) {
    const c = affected[a];
    acc.fill(0);
    for (let i = 0; i < n; i++) {
      const w0 = spikes[i] - 2 * S;
      let blk = Math.floor(w0 / S);
      let off = w0 - blk * S;
      let q = 0;
      while (q < W) {
        const len = Math.min(S - off, W - q);
        const base = (blk * C + c) * S + off;
        for (let j = 0; j < len; j++) acc[q + j] += data[base + j];
        q += len;
        blk++;
        off = 0;
      }
    }
    for (let q = 0; q < W; q++) means[a * W + q] = acc[q] / n;
  }
  return means;
}
