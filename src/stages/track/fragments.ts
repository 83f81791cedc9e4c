/**
 * Burst fragments across a whole track (mode 'improved'): the per-segment burst merge
 * (stages/sort/burst-merge.ts) decides from one segment's spikes, where a fragment of a
 * fast-firing unit has only a handful (5-20 spikes in 5 s) and the chance level of the timing
 * test is high (a 10 Hz unit precedes any spike within 1.5-25 ms with probability ~0.2, so the
 * fragment must reach BURST_CHANCE_FACTOR x 0.2 = 0.8 in every segment). The fragment then
 * persists as a track of its own, which scores as a false-positive id: all its spikes are the
 * bursting unit's, listed under another id (measured: bench/QUALITY.md).
 *
 * A listed track j is a burst fragment of listed track i when, pooled over the segments where
 * both have a unit: same peak channel (of the spike-weighted mean floor-removed vectors), j's
 * peak smaller than i's, footprint cosine >= FOOTPRINT_MIN_COSINE over both vectors'
 * FOOTPRINT_CHANNELS largest channels, and the burst timing test (burstTimingHolds: at least
 * BURST_MIN_FRACTION of j's spikes, and BURST_CHANCE_FACTOR times chance at i's pooled rate, or
 * nearly all of them for a fast unit i, have a spike of i within BURST_WINDOW_MS before them):
 * the per-segment rule on more spikes. Its coincidence test is left out: spikes
 * of j within 1 ms of i's make j more redundant with i, not less. Such a track is not listed
 * (its units stay in their segments, as other unlisted units do); i keeps its id.
 * Cost: pairs of listed tracks with the same peak channel x their shared spikes.
 */
import type { SegmentResult } from '../../result/sorted-recording.js';
import {
  BURST_WINDOW_MS, FOOTPRINT_CHANNELS, FOOTPRINT_MIN_COSINE, burstTimingHolds, precededFraction,
} from '../sort/burst-merge.js';
import { aboveFloor } from './tracks.js';

/** Ids of listed tracks (in `tracks`) that are burst fragments of another listed track. */
export function burstFragmentTracks(segments: readonly SegmentResult[], tracks: readonly Int32Array[], samplingFrequency: number): Set<number> {
  const C = segments.find((g) => g.amplitudes.length > 0)?.amplitudes[0].length ?? 0;
  // Per track: spike-weighted mean floor-removed vector and its unit per segment.
  const mean = new Map<number, Float64Array>();
  const count = new Map<number, number>();
  const unitIn = new Map<number, Map<number, number>>();
  tracks.forEach((t, s) => t.forEach((id, u) => {
    if (id < 0) return;
    const n = segments[s].spikes[u].length;
    const a = aboveFloor(segments[s].amplitudes[u]);
    let m = mean.get(id);
    if (!m) { mean.set(id, (m = new Float64Array(C))); unitIn.set(id, new Map()); count.set(id, 0); }
    for (let c = 0; c < C; c++) m[c] += n * a[c];
    count.set(id, count.get(id)! + n);
    unitIn.get(id)!.set(s, u);
  }));
  const ids = [...mean.keys()].sort((a, b) => a - b);
  const top = new Map<number, number[]>();
  for (const id of ids) {
    const m = mean.get(id)!;
    top.set(id, Array.from(m.keys()).sort((x, y) => m[y] - m[x] || x - y).slice(0, FOOTPRINT_CHANNELS));
  }
  const perMs = samplingFrequency / 1000;
  const lo = BURST_WINDOW_MS[0] * perMs;
  const hi = BURST_WINDOW_MS[1] * perMs;
  const windowS = (BURST_WINDOW_MS[1] - BURST_WINDOW_MS[0]) / 1000;
  const fragments = new Set<number>();
  for (const j of ids) {
    for (const i of ids) {
      if (i === j || top.get(i)![0] !== top.get(j)![0]) continue;
      const a = mean.get(i)!, b = mean.get(j)!;
      const p = top.get(i)![0];
      // Means are spike-weighted sums here; compare per spike.
      if (!(b[p] / count.get(j)! < a[p] / count.get(i)!)) continue;
      let ab = 0, aa = 0, bb = 0;
      for (const c of new Set([...top.get(i)!, ...top.get(j)!])) { ab += a[c] * b[c]; aa += a[c] * a[c]; bb += b[c] * b[c]; }
      if (aa === 0 || bb === 0 || ab < FOOTPRINT_MIN_COSINE * Math.sqrt(aa * bb)) continue;
      // Pooled over shared segments.
      let preceded = 0, nj = 0, ni = 0, duration = 0;
      for (const [s, uj] of unitIn.get(j)!) {
        const ui = unitIn.get(i)!.get(s);
        if (ui === undefined) continue;
        const tj = segments[s].spikes[uj], ti = segments[s].spikes[ui];
        preceded += precededFraction(ti, tj, lo, hi) * tj.length;
        nj += tj.length;
        ni += ti.length;
        duration += (segments[s].end - segments[s].start) / samplingFrequency;
      }
      if (nj === 0 || !(duration > 0)) continue;
      const f = preceded / nj;
      const chance = 1 - Math.exp(-(ni / duration) * windowS);
      if (!burstTimingHolds(f, chance)) continue;
      fragments.add(j);
      break;
    }
  }
  return fragments;
}
