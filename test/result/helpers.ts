import { SortedRecording, type SegmentResult } from '../../src/result/sorted-recording.js';

import { mulberry32 } from '../random.js';
export { mulberry32 };

/** Single-column probe, `pitch` µm apart. */
export function linearGeometry(n: number, pitch = 25): number[][] {
  return Array.from({ length: n }, (_, c) => [0, c * pitch]);
}

export function footprint(geometry: number[][], y0: number, peak: number, sigma = 30): Float32Array {
  return Float32Array.from(geometry, ([x, y]) => peak * Math.exp(-((x * x) + (y - y0) ** 2) / (2 * sigma * sigma)));
}

/** Random ascending spike times in [start, end). */
export function randomTrain(rand: () => number, start: number, end: number, n: number): Float64Array {
  const t = Float64Array.from({ length: n }, () => start + Math.floor(rand() * (end - start)));
  return t.sort();
}

/**
 * A recording with units at the given depths in each segment (depth moves by driftPerSegment µm
 * per segment); links are left for the caller (default: identity).
 */
export function buildRecording(opts: {
  depths: number[];
  numSegments: number;
  segmentLength: number;
  start?: number;
  seed?: number;
  channels?: number;
  driftPerSegment?: number;
  links?: Int32Array[];
  fs?: number;
}): SortedRecording {
  const rand = mulberry32(opts.seed ?? 1);
  const geometry = linearGeometry(opts.channels ?? 16);
  const start = opts.start ?? 0;
  const segments: SegmentResult[] = [];
  for (let s = 0; s < opts.numSegments; s++) {
    const a = start + s * opts.segmentLength;
    const b = a + opts.segmentLength;
    segments.push({
      start: a,
      end: b,
      spikes: opts.depths.map(() => randomTrain(rand, a, b, 5 + Math.floor(rand() * 20))),
      amplitudes: opts.depths.map((d, u) => footprint(geometry, d + s * (opts.driftPerSegment ?? 0), 60 + 10 * u)),
    });
  }
  const links =
    opts.links ?? Array.from({ length: opts.numSegments - 1 }, () => Int32Array.from(opts.depths, (_, u) => u));
  return new SortedRecording({ segments, links, probeGeometry: geometry, samplingFrequency: opts.fs ?? 30000, numChannels: geometry.length });
}
