/**
 * Pooled residual pass (mode 'improved', poolResiduals; beyond the reference): before
 * tracking, the residual peaks (stages/track/residual.ts) of windows of adjacent segments
 * (at least POOL_WINDOW_MS of data each) are clustered together, and each cluster becomes a
 * unit of every segment of its window where it has peaks, all with the cluster's mean
 * amplitude vector (one segment's 1-4 peaks give too noisy a vector to link). Tracking then
 * links these units like the clustered ones and the recovery pass fills the track's other
 * segments. A cluster's peaks in a segment that already has a unit of the same footprint
 * (within POOL_MAX_DISTANCE, or of the same shape: sameFootprint) are that unit's missed spikes
 * and are left alone: the recovery pass completes that unit with them where it is a track's.
 *
 * Cost: the segments' minima (kept by pass 2, or one more filter pass), one scan of them, and
 * the clustering of the few residual peaks.
 */
import type { Recording } from '../formats/recording.js';
import type { SignalProcessor } from '../engines/engine.js';
import { allocateMinimaBuffer } from '../core/window.js';
import type { SegmentResult } from '../result/sorted-recording.js';
import { aboveFloor, relativeDistance } from '../stages/track/tracks.js';
import { clusterResiduals, residualPeaks, POOL_MAX_DISTANCE, type ResidualPeak } from '../stages/track/residual.js';
import { sameFootprint } from '../stages/sort/burst-merge.js';
import type { RecoveryMinima, SegmentSpan } from './recover.js';

/** A window holds consecutive segments until it spans at least this much data (ms). */
export const POOL_WINDOW_MS = 45_000;

export interface PoolStats {
  residualPeaks: number;
  clusters: number;
  /** Units added to segments. */
  newUnits: number;
  spikes: number;
  filterMs: number;
}

/** Windows of consecutive segment indices, each spanning >= POOL_WINDOW_MS (a shorter rest joins the last one). */
export function poolWindows(spans: readonly SegmentSpan[]): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let ms = 0;
  spans.forEach((p, s) => {
    cur.push(s);
    ms += p.numMs;
    if (ms >= POOL_WINDOW_MS) { out.push(cur); cur = []; ms = 0; }
  });
  if (cur.length > 0) {
    if (out.length > 0) out[out.length - 1].push(...cur);
    else out.push(cur);
  }
  return out;
}

/** The segments with the pooled clusters added as units (new arrays; `segments` is not modified). */
export async function poolResiduals(
  segments: readonly SegmentResult[],
  spans: readonly SegmentSpan[],
  recording: Recording,
  engine: SignalProcessor,
  thresholds: Float32Array,
  polarity: number,
  minSpikes: number,
  kept?: readonly (RecoveryMinima | undefined)[],
): Promise<{ segments: SegmentResult[]; stats: PoolStats }> {
  const stats: PoolStats = { residualPeaks: 0, clusters: 0, newUnits: 0, spikes: 0, filterMs: 0 };
  const out: SegmentResult[] = segments.map((g) => ({ ...g, spikes: g.spikes.slice(), amplitudes: g.amplitudes.slice() }));
  if (segments.length !== spans.length || segments.length === 0) return { segments: out, stats };
  const C = recording.numChannels;
  const S = recording.samplesPerMs;
  const offset = recording.recordingOffset;
  const longest = Math.max(...spans.map((p) => p.numMs));
  let win: ReturnType<typeof allocateMinimaBuffer> | null = null;
  for (const window of poolWindows(spans)) {
    const peaks: ResidualPeak[] = [];
    for (const s of window) {
      const { startMs, numMs: M } = spans[s];
      if (M < 5) continue;
      let minVal: Float32Array, minPos: Int32Array | Uint8Array;
      const k = kept?.[s];
      if (k && k.minVal.length === M * C) {
        minVal = k.minVal;
        minPos = k.minPos;
      } else {
        const t0 = performance.now();
        win ??= allocateMinimaBuffer(C, S, longest);
        await engine.filterBlocks(recording, startMs, M, polarity, win, 0);
        stats.filterMs += performance.now() - t0;
        minVal = win.minVal;
        minPos = win.minPos;
      }
      peaks.push(...residualPeaks(s, minVal, minPos, M, C, thresholds, segments[s].spikes, offset + startMs * S, S));
    }
    stats.residualPeaks += peaks.length;
    for (const cl of clusterResiduals(peaks, recording.geometry, minSpikes)) {
      stats.clusters++;
      const mean = aboveFloor(cl.mean);
      const bySegment = new Map<number, number[]>();
      for (const i of cl.members) {
        const p = peaks[i];
        let list = bySegment.get(p.segment);
        if (!list) bySegment.set(p.segment, (list = []));
        list.push(p.time);
      }
      for (const [s, times] of bySegment) {
        // Missed spikes of a unit the segment has: not a unit of their own. Its clustered vector
        // can be much smaller than the pooled peaks' mean (measured: 1.75 vs 2.76 x threshold
        // for one rare unit, whose pooled unit then started a second track of it), so a unit
        // of the same shape counts too.
        if (segments[s].amplitudes.some((a) => {
          const f = aboveFloor(a);
          return relativeDistance(f, mean) <= POOL_MAX_DISTANCE || sameFootprint(f, mean);
        })) continue;
        out[s].spikes.push(Float64Array.from(times).sort());
        out[s].amplitudes.push(Float32Array.from(cl.mean));
        stats.newUnits++;
        stats.spikes += times.length;
      }
    }
  }
  return { segments: out, stats };
}
