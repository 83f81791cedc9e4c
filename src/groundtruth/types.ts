import * as fs from 'node:fs';
import type { WaveformShape } from './units.js';

/** One ground-truth unit as written to ground_truth.json. */
export interface GroundTruthUnit {
  id: number;
  /** Sample indices (from sample 0 of the file) of the waveform trough on the unit's best channel, ascending. */
  spikes: number[];
  /** Channel nearest to the soma at t = 0 (largest amplitude). */
  bestChannel: number;
  /** Soma position at t = 0: [x, y, z] µm (z = distance from the probe plane). */
  position: [number, number, number];
  /** Position over time: rows [time s, x, y, z] at 1-s steps and on both sides of every drift jump. */
  trajectory: [number, number, number, number][];
  /** Best channel over time: rows [time s, channel] at every change (first row at t = 0). */
  bestChannels: [number, number][];
  /** Nominal peak amplitude on the best site at t = 0 (µV) / noise sd (µV); null when noise is 0. */
  snr: number | null;
  peakAmplitude: number;
  /** Spikes per second actually generated. */
  firingRate: number;
  refractoryMs: number;
  bursty: boolean;
  /** Id of the unit this one was deliberately placed close to (similar amplitude), or null. */
  closePairOf: number | null;
  waveform: WaveformShape;
  /** Mean waveform (µV) on the best channel at t = 0, samples -preS .. postS around the trough. */
  bestChannelTemplate: number[];
  /** Peak amplitude (µV) at t = 0 on every channel where it is at least 10% of the best channel's. */
  footprint: { channels: number[]; amplitudes: number[] };
  /**
   * Trough of bestChannelTemplate after the sorter's Difference-of-Gaussians filter (spec §3) over
   * the filtered noise sd: what detection sees. The default threshold (10 x median|y|) is about
   * 6.7 on this scale. Null when noise is 0 or fs < 5 kHz.
   */
  filteredSnr: number | null;
}

export interface GroundTruth {
  format: 'spikesift-groundtruth';
  version: 1;
  samplingFrequency: number;
  numSamples: number;
  numChannels: number;
  durationS: number;
  noiseLevel: number;
  dataType: string;
  /** File value = scale * µV + offset. */
  scale: number;
  offset: number;
  /** Polarity that undoes the scale for the sorter (-1 / scale), spec §3. */
  detectionPolarity: number;
  /** Displacement of a unit at depth y0: driftAt(drift, t, y0) from generate.ts. */
  drift: { rate: number; jumps: { time: number; um: number }[]; nonRigid: number; centreY: number; halfLength: number };
  probeGeometry: number[][];
  numBackgroundUnits: number;
  /** Samples before/after the trough in bestChannelTemplate. */
  templatePre: number;
  /** Sd (µV) of the noise after the sorter's filter; null when noise is 0 or fs < 5 kHz. */
  detectorNoiseSd: number | null;
  units: GroundTruthUnit[];
}

/** Minimal ground-truth shape the comparison needs (other sources can supply just this). */
export interface GroundTruthLike {
  samplingFrequency?: number;
  units: { id: number; spikes: ArrayLike<number>; snr?: number | null; filteredSnr?: number | null }[];
}

/** Reads a ground_truth.json written by generateRecording (or any file with the GroundTruthLike shape). */
export function loadGroundTruth(file: string): GroundTruth {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`ground truth file ${file}: cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? String(e)}); check the path`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`ground truth file ${file}: is not valid JSON (${(e as Error).message})`);
  }
  const obj = json as Partial<GroundTruth>;
  if (obj === null || typeof obj !== 'object' || !Array.isArray(obj.units)) {
    throw new Error(`ground truth file ${file}: has no "units" list; expected the ground_truth.json written by spikesift generate`);
  }
  obj.units.forEach((u, i) => {
    if (u === null || typeof u !== 'object' || typeof u.id !== 'number' || !Array.isArray(u.spikes)) {
      throw new Error(`ground truth file ${file}: units[${i}] needs a numeric "id" and a "spikes" array`);
    }
  });
  return obj as GroundTruth;
}
