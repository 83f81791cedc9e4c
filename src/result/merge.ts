/**
 * Joining sorted recordings in time and mapping clusters between them: spec §10 for results
 * whose ids are chains (mode 'reference'); for results with tracks (mode 'improved'), the
 * tracks are built again over all segments (stages/track/tracks.ts).
 */
import { SORT_DEFAULTS, checkOptionNames } from '../core/params.js';
import { applyShiftPlan, cachedShiftPlan } from '../stages/track/drift.js';
import { assignClusters, assignClustersDetailed, checkMaxDrift } from '../stages/track/assignment.js';
import { aboveFloor, buildTracks, linkPlausible } from '../stages/track/tracks.js';
import { SortedRecording, type SegmentResult } from './sorted-recording.js';

export interface MergeOptions {
  /** Largest vertical drift (µm) searched between neighbouring segments; rounded half-to-even to a multiple of 5. Default 30. */
  maxDrift?: number;
  /** Tracks only: segments a track may skip and keep its id (default: the sorting default, 3). */
  maxSkippedSegments?: number;
}

function resolveSkips(opts: MergeOptions | undefined, fn: string): number {
  const k = opts?.maxSkippedSegments ?? SORT_DEFAULTS.maxSkippedSegments;
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`${fn}: maxSkippedSegments must be a whole number >= 0, received ${String(k)}; use e.g. ${SORT_DEFAULTS.maxSkippedSegments}`);
  }
  return k;
}

function resolveMaxDrift(opts: MergeOptions | undefined, fn: string): number {
  checkOptionNames(fn, opts, ['maxDrift', 'maxSkippedSegments']);
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw new TypeError(`${fn}: options must be an object like { maxDrift: 30 }, received ${String(opts)}`);
  }
  return checkMaxDrift(opts?.maxDrift ?? 30, fn);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

function fmtRange(r: SortedRecording): string {
  const fs = r.samplingFrequency;
  return `[${r.startTime()}, ${r.endTime()}) samples = [${(r.startTime() / fs).toFixed(3)} s, ${(r.endTime() / fs).toFixed(3)} s)`;
}

/** Throws unless `b` was sorted on the same probe (float32 geometry) at the same rate as `a`. */
function checkCompatible(a: SortedRecording, b: SortedRecording, nameA: string, nameB: string, fn: string): void {
  if (a.numChannels !== b.numChannels) {
    throw new RangeError(
      `${fn}: probe geometry of ${nameB} (${b.numChannels} channels) does not match ${nameA} (${a.numChannels} channels); results can only be combined on the same probe`,
    );
  }
  for (let i = 0; i < a.geometry.length; i++) {
    if (a.geometry[i] !== b.geometry[i]) {
      const c = i >> 1;
      throw new RangeError(
        `${fn}: probe geometry of ${nameB} does not match ${nameA} (channel ${c}: [${b.geometry[2 * c]}, ${b.geometry[2 * c + 1]}] vs [${a.geometry[2 * c]}, ${a.geometry[2 * c + 1]}]); results can only be combined on the same probe`,
      );
    }
  }
  if (a.samplingFrequency !== b.samplingFrequency) {
    throw new RangeError(
      `${fn}: samplingFrequency of ${nameB} (${b.samplingFrequency} Hz) does not match ${nameA} (${a.samplingFrequency} Hz); spike times would not share a time base`,
    );
  }
}

/**
 * Concatenates sorted recordings that follow each other in time on the same probe.
 * Chains (§10, every input without tracks): each pair of neighbours is bridged by one new
 * assignment between the last segment of the earlier recording and the first segment of the
 * later one; ids of the result are the first recording's.
 * Tracks (any input with tracks): the tracks are built again over all segments, so a unit
 * continues across the joins as it does between segments of one sort (skips included). The
 * segment-by-segment pass decides each segment from the ones before it, so with the same
 * maxDrift and maxSkippedSegments the first recording keeps its ids, except where the joining of
 * pieces across long gaps (tracks.ts) now prefers a piece of a later recording.
 */
