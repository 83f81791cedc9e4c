/**
 * Linking (§10): the units of consecutive segments are paired by the drift-searched
 * assignment, and the segments with their links become a SortedRecording. Reported boundaries
 * tile the whole recording: the first segment starts at recordingOffset, the last ends at
 * recordingOffset + numSamples.
 */
import type { Recording } from '../formats/recording.js';
import { SortedRecording, type SegmentResult } from '../result/sorted-recording.js';
import { assignClusters } from '../stages/track/assignment.js';

export function linkSegments(segments: SegmentResult[], recording: Recording, maxDrift: number): SortedRecording {
  const offset = recording.recordingOffset;
  segments[0].start = offset;
  segments[segments.length - 1].end = offset + recording.numSamples;
  const links: Int32Array[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    links.push(assignClusters(segments[i].amplitudes, segments[i + 1].amplitudes, recording.geometry, maxDrift));
  }
  return new SortedRecording({
    segments,
    links,
    probeGeometry: recording.probeGeometry,
    samplingFrequency: recording.samplingFrequency,
    numChannels: recording.numChannels,
  });
}
