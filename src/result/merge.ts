/**
 * Joining sorted recordings in time and mapping clusters between them (spec §10).
 */
import { checkOptionNames } from '../core/params.js';
import { assignClusters, checkMaxDrift } from '../stages/track/assignment.js';
import { SortedRecording, type SegmentResult } from './sorted-recording.js';

export interface MergeOptions {
  /** Largest vertical drift (µm) searched between neighbouring segments; rounded half-to-even to a multiple of 5. Default 30. */
  maxDrift?: number;
}

function resolveMaxDrift(opts: MergeOptions | undefined, fn: string): number {
  checkOptionNames(fn, opts, ['maxDrift']);
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
 * Concatenates sorted recordings that follow each other in time on the same probe. Each pair of
 * neighbours is bridged by one new assignment between the last segment of the earlier recording
 * and the first segment of the later one; ids of the result are the first recording's.
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
 * Maps cluster ids of `source` to cluster ids of `target` (same probe) by one drift-searched
 * assignment between their first segments; pairs are kept only where both ids are valid.
 */
export function mapClusters(source: SortedRecording, target: SortedRecording, opts?: MergeOptions): Map<number, number> {
  const fn = 'mapClusters';
  if (!(source instanceof SortedRecording)) throw new TypeError(`${fn}: source must be a SortedRecording, received ${describe(source)}`);
  if (!(target instanceof SortedRecording)) throw new TypeError(`${fn}: target must be a SortedRecording, received ${describe(target)}`);
  const maxDrift = resolveMaxDrift(opts, fn);
  checkCompatible(source, target, 'source', 'target', fn);
  const mapping = assignClusters(source.segments[0].amplitudes, target.segments[0].amplitudes, source.geometry, maxDrift);
  const out = new Map<number, number>();
  for (let id = 0; id < mapping.length; id++) {
    const to = mapping[id];
    if (to >= 0 && source.validClusterId(id) && target.validClusterId(to)) out.set(id, to);
  }
  return out;
}
