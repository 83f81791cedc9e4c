/**
 * The bulk, data-parallel steps of the per-segment loop (spec §7): the interface every engine
 * implements. The loop (loop.ts) holds only the control flow and the decisions; every pass
 * over the segment's filtered window or its minima goes through these kernels.
 *
 * The readable definition of each step is `cpuSortKernels` (kernels-cpu.ts); WGSL twins live
 * in engines/webgpu/kernels.ts and are tested against it. A segment's window is
 * `buf` slots [0, M); `minValT`/`minPosT` are its minima transposed to (C, M) rows, which the
 * loop keeps for the per-channel steps.
 */
import type { FilteredBuffer } from '../../core/window.js';

/** The segment's minima transposed to (C, M) rows (row c at c*M) plus the window they come from. */
export interface SegmentMinima {
  buf: FilteredBuffer;
  /** M: the segment is buffer slots [0, M). */
  numMs: number;
  minValT: Float32Array;
  minPosT: Int32Array;
}

export interface SortKernels {
  /**
   * §7.1: transposes the window's minima of slots [0, M) into seg.minValT / minPosT and
   * returns score[c] = sum_m min(0, minVal[c, m] - thr[c]) (float32 terms, float64 sum).
   */
  channelScores(seg: SegmentMinima, thr: Float32Array): Promise<Float64Array>;
  /** §7.2 on one channel's minima row (length M): returns ascending ms indices m in 2..M-3 that are peaks. */
  detectPeaks(minVal: Float32Array, minPos: Int32Array, threshold: number): Promise<Int32Array>;
  /**
   * §7.4: windows [s-S, s+S) of `channels` (in order) around segment-local samples, from buffer
   * slots starting at ms `baseMs`; returns n x (channels.length*2S) row-major.
   */
  gatherWaveforms(buf: FilteredBuffer, baseMs: number, numMs: number, samples: Int32Array, channels: Int32Array | readonly number[]): Promise<Float32Array>;
  /**
   * §7.7 feature test: candidates = local minima of the target with threshold 0 (rule of
   * detectPeaks with h = 0); keep those with feature·f > (f·f)/2 where feature[k] =
   * minValRows[k][m]. The target's own minima row is `minValTarget`, by default
   * minValRows[0] (the target is first in its neighbourhood unless another site has the same
   * coordinates: then pass it explicitly).
   */
  matchCandidates(minValRows: Float32Array[], minPosTarget: Int32Array, templateMinima: Float32Array, minValTarget?: Float32Array): Promise<Int32Array>;
  /** §7.10: per channel, the mean over the spikes of minVal at their ms blocks (float64 sum, float32 result). */
  meanMinima(seg: SegmentMinima, spikeMs: Int32Array): Promise<Float32Array>;
  /**
   * §7.11: the mean over all spikes of the window [s - 2S, s + 2S) on each affected channel,
   * read before any subtraction: affected.length rows of 4S float32 values.
   */
  meanWindows(buf: FilteredBuffer, spikes: Int32Array, affected: Int32Array): Promise<Float32Array>;
  /**
   * §7.11-7.12: subtracts the mean windows at every spike on the affected channels and, spike
   * by spike in ascending time, channel by channel, rescans ms blocks m-2 .. m+2: new minima in
   * the window's ms-major arrays and in seg's transposed rows, score[c] updated by the change
   * of each block's contribution min(0, minVal - thr[c]).
   */
  subtractAndRescan(seg: SegmentMinima, spikes: Int32Array, affected: Int32Array, means: Float32Array, thr: Float32Array, score: Float64Array): Promise<void>;
  /**
   * Recovery (beyond the reference, mode 'improved'): the score of K templates at every ms block
   * of a window's minima. Template k has J channels `channels[k*J + j]` with weights
   * `weights[k*J + j]`; score[k*M + m] = sum_j weights[k*J + j] * minVal[m*C + channels[k*J + j]]
   * (float32 products and sums, j ascending). `minVal` is a window's ms-major minima (m*C + c)
   * over its slots [0, M).
   */
  templateScores(minVal: Float32Array, numMs: number, numChannels: number, channels: Int32Array, weights: Float32Array, J: number): Promise<Float32Array>;
  /** Frees device resources (no-op on the CPU). */
  dispose?(): void;
}

