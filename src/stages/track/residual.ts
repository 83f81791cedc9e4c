/**
 * Pooled residual clustering (mode 'improved', beyond the reference). A unit firing below
 * minSpikesPerCluster / segment length (e.g. 0.3-1 Hz in 5-s segments) is never clustered by
 * §7 in most segments, however large its spikes: its peaks stay unexplained. Pooled over
 * several adjacent segments it has enough of them. This module finds those residual peaks in
 * one segment's per-ms minima and clusters a window's peaks by their amplitude vectors; the
 * caller (pipeline/pool.ts) adds each cluster as a unit of the segments where it has spikes,
 * so tracking links it like any other unit and the recovery pass fills its other segments.
 *
 * Guards against turning noise into units: a residual peak must reach POOL_MIN_AMPLITUDE x the
 * channel's threshold (sub-threshold units and noise cross the threshold by little; the units
 * this is for reach 2-4 x), a cluster needs minSpikesPerCluster peaks within
 * POOL_MAX_DISTANCE of its mean, in at least POOL_MIN_SEGMENTS segments.
 */
import { aboveFloor, relativeDistance } from './tracks.js';

/** A residual peak must reach this multiple of its channel's threshold. */
export const POOL_MIN_AMPLITUDE = 1.5;
/** Largest relative distance (relativeDistance) of a peak's amplitude vector from its cluster's mean. */
export const POOL_MAX_DISTANCE = 0.35;
/** A cluster must have peaks in at least this many segments of the window. */
export const POOL_MIN_SEGMENTS = 2;
/** Peaks whose best sites are farther apart than this (µm) are never compared. */
const POOL_RADIUS_UM = 60;
const POOL_ITERATIONS = 3;

export interface ResidualPeak {
  segment: number;
  /** Sample time, including recordingOffset. */
  time: number;
  /** Best channel (largest multiple of its threshold). */
  channel: number;
  /** Its size in multiples of the threshold there. */
  ratio: number;
  /** Minima at its ms block, negated (positive), all channels. */
  vector: Float32Array;
}

/**
 * Residual peaks of one segment: ms blocks m in 2 .. M-3 whose best channel (largest
 * minVal / thr) reaches POOL_MIN_AMPLITUDE x its threshold, that are a minimum in time there
 * (m-1 not lower, m+1 higher), with no spike of the segment's units within one block.
 * `minVal`/`minPos` ms-major (m*C + c), `thresholds` negative, `base` = sample time of block 0.
 */
export function residualPeaks(
  segment: number, minVal: Float32Array, minPos: Int32Array | Uint8Array, M: number, C: number, thresholds: Float32Array,
  trains: readonly Float64Array[], base: number, S: number,
): ResidualPeak[] {
  const taken = new Uint8Array(M);
  for (const train of trains) {
    for (let i = 0; i < train.length; i++) {
      const m = Math.floor((train[i] - base) / S);
      for (let d = -1; d <= 1; d++) if (m + d >= 0 && m + d < M) taken[m + d] = 1;
    }
  }
  const out: ResidualPeak[] = [];
  for (let m = 2; m <= M - 3; m++) {
    if (taken[m]) continue;
    let best = -1, ratio = 0;
    for (let c = 0; c < C; c++) {
      const r = minVal[m * C + c] / thresholds[c];
      if (r > ratio) { ratio = r; best = c; }
    }
    if (best < 0 || ratio < POOL_MIN_AMPLITUDE) continue;
    const v = minVal[m * C + best];
    if (minVal[(m - 1) * C + best] < v || !(minVal[(m + 1) * C + best] > v)) continue;
    const vector = new Float32Array(C);
    for (let c = 0; c < C; c++) vector[c] = -minVal[m * C + c];
    out.push({ segment, time: base + m * S + minPos[m * C + best], channel: best, ratio, vector });
  }
  return out;
}

export interface ResidualCluster {
  /** Indices into the peaks passed in, ascending time. */
  members: number[];
  /** Mean of the members' vectors (positive, the noise floor not removed: like a unit's amplitude vector). */
  mean: Float32Array;
}

/**
 * Clusters a window's residual peaks: seeds in decreasing size; a cluster is the peaks within
 * POOL_MAX_DISTANCE of its mean (floor removed), the mean recomputed POOL_ITERATIONS times;
 * kept with at least `minSpikes` members in POOL_MIN_SEGMENTS segments. A seed that forms no
 * cluster is not tried again; a kept cluster's peaks leave the pool.
 * Cost: peaks x (peaks within POOL_RADIUS_UM) x C per iteration; residual peaks are few.
 */
export function clusterResiduals(peaks: readonly ResidualPeak[], geometry: Float32Array, minSpikes: number): ResidualCluster[] {
  const n = peaks.length;
  if (n < minSpikes) return [];
  const C = geometry.length / 2;
  const floors = peaks.map((p) => aboveFloor(p.vector));
  const order = Array.from(peaks.keys()).sort((a, b) => peaks[b].ratio - peaks[a].ratio || a - b);
  const used = new Uint8Array(n);
  const near = (a: number, b: number): boolean => {
    const dx = geometry[2 * a] - geometry[2 * b], dy = geometry[2 * a + 1] - geometry[2 * b + 1];
    return dx * dx + dy * dy <= POOL_RADIUS_UM * POOL_RADIUS_UM;
  };
  const out: ResidualCluster[] = [];
  for (const seed of order) {
    if (used[seed]) continue;
    let centre = floors[seed];
    let members: number[] = [];
    for (let it = 0; it < POOL_ITERATIONS; it++) {
      members = [];
      for (let i = 0; i < n; i++) {
        if (used[i] || !near(peaks[i].channel, peaks[seed].channel)) continue;
        if (relativeDistance(floors[i], centre) <= POOL_MAX_DISTANCE) members.push(i);
      }
      if (members.length === 0) break;
      const sum = new Float64Array(C);
      for (const i of members) for (let c = 0; c < C; c++) sum[c] += peaks[i].vector[c];
      centre = aboveFloor(Float32Array.from(sum, (v) => v / members.length));
    }
    used[seed] = 1;
    const segs = new Set(members.map((i) => peaks[i].segment));
    if (members.length < minSpikes || segs.size < POOL_MIN_SEGMENTS) continue;
    for (const i of members) used[i] = 1;
    const mean = new Float32Array(C);
    for (const i of members) for (let c = 0; c < C; c++) mean[c] += peaks[i].vector[c] / members.length;
    out.push({ members: members.sort((a, b) => peaks[a].time - peaks[b].time), mean });
  }
  return out;
}
