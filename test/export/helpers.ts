// Hand-built sortings and tiny recordings for the export tests (no sorter involved).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempFolder } from '../temp-dirs.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';

/** A temp folder removed when the test file finishes (test/setup-temp.ts). */
export function tempDir(prefix = 'spikesift-export-'): string {
  return tempFolder(prefix);
}

/** 8 sites, 2 columns 32 µm apart, 20 µm pitch. */
export const GEOMETRY: number[][] = Array.from({ length: 8 }, (_, c) => [(c % 2) * 32, Math.floor(c / 2) * 20]);

import { mulberry32 as rng } from '../random.js';
export { rng };

export interface Built {
  result: SortedRecording;
  /** Per cluster id: all spike times. */
  trains: Map<number, number[]>;
}

/**
 * A sorting of `numSegments` segments tiling [offset, offset + numSamples), with `units`
 * units per segment, linked identically except that unit `broken` (if given) is dropped in
 * the last link. Unit u peaks on channel 2u % 8 with amplitude 50 + 10u.
 */
export function buildSorting(opts: {
  numSamples: number;
  offset?: number;
  numSegments?: number;
  units?: number;
  spikesPerUnitPerSegment?: number;
  broken?: number;
  seed?: number;
  margin?: number;
}): Built {
  const offset = opts.offset ?? 0;
  const nSeg = opts.numSegments ?? 3;
  const units = opts.units ?? 3;
  const per = opts.spikesPerUnitPerSegment ?? 20;
  const margin = opts.margin ?? 0;
  const rand = rng(opts.seed ?? 1);
  const C = GEOMETRY.length;
  const segLen = Math.floor(opts.numSamples / nSeg);
  const segments = [];
  const trains = new Map<number, number[]>();
  for (let s = 0; s < nSeg; s++) {
    const start = offset + s * segLen;
    const end = s === nSeg - 1 ? offset + opts.numSamples : start + segLen;
    const spikes: Float64Array[] = [];
    const amplitudes: Float32Array[] = [];
    for (let u = 0; u < units; u++) {
      const set = new Set<number>();
      const lo = start + (s === 0 ? margin : 0);
      const hi = end - (s === nSeg - 1 ? margin : 0);
      while (set.size < per) set.add(lo + Math.floor(rand() * (hi - lo)));
      const train = Float64Array.from([...set].sort((a, b) => a - b));
      spikes.push(train);
      const amp = new Float32Array(C);
      for (let c = 0; c < C; c++) amp[c] = (50 + 10 * u) * Math.exp(-Math.abs(c - ((2 * u) % C)) / 1.5) + s;
      amplitudes.push(amp);
      if (!trains.has(u)) trains.set(u, []);
      trains.get(u)!.push(...train);
    }
    segments.push({ start, end, spikes, amplitudes });
  }
  const links: Int32Array[] = [];
  for (let s = 0; s < nSeg - 1; s++) {
    const link = Int32Array.from({ length: units }, (_, k) => k);
    if (opts.broken !== undefined && s === nSeg - 2) link[opts.broken] = -1;
    links.push(link);
  }
  if (opts.broken !== undefined) trains.delete(opts.broken);
  const result = new SortedRecording({ segments, links, probeGeometry: GEOMETRY, samplingFrequency: 30000, numChannels: C });
  return { result, trains };
}

/**
 * Writes an int16 recording (sample-major, 8 channels) of low noise with, for each spike
 * time of `trains` (minus `recordingOffset`), a negative Gaussian trough of depth `depth(u)` centred
 * on the spike sample on channel 2u % 8 only.
 */
export function writeRecording(file: string, numSamples: number, trains: Map<number, number[]>, recordingOffset = 0, seed = 2): void {
  const C = GEOMETRY.length;
  const data = new Float32Array(numSamples * C);
  const rand = rng(seed);
  for (let i = 0; i < data.length; i++) data[i] = (rand() - 0.5) * 4;
  for (const [u, times] of trains) {
    const ch = (2 * u) % C;
    for (const t of times) {
      const s = t - recordingOffset;
      for (let k = -15; k <= 15; k++) {
        const i = s + k;
        if (i < 0 || i >= numSamples) continue;
        data[i * C + ch] -= (300 + 100 * u) * Math.exp(-(k * k) / (2 * 3 * 3));
      }
    }
  }
  const out = new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(data[i])));
  fs.writeFileSync(file, new Uint8Array(out.buffer));
}
