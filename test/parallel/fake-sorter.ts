/**
 * A stand-in for performSpikeSorting with the same signature, used to test the worker plumbing
 * independently of the sorting engine: one unit per channel, spiking at that channel's minimum.
 */
import type { Recording } from '../../src/formats/recording.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';

export async function performSpikeSorting(
  recording: Recording,
  options: { onProgress?: (p: { doneMs: number; totalMs: number }) => void } = {},
): Promise<SortedRecording> {
  if (recording.binaryFile.includes('broken')) throw new Error('cannot sort this block on purpose');
  const C = recording.numChannels;
  const n = recording.numSamples;
  const data = recording.read({ start: 0, numSamples: n });
  const totalMs = Math.floor(n / recording.samplesPerMs) - 2;
  const spikes: Float64Array[] = [];
  const amplitudes: Float32Array[] = [];
  for (let c = 0; c < C; c++) {
    let best = 0;
    for (let t = 1; t < n; t++) if (data[t * C + c] < data[best * C + c]) best = t;
    spikes.push(Float64Array.of(recording.recordingOffset + best));
    amplitudes.push(Float32Array.from({ length: C }, (_, k) => -data[best * C + k]));
    options.onProgress?.({ doneMs: Math.round((totalMs * (c + 1)) / C), totalMs });
  }
  return new SortedRecording({
    segments: [{ start: recording.recordingOffset, end: recording.recordingOffset + n, spikes, amplitudes }],
    links: [],
    probeGeometry: recording.probeGeometry,
    samplingFrequency: recording.samplingFrequency,
    numChannels: C,
  });
}
