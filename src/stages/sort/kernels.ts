/**
 * The bulk, data-parallel steps of the per-segment loop (spec §7): the interface every engine
 * implements. The loop (loop.ts) holds only the control flow and the decisions; every pass
 * over the segment's filtered window or its minima goes through these kernels.
 *
 * The kernels address the segment by a handle (`Seg`) and channels by index, never by host
 * arrays: where the window and its minima live is the engine's business. The CPU engine's
 * handle is `SegmentMinima` (a host FilteredBuffer plus the minima transposed to (C, M) rows);
 * the WebGPU engine's is a device-resident window (engines/webgpu/device-window.ts), so the
 * loop's traffic with the device is what the decisions need: scores, spike positions,
 * candidate waveforms and amplitude vectors come back; templates and accepted spikes go down.
 *
 * The readable definition of each step is `cpuSortKernels` (kernels-cpu.ts); the WGSL twins
 * live in engines/webgpu/kernels.ts and are tested against it. New steps (e.g. a recovery
 * pass) are added here as further methods with a CPU definition and a WGSL twin.
 */
import type { FilteredBuffer } from '../../core/window.js';

/** What the loop knows of a segment: its shape. Segment-local samples run over [0, numMs*S). */
export interface SortSegment {
  readonly numChannels: number;
  readonly samplesPerMs: number;
  /** M: the segment's ms blocks. */
  readonly numMs: number;
}

/**
 * The CPU engine's segment: slots [0, M) of a host window plus its minima transposed to
 * (C, M) rows (row c at c*M), which the per-channel steps read.
 */
export interface SegmentMinima extends SortSegment {
  buf: FilteredBuffer;
  minValT: Float32Array;
  minPosT: Int32Array;
}

export interface SortKernels<Seg extends SortSegment = SegmentMinima> {
  /**
   * §7.1: score[c] = sum_m min(0, minVal[c, m] - thr[c]) (float32 terms, float64 sum); the CPU
   * twin also fills the transposed rows of `seg` here.
   */
  channelScores(seg: Seg, thr: Float32Array): Promise<Float64Array>;
  /**
   * §7.2 on channel `channel`'s minima: the peaks m in 2..M-3 (ascending), returned as
   * segment-local samples m*S + minPos[channel, m].
   */
  detectPeaks(seg: Seg, channel: number, threshold: number): Promise<Int32Array>;
  /**
   * §7.4: windows [s-S, s+S) of `channels` (in order) around segment-local samples; returns
   * n x (channels.length*2S) row-major, valid until the next gatherWaveforms of these kernels
   * (the CPU kernels reuse one buffer; the loop reads each result before the next gather).
   */
  gatherWaveforms(seg: Seg, samples: Int32Array, channels: Int32Array): Promise<Float32Array>;
  /**
   * §7.7 feature test: candidates = local minima of channel `target` with threshold 0 (the
   * rule of detectPeaks with h = 0); keep those with feature·f > (f·f)/2 where
   * feature[k] = minVal[channels[k], m]. Returns the kept candidates as segment-local samples
   * m*S + minPos[target, m], ascending.
   */
  matchCandidates(seg: Seg, channels: Int32Array, target: number, templateMinima: Float32Array): Promise<Int32Array>;
  /** §7.10: per channel, the mean over the spikes of minVal at their ms blocks (float64 sum, float32 result). */
  meanMinima(seg: Seg, spikeMs: Int32Array): Promise<Float32Array>;
  /**
   * §7.11: the mean over all spikes of the window [s - 2S, s + 2S) on each affected channel,
   * read before any subtraction: affected.length rows of 4S float32 values.
   */
  meanWindows(seg: Seg, spikes: Int32Array, affected: Int32Array): Promise<Float32Array>;
  /**
   * §7.11-7.12: subtracts the mean windows at every spike on the affected channels and, spike
   * by spike in ascending time, channel by channel, rescans ms blocks m-2 .. m+2: new minima
   * of the segment, score[c] updated by the change of each block's contribution
   * min(0, minVal - thr[c]).
   */
  subtractAndRescan(seg: Seg, spikes: Int32Array, affected: Int32Array, means: Float32Array, thr: Float32Array, score: Float64Array): Promise<void>;
  /**
   * Recovery (beyond the reference, mode 'improved'): the score of K templates at every ms block
   * of a window's minima. Template k has J channels `channels[k*J + j]` with weights
   * `weights[k*J + j]`; score[k*M + m] = sum_j weights[k*J + j] * minVal[m*C + channels[k*J + j]]
   * (float32 products and sums, j ascending). `minVal` is a window's ms-major minima (m*C + c)
   * over its slots [0, M). It reads host minima (the recovery pass filters its windows on the host
   * engine's filter), so every engine can run it with its own twin. The caller may write into
   * the result; it is valid until the next templateScores of these kernels (the CPU kernels
   * reuse one buffer).
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


/** Every channel index is an integer in 0..C-1 (errors name the step and the channel). */
export function checkChannels(step: string, seg: SortSegment, channels: ArrayLike<number>): void {
  for (let k = 0; k < channels.length; k++) {
    const c = channels[k];
    if (!Number.isInteger(c) || c < 0 || c >= seg.numChannels) throw new RangeError(`${step}: channel ${c} is not in 0..${seg.numChannels - 1}`);
  }
}

/** Every window [s - half, s + half) lies inside the segment's numMs*S samples. */
export function checkWindows(step: string, seg: SortSegment, samples: Int32Array, half: number): void {
  const end = seg.numMs * seg.samplesPerMs;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s - half < 0 || s + half > end) throw new RangeError(`${step}: window [${s - half}, ${s + half}) of sample ${s} leaves the segment's ${end} samples`);
  }
}
