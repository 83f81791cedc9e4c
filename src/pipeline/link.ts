/**
 * Linking (§10): the units of consecutive segments are paired by the drift-searched
 * assignment, and the segments with their links become a SortedRecording. Reported boundaries
 * tile the whole recording: the first segment starts at recordingOffset, the last ends at
 * recordingOffset + numSamples.
 */
import type { Recording } from '../formats/recording.js';
import { SortedRecording, type SegmentResult } from '../result/sorted-recording.js';
import { assignClusters } from '../stages/track/assignment.js';

/** The link between segments i and i+1 (§10): for each unit of segment i, its unit in segment i+1 or -1. */
export function linkPair(a: SegmentResult, b: SegmentResult, recording: Recording, maxDrift: number): Int32Array {
  return assignClusters(a.amplitudes, b.amplitudes, recording.geometry, maxDrift);
}

/** `done[i]`: links already computed (as segments finished), the rest are computed here. */
export function linkSegments(segments: SegmentResult[], recording: Recording, maxDrift: number, done: (Int32Array | undefined)[] = []): SortedRecording {
  const offset = recording.recordingOffset;
  segments[0].start = offset;
  segments[segments.length - 1].end = offset + recording.numSamples;
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
