/**
 * Linking: the units of consecutive segments become one SortedRecording. Mode 'reference'
 * pairs them by the drift-searched assignment (§10) and the ids are the unbroken chains; mode
 * 'improved' builds tracks (stages/track/tracks.ts). Reported boundaries tile the whole
 * recording: the first segment starts at recordingOffset, the last ends at
 * recordingOffset + numSamples.
 */
import type { Recording } from '../formats/recording.js';
import type { SortMode } from '../core/params.js';
import { SortedRecording, type SegmentResult } from '../result/sorted-recording.js';
import { assignClusters } from '../stages/track/assignment.js';
import { buildTracks } from '../stages/track/tracks.js';
import { burstFragmentTracks } from '../stages/track/fragments.js';
import { weakTracks } from '../stages/track/weak.js';

/** The link between segments i and i+1 (§10): for each unit of segment i, its unit in segment i+1 or -1. */
export function linkPair(a: SegmentResult, b: SegmentResult, recording: Recording, maxDrift: number): Int32Array {
  return assignClusters(a.amplitudes, b.amplitudes, recording.geometry, maxDrift);
}

/** What linking needs from the resolved options. */
export interface LinkOptions {
  mode: SortMode;
  maxDrift: number;
  maxSkippedSegments: number;
  /** Burst fragments (stages/sort/burst-merge.ts per segment, stages/track/fragments.ts per track); false: neither. */
  mergeBursts: boolean;
}

/** Extends the first and last segments to the recording's ends (§2). */
function tile(segments: SegmentResult[], recording: Recording): void {
  segments[0].start = recording.recordingOffset;
  segments[segments.length - 1].end = recording.recordingOffset + recording.numSamples;
}

/** `done[i]`: links already computed (as segments finished), the rest are computed here (§10 chains). */
export function linkSegments(segments: SegmentResult[], recording: Recording, maxDrift: number, done: (Int32Array | undefined)[] = []): SortedRecording {
  tile(segments, recording);
  const links: Int32Array[] = [];
  for (let i = 0; i + 1 < segments.length; i++) links.push(done[i] ?? linkPair(segments[i], segments[i + 1], recording, maxDrift));
  return new SortedRecording({
    segments,
    links,
    probeGeometry: recording.probeGeometry,
    samplingFrequency: recording.samplingFrequency,
    numChannels: recording.numChannels,
  });
}

/** Tracks over the segments (mode 'improved'). */
export function trackSegments(
  segments: SegmentResult[], recording: Recording, maxDrift: number, maxSkippedSegments: number, mergeBursts = true,
  /** Per segment, the index of its first pooled unit (pipeline/pool.ts); absent: none. */
  firstPooled?: readonly number[],
  /** The detection thresholds (§5): weak short tracks are not listed (stages/track/weak.ts); absent: no such rule. */
  thresholds?: Float32Array,
): SortedRecording {
  tile(segments, recording);
  const input = firstPooled ? segments.map((g, s) => ({ amplitudes: g.amplitudes, spikes: g.spikes, firstPooled: firstPooled[s] })) : segments;
  const { tracks, links, absorbed } = buildTracks(input, recording.geometry, { maxDrift, maxSkippedSegments, splitPieces: true });
  // A piece of a split cluster (stages/track/tracks.ts, mergeRedundant): its spikes join the unit that keeps the id.
  for (const { segment: s, unit: u, into } of absorbed) {
    const a = segments[s].spikes[into], b = segments[s].spikes[u];
    const both = new Float64Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    segments[s].spikes[into] = both.sort();
  }
  // A burst fragment of another track is not listed (stages/track/fragments.ts), nor a track
  // that barely reaches the threshold in a few segments (stages/track/weak.ts).
  const dropped = mergeBursts ? burstFragmentTracks(segments, tracks, recording.samplingFrequency) : new Set<number>();
  if (thresholds) for (const id of weakTracks(segments, tracks, thresholds, firstPooled)) dropped.add(id);
  if (dropped.size > 0) for (const t of tracks) for (let u = 0; u < t.length; u++) if (dropped.has(t[u])) t[u] = -1;
  return new SortedRecording({
    segments,
    links,
    tracks,
    probeGeometry: recording.probeGeometry,
    samplingFrequency: recording.samplingFrequency,
    numChannels: recording.numChannels,
  });
}

/** The result by the mode: §10 chains ('reference', with links already computed in `done`) or tracks. */
export function finishSegments(
  segments: SegmentResult[], recording: Recording, opts: LinkOptions, done: (Int32Array | undefined)[] = [],
  /** Mode 'improved': per segment, the index of its first pooled unit (pipeline/pool.ts). */
  firstPooled?: readonly number[],
  /** Mode 'improved': the detection thresholds (for stages/track/weak.ts). */
  thresholds?: Float32Array,
): SortedRecording {
  return opts.mode === 'reference'
    ? linkSegments(segments, recording, opts.maxDrift, done)
    : trackSegments(segments, recording, opts.maxDrift, opts.maxSkippedSegments, opts.mergeBursts, firstPooled, thresholds);
}
