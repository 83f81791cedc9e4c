/**
 * Weak short tracks (mode 'improved'): near the detection threshold, noise and the spikes of
 * several sub-threshold units at one place can form a cluster that §7 accepts in a segment or
 * two, and that tracking then lists as an id matching no unit (measured: bench/QUALITY.md,
 * the false-positive ids of np64-zigzag-120s seeds 2 and 3: 1-3 clustered segments at
 * 0.85-1.21 x threshold). True units that small were clustered in 9 or more segments there
 * (units fire through a recording, or at least a good part of it), and every true track seen
 * in fewer segments reached 1.3 x threshold or more.
 *
 * A listed track is weak when the spike-weighted mean of its clustered units' floor-removed
 * amplitude vectors stays below WEAK_TRACK_RATIO x the threshold on its best channel and it
 * has clustered units in fewer than WEAK_TRACK_MIN_SEGMENTS segments (or fewer than every
 * segment of a shorter result). Pooled units (pipeline/pool.ts) do not count: their peaks
 * reach 1.5 x threshold by construction, so they would vouch for the track they join.
 * Cost: one pass over the listed units.
 */
import { aboveFloor } from './tracks.js';

/** Multiple of the threshold below which a track needs WEAK_TRACK_MIN_SEGMENTS clustered segments. */
export const WEAK_TRACK_RATIO = 1.25;
/** Clustered segments a track below WEAK_TRACK_RATIO x threshold needs to be listed. */
export const WEAK_TRACK_MIN_SEGMENTS = 4;

/**
 * Ids of listed tracks that are weak (see above). `thresholds` per channel (negative, §5),
 * `firstPooled` per segment the index of its first pooled unit (absent: none).
 */
export function weakTracks(
  segments: readonly { spikes: readonly Float64Array[]; amplitudes: readonly Float32Array[] }[],
  tracks: readonly Int32Array[],
  thresholds: Float32Array,
  firstPooled?: readonly number[],
): Set<number> {
  const C = thresholds.length;
  const sum = new Map<number, Float64Array>();
  const weight = new Map<number, number>();
  const count = new Map<number, number>();
  tracks.forEach((t, s) => t.forEach((id, u) => {
    if (id < 0 || u >= (firstPooled?.[s] ?? t.length)) return;
    const n = segments[s].spikes[u].length;
    const a = aboveFloor(segments[s].amplitudes[u]);
    let m = sum.get(id);
    if (!m) { sum.set(id, (m = new Float64Array(C))); weight.set(id, 0); count.set(id, 0); }
    for (let c = 0; c < C; c++) m[c] += n * a[c];
    weight.set(id, weight.get(id)! + n);
    count.set(id, count.get(id)! + 1);
  }));
  const need = Math.min(WEAK_TRACK_MIN_SEGMENTS, tracks.length);
  const out = new Set<number>();
  for (const [id, m] of sum) {
    if (count.get(id)! >= need) continue;
    let best = 0;
    for (let c = 1; c < C; c++) if (m[c] > m[best]) best = c;
    const ratio = m[best] / weight.get(id)! / -thresholds[best];
    if (ratio < WEAK_TRACK_RATIO) out.add(id);
  }
  return out;
}