/** Shape checks shared by both templateScores twins; returns K. */
export function checkTemplateScores(minVal: Float32Array, M: number, C: number, channels: Int32Array, weights: Float32Array, J: number): number {
  if (!Number.isInteger(J) || J < 1) throw new RangeError(`templateScores: J (channels per template) must be a positive integer, received ${String(J)}`);
  if (channels.length !== weights.length || channels.length % J !== 0) {
    throw new RangeError(`templateScores: ${channels.length} channels and ${weights.length} weights are not K x J = K x ${J}`);
  }
  if (minVal.length < M * C) throw new RangeError(`templateScores: minVal has ${minVal.length} values, fewer than M x C = ${M} x ${C}`);
  for (let i = 0; i < channels.length; i++) {
    if (!(channels[i] >= 0 && channels[i] < C)) throw new RangeError(`templateScores: channel ${channels[i]} is not in 0..${C - 1}`);
  }
  return channels.length / J;
}

/** A growable Int32 list without per-element allocation. */
export class IntList {
  private a = new Int32Array(64);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  result(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

/** The peak rule of §7.2 at ms m (2 <= m <= M-3) with threshold h (float32). */
export function isPeak(minVal: Float32Array, minPos: Int32Array, m: number, h: number): boolean {
  const v = minVal[m];
  return v < h
    && (minPos[m - 1] <= minPos[m] || minVal[m - 1] > v)
    && (minPos[m] <= minPos[m + 1] || v <= minVal[m + 1]);
}

/** Shape checks shared by both matchCandidates twins; returns the target row, M and K. */
export function checkMatchArgs(
  minValRows: readonly Float32Array[],
  minPosTarget: Int32Array,
  templateMinima: Float32Array,
  minValTarget: Float32Array | undefined,
): { target: Float32Array; M: number; K: number } {
  const target = minValTarget ?? minValRows[0];
  const M = minPosTarget.length;
  checkRow('minValTarget', target, M);
  const K = templateMinima.length;
  if (minValRows.length !== K) throw new RangeError(`matchCandidates: ${minValRows.length} minima rows for ${K} template channels`);
  for (const r of minValRows) checkRow('a minima row', r, M);
  return { target, M, K };
}

export function checkRow(name: string, a: ArrayLike<number>, M: number): void {
  if (a.length !== M) throw new RangeError(`${name} has length ${a.length}, expected M = ${M} (one value per ms block)`);
}

/** f·f / 2 with float32 rounding after every step, in channel order (the GPU uses the host's value). */
export function halfSelfDot(f: Float32Array): number {
  let ff = 0;
  for (let k = 0; k < f.length; k++) ff = Math.fround(ff + Math.fround(f[k] * f[k]));
  return Math.fround(ff / 2);
}

export function checkGather(buf: FilteredBuffer, baseMs: number, numMs: number, samples: Int32Array, channels: ArrayLike<number>): void {
  const S = buf.samplesPerMs;
  if (!Number.isInteger(baseMs) || baseMs < 0 || !Number.isInteger(numMs) || numMs < 0 || baseMs + numMs > buf.capacityMs) {
    throw new RangeError(`gatherWaveforms: ms slots [${baseMs}, ${baseMs + numMs}) are outside the buffer's ${buf.capacityMs} slots`);
  }
  for (let k = 0; k < channels.length; k++) {
    const c = channels[k];
    if (!Number.isInteger(c) || c < 0 || c >= buf.numChannels) throw new RangeError(`gatherWaveforms: channel ${c} is not in 0..${buf.numChannels - 1}`);
  }
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s - S < 0 || s + S > numMs * S) {
      throw new RangeError(`gatherWaveforms: window [${s - S}, ${s + S}) of sample ${s} leaves the segment's ${numMs * S} samples`);
    }
  }
}