export function mergeRecordings(list: SortedRecording[], opts?: MergeOptions): SortedRecording {
  const fn = 'mergeRecordings';
  if (!Array.isArray(list)) {
    throw new TypeError(`${fn}: list must be an array of SortedRecording, received ${describe(list)}`);
  }
  if (list.length === 0) {
    throw new RangeError(`${fn}: list is empty; pass at least one SortedRecording (e.g. the results of sortInParallel)`);
  }
  list.forEach((r, i) => {
    if (!(r instanceof SortedRecording)) {
      throw new TypeError(`${fn}: list[${i}] must be a SortedRecording, received ${describe(r)}`);
    }
  });
  const maxDrift = resolveMaxDrift(opts, fn);
  const skips = resolveSkips(opts, fn);
  const first = list[0];
  for (let i = 1; i < list.length; i++) {
    checkCompatible(first, list[i], 'recording 0', `recording ${i}`, fn);
    const prev = list[i - 1];
    const cur = list[i];
    // Out of order is not an overlap: say which order they must be in.
    if (cur.endTime() <= prev.startTime()) {
      throw new RangeError(
        `${fn}: recording ${i} ${fmtRange(cur)} comes before recording ${i - 1} ${fmtRange(prev)}: the list is not in time order; pass the results sorted by startTime(), e.g. list.sort((a, b) => a.startTime() - b.startTime())`,
      );
    }
    // Touching (end == start) is allowed: blocks cut from one file tile it exactly.
    if (prev.endTime() > cur.startTime()) {
      throw new RangeError(
        `${fn}: recording ${i - 1} ${fmtRange(prev)} overlaps recording ${i} ${fmtRange(cur)}; recordings must be in time order and must not overlap (set recordingOffset so that each block starts at or after the previous one's endTime())`,
      );
    }
  }

  const segments: SegmentResult[] = [];
  const links: Int32Array[] = [];
  if (list.some((r) => r.tracked)) {
    for (const rec of list) segments.push(...rec.segments);
    const t = buildTracks(segments, first.geometry, { maxDrift, maxSkippedSegments: skips });
    return new SortedRecording({
      segments, links: t.links, tracks: t.tracks,
      probeGeometry: first.probeGeometry, samplingFrequency: first.samplingFrequency, numChannels: first.numChannels,
    });
  }
  list.forEach((rec, i) => {
    if (i > 0) {
      const last = segments[segments.length - 1];
      links.push(assignClusters(last.amplitudes, rec.segments[0].amplitudes, first.geometry, maxDrift));
    }
    segments.push(...rec.segments);
    links.push(...rec.links);
  });
  return new SortedRecording({
    segments,
    links,
    probeGeometry: first.probeGeometry,
    samplingFrequency: first.samplingFrequency,
    numChannels: first.numChannels,
  });
}

/**
 * A cluster's amplitude vector over the whole result: the mean of its segments' vectors
 * weighted by their spike counts.
 */
function meanVector(r: SortedRecording, id: number): Float32Array {
  const chain = r.chain(id);
  const out = new Float64Array(r.numChannels);
  let n = 0;
  chain.forEach((u, s) => {
    if (u < 0) return;
    const w = r.segments[s].spikes[u].length;
    const v = r.segments[s].amplitudes[u];
    for (let c = 0; c < out.length; c++) out[c] += w * v[c];
    n += w;
  });
  return Float32Array.from(out, (x) => (n > 0 ? x / n : 0));
}

/**
 * Maps cluster ids of `source` to cluster ids of `target` (same probe).
 * Chains on both sides (§10): one drift-searched assignment between their first segments;
 * pairs are kept only where both ids are valid.
 * Otherwise (tracks on either side): one drift-searched assignment between the valid ids'
 * whole-result amplitude vectors (spike-weighted means over their segments), pairs kept only
 * where plausible (the same ceiling as links between segments).
 */
export function mapClusters(source: SortedRecording, target: SortedRecording, opts?: MergeOptions): Map<number, number> {
  const fn = 'mapClusters';
  if (!(source instanceof SortedRecording)) throw new TypeError(`${fn}: source must be a SortedRecording, received ${describe(source)}`);
  if (!(target instanceof SortedRecording)) throw new TypeError(`${fn}: target must be a SortedRecording, received ${describe(target)}`);
  const maxDrift = resolveMaxDrift(opts, fn);
  checkCompatible(source, target, 'source', 'target', fn);
  if (source.tracked || target.tracked) {
    const ids1 = source.clusterIds();
    const ids2 = target.clusterIds();
    const v1 = ids1.map((id) => aboveFloor(meanVector(source, id)));
    const v2 = ids2.map((id) => aboveFloor(meanVector(target, id)));
    const { mapping, shiftUm } = assignClustersDetailed(v1, v2, source.geometry, maxDrift);
    const C = source.numChannels;
    const out = new Map<number, number>();
    mapping.forEach((j, i) => {
      if (j < 0) return;
      const sa = applyShiftPlan(cachedShiftPlan(source.geometry, shiftUm / 2), v1[i], 1);
      const sb = applyShiftPlan(cachedShiftPlan(source.geometry, -shiftUm / 2), v2[j], 1);
      if (sa.length === C && linkPlausible(v1[i], v2[j], sa, sb, source.geometry, maxDrift) === null) out.set(ids1[i], ids2[j]);
    });
    return out;
  }
  const mapping = assignClusters(source.segments[0].amplitudes, target.segments[0].amplitudes, source.geometry, maxDrift);
  const out = new Map<number, number>();
  for (let id = 0; id < mapping.length; id++) {
    const to = mapping[id];
    if (to >= 0 && source.validClusterId(id) && target.validClusterId(to)) out.set(id, to);
  }
  return out;
}
