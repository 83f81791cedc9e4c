// Synthetic extracellular recordings with known spike times.
//
// The file is produced chunk by chunk (noise, then every spike whose waveform touches the
// chunk), so memory stays bounded whatever the duration and channel count. All state that
// spans chunks (noise colouring filter, PRNG, per-unit spike pointers) is carried over, and
// every random draw happens in a fixed order per sample, so the bytes do not depend on the
// chunk size.

import { checkOptionNames } from '../core/params.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { endianness } from 'node:os';
import { ParameterError, describeValue } from '../core/errors.js';
import { writeNpy } from '../formats/npy.js';
import { Rng, STREAM, gaussianTable } from './prng.js';
import { PROBE_PRESETS, presetLayout, probeInterfaceJson, type ProbeLayout, type ProbePreset } from './probes.js';
import type { GroundTruth, GroundTruthUnit } from './types.js';
import { detectorKernel, filteredNoiseSd, filteredTrough } from './detectability.js';
import {
  MAX_DELAY_MS, drawShape, farShape, makeSpikeTrain, tableGeometry, tabulateShape,
  type TableGeometry, type UnitModel,
} from './units.js';

export interface DriftJump {
  /** Time of the jump (s). */
  time: number;
  /** Displacement (µm) added from that time on; positive = units move towards larger y. */
  um: number;
}

export interface DriftOptions {
  /** Gradual drift (µm/s) of every unit along y; positive = towards larger y. Default 0. */
  rate?: number;
  /** Abrupt displacements at given times. Default none. */
  jumps?: DriftJump[];
  /**
   * Depth dependence in [0, 1]: a unit at depth y moves (1 + nonRigid * (y - centreY) / halfLength)
   * times the nominal displacement (centreY, halfLength: middle and half length of the probe in y),
   * so 0 (default) is rigid and 0.5 moves the top 1.5x and the bottom 0.5x as far.
   */
  nonRigid?: number;
}

/** Drift as resolved: the probe's centre and half length are filled in for the depth dependence. */
export interface ResolvedDrift {
  rate: number;
  jumps: DriftJump[];
  nonRigid: number;
  centreY: number;
  halfLength: number;
}

export interface GenerateOptions {
  /** Output folder (created if missing; existing files of the same names are replaced). */
  out: string;
  /** Probe layout preset (default 'linear32' unless `geometry` is given); null counts as absent. */
  preset?: ProbePreset | null;
  /** Custom C x 2 site positions (µm), instead of a preset; null counts as absent. */
  geometry?: number[][] | null;
  /** Hz, default 30000. */
  samplingFrequency?: number;
  /** Seconds, default 10. */
  duration?: number;
  /** Detectable units, default round(C / 4) (at least 3). */
  numUnits?: number;
  /** Integer seed, default 0. Same seed and options give byte-identical files. */
  seed?: number;
  /** Broadband noise sd (µV), default 10. */
  noiseLevel?: number;
  drift?: DriftOptions;
  /** 'int16' (default) or 'float32'. */
  dataType?: 'int16' | 'float32';
  /** File value = scale * µV + offset. Default 1/0.195 for int16 (0.195 µV per bit, the Intan RHD2000 step: quantisation far below the noise), 1 for float32. */
  scale?: number;
  /** Default 0. */
  offset?: number;
  /** Range of per-unit SNR (peak on best site / noise sd), drawn log-uniformly. Default [3, 20]. */
  snrRange?: [number, number];
  /** Peak amplitudes (µV) drawn log-uniformly; overrides snrRange (useful with noiseLevel 0). */
  amplitudeRange?: [number, number] | null;
  /** Mean firing rates (Hz), log-uniform. Default [1, 15]. */
  firingRateRange?: [number, number];
  /** Fraction of units that fire bursts with amplitude decrement. Default 0.2. */
  burstFraction?: number;
  /** Fraction of units placed as close pairs (10-25 µm apart, amplitude within ±15%). Default 0.15. */
  closePairFraction?: number;
  /** Small units far from the probe, below detection (not in the ground truth). Default 2 * numUnits. */
  backgroundUnits?: number;
  /** Their SNR range. Default [0.3, 1.5]. */
  backgroundSnrRange?: [number, number];
  /** Share of the noise variance common to nearby channels (and, partly, all channels). Default 0.3. */
  noiseCorrelation?: number;
  /** Amplitude (µV) of the slow LFP-like component. Default 50. */
  lfpAmplitude?: number;
  /** Per-channel DC offsets drawn uniformly in ±this (µV). Default 300. */
  dcOffsetRange?: number;
  /** Samples per generated chunk (memory bound); does not change the output. Default ~4M values / C. */
  chunkSamples?: number;
  onProgress?: (p: { doneSamples: number; totalSamples: number }) => void;
}

/** Everything that defines the recording (params.json holds this; pass it back with `out` to regenerate). */
export interface ResolvedGenerateOptions {
  preset: ProbePreset | null;
  geometry: number[][];
  samplingFrequency: number;
  duration: number;
  numUnits: number;
  seed: number;
  noiseLevel: number;
  drift: ResolvedDrift;
  dataType: 'int16' | 'float32';
  scale: number;
  offset: number;
  snrRange: [number, number];
  amplitudeRange: [number, number] | null;
  firingRateRange: [number, number];
  burstFraction: number;
  closePairFraction: number;
  backgroundUnits: number;
  backgroundSnrRange: [number, number];
  noiseCorrelation: number;
  lfpAmplitude: number;
  dcOffsetRange: number;
}

export interface GenerationSummary {
  numUnits: number;
  numBackgroundUnits: number;
  numSpikes: number;
  snr: { min: number; median: number; max: number } | null;
  firingRate: { min: number; median: number; max: number };
  /** Units whose filteredSnr reaches the default detection threshold (10 x median|y| ~ 6.7 filtered sd). */
  numAboveDefaultThreshold: number | null;
  /** Wall-clock seconds of the generation. */
  seconds: number;
}

export interface GeneratedRecording {
  dir: string;
  binaryFile: string;
  dataType: 'int16' | 'float32';
  probeGeometry: number[][];
  samplingFrequency: number;
  numSamples: number;
  numChannels: number;
  groundTruthFile: string;
  probeFile: string;
  probeNpyFile: string;
  paramsFile: string;
  scale: number;
  offset: number;
  /** -1 / scale: the sorter polarity that turns file units back into (negated) µV (spec §3). */
  detectionPolarity: number;
  options: ResolvedGenerateOptions;
  summary: GenerationSummary;
}

/** µV per int16 step by default (Intan RHD2000's; Neuropixels 1.0 at gain 500 is coarser, 2.34 µV). */
export const DEFAULT_UV_PER_BIT = 0.195;

/* ------------------------------------------------------------------ validation */

function fail(param: string, value: unknown, why: string): never {
  throw new ParameterError(param, value, `generateRecording: ${param} ${why}, received ${describeValue(value)}`);
}

function num(param: string, v: unknown, def: number, check: (x: number) => boolean, rule: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) fail(param, v, `must be ${rule}`);
  return v;
}

function range(param: string, v: unknown, def: [number, number], minExclusive: number): [number, number] {
  if (v === undefined) return def;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail(param, v, 'must be [low, high] with two finite numbers');
  }
  const [lo, hi] = v as [number, number];
  if (!(lo > minExclusive) || !(hi >= lo)) fail(param, v, `must satisfy ${minExclusive} < low <= high (got [${lo}, ${hi}])`);
  return [lo, hi];
}

export function resolveGenerateOptions(o: GenerateOptions): { resolved: ResolvedGenerateOptions; layout: ProbeLayout } {
  checkOptionNames('generateRecording', o, ['out', 'preset', 'geometry', 'samplingFrequency', 'duration', 'numUnits', 'seed', 'noiseLevel', 'drift', 'dataType', 'scale', 'offset', 'snrRange', 'amplitudeRange', 'firingRateRange', 'burstFraction', 'closePairFraction', 'backgroundUnits', 'backgroundSnrRange', 'noiseCorrelation', 'lfpAmplitude', 'dcOffsetRange', 'chunkSamples', 'onProgress']);
  // centreY and halfLength: the resolved drift that params.json records (fed back to regenerate).
  checkOptionNames('generateRecording: drift', o?.drift, ['rate', 'jumps', 'nonRigid', 'centreY', 'halfLength']);
  if (o === null || typeof o !== 'object') fail('options', o, 'must be an object with at least `out`');
  if (typeof o.out !== 'string' || o.out.length === 0) fail('out', o.out, 'must be a non-empty folder path');
  let layout: ProbeLayout;
  let preset: ProbePreset | null = null;
  if (o.geometry != null) {
    if (o.preset != null) fail('preset', o.preset, 'cannot be combined with a custom geometry; pass one of them');
    const g = o.geometry;
    if (!Array.isArray(g) || g.length === 0) fail('geometry', g, 'must be a non-empty C x 2 array of [x, y] µm');
    g.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== 2 || !row.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        fail(`geometry[${i}]`, row, 'must be [x, y] with two finite numbers (µm)');
      }
    });
    layout = { positions: g.map((r) => [r[0]!, r[1]!]), shape: 'circle', shapeParams: { radius: 7.5 }, name: 'custom' };
  } else {
    preset = o.preset ?? 'linear32';
    if (!PROBE_PRESETS.includes(preset)) fail('preset', o.preset, `must be one of ${PROBE_PRESETS.join(', ')}`);
    layout = presetLayout(preset);
  }
  const C = layout.positions.length;
  const samplingFrequency = num('samplingFrequency', o.samplingFrequency, 30000, (x) => x >= 1000, 'a number >= 1000 (Hz)');
  const duration = num('duration', o.duration, 10, (x) => x > 0, 'a positive number of seconds');
  const numSamples = Math.round(duration * samplingFrequency);
  if (numSamples < 1 || numSamples * C > 2 ** 52) fail('duration', o.duration, 'gives no samples or an impossibly large file');
  const numUnits = num('numUnits', o.numUnits, Math.max(3, Math.round(C / 4)), (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const seed = num('seed', o.seed, 0, (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer');
  const noiseLevel = num('noiseLevel', o.noiseLevel, 10, (x) => x >= 0, 'a non-negative number (µV sd)');
  const d = o.drift ?? {};
  if (d === null || typeof d !== 'object') fail('drift', d, 'must be an object { rate?, jumps? }');
  const rate = num('drift.rate', d.rate, 0, () => true, 'a finite number (µm/s)');
  const jumpsIn = d.jumps ?? [];
  if (!Array.isArray(jumpsIn)) fail('drift.jumps', jumpsIn, 'must be an array of { time, um }');
  const jumps = jumpsIn.map((j, i) => {
    if (j === null || typeof j !== 'object') fail(`drift.jumps[${i}]`, j, 'must be { time: seconds, um: displacement }');
    return {
      time: num(`drift.jumps[${i}].time`, j.time, NaN, (x) => x >= 0, 'a non-negative time in seconds'),
      um: num(`drift.jumps[${i}].um`, j.um, NaN, () => true, 'a finite displacement in µm'),
    };
  }).sort((a, b) => a.time - b.time);
  const nonRigid = num('drift.nonRigid', d.nonRigid, 0, (x) => x >= 0 && x <= 1, 'in [0, 1] (0 = rigid drift)');
  let ymin = Infinity, ymax = -Infinity;
  for (const p of layout.positions) { ymin = Math.min(ymin, p[1]!); ymax = Math.max(ymax, p[1]!); }
  const centreY = (ymin + ymax) / 2, halfLength = Math.max((ymax - ymin) / 2, 1);
  const dataType = o.dataType ?? 'int16';
  if (dataType !== 'int16' && dataType !== 'float32') fail('dataType', o.dataType, "must be 'int16' or 'float32'");
  const scale = num('scale', o.scale, dataType === 'int16' ? 1 / DEFAULT_UV_PER_BIT : 1, (x) => x !== 0, 'a non-zero number (file units per µV)');
  const offset = num('offset', o.offset, 0, () => true, 'a finite number (file units)');
  const resolved: ResolvedGenerateOptions = {
    preset,
    geometry: layout.positions,
    samplingFrequency,
    duration,
    numUnits,
    seed,
    noiseLevel,
    drift: { rate, jumps, nonRigid, centreY, halfLength },
    dataType,
    scale,
    offset,
    snrRange: range('snrRange', o.snrRange, [3, 20], 0),
    amplitudeRange: o.amplitudeRange == null ? null : range('amplitudeRange', o.amplitudeRange, [30, 200], 0),
    firingRateRange: range('firingRateRange', o.firingRateRange, [1, 15], 0),
    burstFraction: num('burstFraction', o.burstFraction, 0.2, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    closePairFraction: num('closePairFraction', o.closePairFraction, 0.15, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    backgroundUnits: num('backgroundUnits', o.backgroundUnits, 2 * numUnits, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer'),
    backgroundSnrRange: range('backgroundSnrRange', o.backgroundSnrRange, [0.3, 1.5], 0),
    noiseCorrelation: num('noiseCorrelation', o.noiseCorrelation, 0.3, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    lfpAmplitude: num('lfpAmplitude', o.lfpAmplitude, 50, (x) => x >= 0, 'a non-negative number (µV)'),
    dcOffsetRange: num('dcOffsetRange', o.dcOffsetRange, 300, (x) => x >= 0, 'a non-negative number (µV)'),
  };
  if (resolved.amplitudeRange === null && noiseLevel === 0) {
    fail('noiseLevel', 0, 'is 0, so SNR cannot set amplitudes; also pass amplitudeRange (µV)');
  }
  if (o.chunkSamples !== undefined) num('chunkSamples', o.chunkSamples, 0, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  return { resolved, layout };
}

/* ------------------------------------------------------------------ model */

/**
 * Displacement (µm along y) at time t (s) of a unit whose depth at t = 0 is y0; without y0 (or
 * for rigid drift) the nominal displacement. `drift` is ground_truth.json's "drift".
 */
export function driftAt(drift: { rate: number; jumps: DriftJump[]; nonRigid?: number; centreY?: number; halfLength?: number }, t: number, y0?: number): number {
  let d = drift.rate * t;
  for (const j of drift.jumps) if (t >= j.time) d += j.um;
  if (y0 !== undefined && drift.nonRigid) d *= 1 + (drift.nonRigid * (y0 - (drift.centreY ?? 0))) / (drift.halfLength ?? 1);
  return d;
}

interface ProbeExtent { xmin: number; xmax: number; ymin: number; ymax: number }

function extent(pos: number[][]): ProbeExtent {
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const [x, y] of pos) {
    xmin = Math.min(xmin, x!); xmax = Math.max(xmax, x!);
    ymin = Math.min(ymin, y!); ymax = Math.max(ymax, y!);
  }
  return { xmin, xmax, ymin, ymax };
}

function nearestSite(gx: Float64Array, gy: Float64Array, x: number, y: number, z: number): { channel: number; distance: number } {
  let best = -1, bd = Infinity;
  for (let c = 0; c < gx.length; c++) {
    const dx = gx[c]! - x, dy = gy[c]! - y;
    const d = dx * dx + dy * dy;
    if (d < bd) { bd = d; best = c; }
  }
  return { channel: best, distance: Math.sqrt(bd + z * z) };
}

function makeUnit(rng: Rng, index: number, background: boolean, x: number, y: number, z: number, amplitude: number,
  R: ResolvedGenerateOptions, g: TableGeometry, gx: Float64Array, gy: Float64Array, rateRange: [number, number], pairOf: number): UnitModel {
  const shape = drawShape(rng);
  const near = tabulateShape(shape, g, R.samplingFrequency);
  const far = tabulateShape(farShape(shape), g, R.samplingFrequency);
  return {
    index, x, y, z,
    peakAmplitude: amplitude,
    exponent: rng.range(1.3, 1.9),
    refDistance: nearestSite(gx, gy, x, y, z).distance,
    speed: rng.range(300, 800),
    shapeScale: rng.range(30, 60),
    shape, near, far,
    rate: rng.logRange(rateRange[0], rateRange[1]),
    refractoryMs: rng.range(1.5, 2.5),
    bursty: !background && rng.uniform() < R.burstFraction,
    pairOf,
    spikes: new Float64Array(0),
    spikeAmp: new Float32Array(0),
    background,
  };
}

function buildUnits(R: ResolvedGenerateOptions, g: TableGeometry, gx: Float64Array, gy: Float64Array, ext: ProbeExtent): UnitModel[] {
  const rng = new Rng(R.seed, STREAM.units);
  const units: UnitModel[] = [];
  const amp = (): number => R.amplitudeRange
    ? rng.logRange(R.amplitudeRange[0], R.amplitudeRange[1])
    : rng.logRange(R.snrRange[0], R.snrRange[1]) * R.noiseLevel;
  const numPairs = R.closePairFraction > 0 && R.numUnits >= 2
    ? Math.max(R.numUnits >= 4 ? 1 : 0, Math.round((R.numUnits * R.closePairFraction) / 2))
    : 0;
  // Pair partners are spread over the unit list rather than grouped at the start.
  const pairStride = numPairs > 0 ? Math.floor(R.numUnits / numPairs) : 0;
  for (let i = 0; i < R.numUnits; i++) {
    const isPartner = numPairs > 0 && i % pairStride === 1 && Math.floor(i / pairStride) < numPairs;
    if (isPartner) {
      const p = units[i - 1]!;
      const ang = rng.range(0, 2 * Math.PI);
      const dist = rng.range(10, 25);
      const x = p.x + dist * Math.cos(ang), y = p.y + dist * Math.sin(ang);
      const z = Math.max(12, p.z + rng.range(-5, 5));
      const a0 = p.peakAmplitude * rng.range(0.85, 1.15);
      units.push(makeUnit(rng, i, false, x, y, z, a0, R, g, gx, gy, R.firingRateRange, i - 1));
    } else {
      const x = rng.range(ext.xmin - 20, ext.xmax + 20);
      const y = rng.range(ext.ymin - 10, ext.ymax + 10);
      const z = rng.range(15, 50);
      units.push(makeUnit(rng, i, false, x, y, z, amp(), R, g, gx, gy, R.firingRateRange, -1));
    }
  }
  const brng = new Rng(R.seed, STREAM.background);
  for (let i = 0; i < R.backgroundUnits; i++) {
    const x = brng.range(ext.xmin - 60, ext.xmax + 60);
    const y = brng.range(ext.ymin - 60, ext.ymax + 60);
    const z = brng.range(40, 120);
    const a = R.noiseLevel > 0
      ? brng.logRange(R.backgroundSnrRange[0], R.backgroundSnrRange[1]) * R.noiseLevel
      : brng.logRange(0.5, 3);
    units.push(makeUnit(brng, R.numUnits + i, true, x, y, z, a, R, g, gx, gy, [1, 8], -1));
  }
  return units;
}

/* ------------------------------------------------------------------ generation */

interface NoiseModel {
  /** Shared components per sample: [global, bump 0, bump 1, ...]. */
  numShared: number;
  wGlobal: Float64Array; wA: Float64Array; wB: Float64Array;
  bumpA: Int32Array; bumpB: Int32Array;
  indep: number;
  alpha: number; beta: number;
  dc: Float64Array;
  lfpGainA: Float64Array; lfpGainB: Float64Array;
  /** Three sinusoids per LFP component: frequency (Hz), phase, weight. */
  lfpA: number[][]; lfpB: number[][];
}

function buildNoise(R: ResolvedGenerateOptions, gy: Float64Array, ext: ProbeExtent): NoiseModel {
  const C = gy.length;
  const rng = new Rng(R.seed, STREAM.channels);
  // Spatially smooth shared noise: Gaussian fields on "bumps" every 150 µm along y, blended
  // linearly between the two nearest bumps, plus a small all-channel (reference-like) part.
  const spacing = 150;
  const numBumps = Math.floor((ext.ymax - ext.ymin) / spacing) + 2;
  const rho = R.noiseCorrelation;
  const wGlobal = new Float64Array(C), wA = new Float64Array(C), wB = new Float64Array(C);
  const bumpA = new Int32Array(C), bumpB = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    const u = (gy[c]! - ext.ymin) / spacing;
    const j = Math.min(Math.floor(u), numBumps - 2);
    const f = u - j;
    const n = Math.hypot(1 - f, f);
    const local = Math.sqrt(rho * 0.75), global = Math.sqrt(rho * 0.25);
    wGlobal[c] = global;
    wA[c] = (local * (1 - f)) / n; bumpA[c] = 1 + j;
    wB[c] = (local * f) / n; bumpB[c] = 2 + j;
  }
  const dc = new Float64Array(C);
  for (let c = 0; c < C; c++) dc[c] = rng.range(-R.dcOffsetRange, R.dcOffsetRange);
  // LFP: one component that reverses polarity with depth, one nearly uniform.
  const span = Math.max(ext.ymax - ext.ymin, 200);
  const lfpGainA = new Float64Array(C), lfpGainB = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const r = (gy[c]! - ext.ymin) / span;
    lfpGainA[c] = R.lfpAmplitude * Math.cos(Math.PI * (0.15 + 0.7 * r));
    lfpGainB[c] = R.lfpAmplitude * 0.6 * (1 - 0.3 * r);
  }
  const lrng = new Rng(R.seed, STREAM.lfp);
  const comp = (lo: number, hi: number): number[][] => [0, 1, 2].map(() => [lrng.range(lo, hi), lrng.range(0, 2 * Math.PI), Math.sqrt(2 / 3)]);
  // Colouring: one-pole low-pass at 5 kHz (amplifier anti-aliasing), unit-gain in variance.
  const alpha = Math.exp((-2 * Math.PI * Math.min(5000, 0.4 * R.samplingFrequency)) / R.samplingFrequency);
  return {
    numShared: 1 + numBumps,
    wGlobal, wA, wB, bumpA, bumpB,
    indep: Math.sqrt(1 - rho),
    alpha, beta: Math.sqrt(1 - alpha * alpha) * R.noiseLevel,
    dc, lfpGainA, lfpGainB,
    lfpA: comp(1, 10), lfpB: comp(0.5, 4),
  };
}

/** Fills buf (len x C, sample-major) with noise + LFP + DC for samples [t0, t0+len). Advances rng/state. */
function fillNoise(buf: Float32Array, t0: number, len: number, C: number, fsHz: number, nm: NoiseModel, rng: Rng, state: Float64Array, shared: Float64Array): void {
  const G = gaussianTable();
  let s0 = rng.s0, s1 = rng.s1, s2 = rng.s2, s3 = rng.s3;
  const { wGlobal, wA, wB, bumpA, bumpB, dc, lfpGainA, lfpGainB, indep, alpha, beta, numShared } = nm;
  const twoPi = 2 * Math.PI;
  const la = nm.lfpA, lb = nm.lfpB;
  let r = 0;
  for (let ti = 0; ti < len; ti++) {
    for (let j = 0; j < numShared; j++) {
      if ((j & 1) === 0) {
        r = Math.imul(s1, 5); r = Math.imul((r << 7) | (r >>> 25), 9);
        const t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        shared[j] = G[r & 0xffff]!;
      } else {
        shared[j] = G[r >>> 16]!;
      }
    }
    const tt = (t0 + ti) / fsHz;
    const LA = la[0]![2]! * Math.sin(twoPi * la[0]![0]! * tt + la[0]![1]!) + la[1]![2]! * Math.sin(twoPi * la[1]![0]! * tt + la[1]![1]!) + la[2]![2]! * Math.sin(twoPi * la[2]![0]! * tt + la[2]![1]!);
    const LB = lb[0]![2]! * Math.sin(twoPi * lb[0]![0]! * tt + lb[0]![1]!) + lb[1]![2]! * Math.sin(twoPi * lb[1]![0]! * tt + lb[1]![1]!) + lb[2]![2]! * Math.sin(twoPi * lb[2]![0]! * tt + lb[2]![1]!);
    const sg = shared[0]!;
    const base = ti * C;
    for (let c = 0; c < C; c++) {
      let z: number;
      if ((c & 1) === 0) {
        r = Math.imul(s1, 5); r = Math.imul((r << 7) | (r >>> 25), 9);
        const t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        z = G[r & 0xffff]!;
      } else {
        z = G[r >>> 16]!;
      }
      const v = indep * z + wGlobal[c]! * sg + wA[c]! * shared[bumpA[c]!]! + wB[c]! * shared[bumpB[c]!]!;
      const st = alpha * state[c]! + beta * v;
      state[c] = st;
      buf[base + c] = st + dc[c]! + lfpGainA[c]! * LA + lfpGainB[c]! * LB;
    }
  }
  rng.s0 = s0; rng.s1 = s1; rng.s2 = s2; rng.s3 = s3;
}

interface SpikeContext {
  C: number;
  fsHz: number;
  gx: Float64Array; gy: Float64Array;
  g: TableGeometry;
  maxDelayS: number;
  drift: ResolvedDrift;
  noiseLevel: number;
  dist: Float64Array;
}

/** Adds spike `k` of `u` to buf, restricted to samples [t0, t0+len). */
function addSpike(u: UnitModel, k: number, buf: Float32Array, t0: number, len: number, ctx: SpikeContext): void {
  const { C, gx, gy, g, dist } = ctx;
  const ts = u.spikes[k]!;
  const y = u.y + driftAt(ctx.drift, ts / ctx.fsHz, u.y);
  const z2 = u.z * u.z;
  let dmin = Infinity;
  for (let c = 0; c < C; c++) {
    const dx = gx[c]! - u.x, dy = gy[c]! - y;
    const d = Math.sqrt(dx * dx + dy * dy + z2);
    dist[c] = d;
    if (d < dmin) dmin = d;
  }
  const e = u.exponent;
  const aBest = u.peakAmplitude * u.spikeAmp[k]! * Math.pow(u.refDistance / dmin, e);
  // Only sites where the spike is non-negligible get it: relative 3% or 0.15 noise sd.
  const cutoff = Math.max(0.03 * aBest, 0.15 * ctx.noiseLevel);
  if (cutoff >= aBest) return;
  const dmax = dmin * Math.pow(aBest / cutoff, 1 / e);
  const spm = ctx.fsHz / 1000;
  const preS = g.preS, postS = g.postS, os = g.os;
  const near = u.near, far = u.far;
  const kLo = t0 - ts, kHi = t0 + len - 1 - ts;
  for (let c = 0; c < C; c++) {
    const d = dist[c]!;
    if (d > dmax) continue;
    const a = aBest * Math.pow(dmin / d, e);
    const delay = Math.min(MAX_DELAY_MS, (d - dmin) / u.speed) * spm;
    const w = Math.exp(-(d - dmin) / u.shapeScale);
    const k0 = Math.max(Math.ceil(delay - preS), kLo);
    const k1 = Math.min(Math.floor(delay + postS), kHi);
    for (let kk = k0; kk <= k1; kk++) {
      const pos = (kk - delay + preS) * os;
      const i = Math.floor(pos);
      const f = pos - i;
      const nv = near[i]! + f * (near[i + 1]! - near[i]!);
      const fv = far[i]! + f * (far[i + 1]! - far[i]!);
      buf[(ts + kk - t0) * C + c]! += a * (fv + w * (nv - fv));
    }
  }
}

/** Rounds half up (floor(x + 0.5)) and saturates; kept small so V8 optimises it on its own. */
function quantizeInt16(buf: Float32Array, n: number, scale: number, offset: number, out: Int16Array): Uint8Array {
  const off = offset + 0.5;
  for (let i = 0; i < n; i++) {
    let v = buf[i]! * scale + off;
    v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    out[i] = Math.floor(v);
  }
  return new Uint8Array(out.buffer, 0, n * 2);
}

function scaleFloat32(buf: Float32Array, n: number, scale: number, offset: number, out: Float32Array): Uint8Array {
  for (let i = 0; i < n; i++) out[i] = buf[i]! * scale + offset;
  return new Uint8Array(out.buffer, 0, n * 4);
}

function quantiles(v: number[]): { min: number; median: number; max: number } {
  const s = [...v].sort((a, b) => a - b);
  if (s.length === 0) return { min: NaN, median: NaN, max: NaN };
  const m = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2, max: s[s.length - 1]! };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Writes a synthetic recording folder: recording.bin, probe.json, probe.npy, ground_truth.json,
 * params.json. Returns the paths and what is needed to open it as a Recording.
 */
export async function generateRecording(options: GenerateOptions): Promise<GeneratedRecording> {
  const started = performance.now();
  const { resolved: R, layout } = resolveGenerateOptions(options);
  if (endianness() !== 'LE') throw new Error('generateRecording: big-endian hosts are not supported (files are little-endian)');
  const dir = path.resolve(options.out);
  fs.mkdirSync(dir, { recursive: true });
  const C = layout.positions.length;
  const fsHz = R.samplingFrequency;
  const N = Math.round(R.duration * fsHz);
  const gx = Float64Array.from(layout.positions, (p) => p[0]!);
  const gy = Float64Array.from(layout.positions, (p) => p[1]!);
  const ext = extent(layout.positions);
  const g = tableGeometry(fsHz);
  const maxDelayS = Math.ceil(MAX_DELAY_MS * fsHz / 1000);

  const units = buildUnits(R, g, gx, gy, ext);
  const firstSample = g.preS;
  const endSample = N - g.postS - maxDelayS - 1;
  for (const u of units) {
    const base = u.background ? STREAM.backgroundTrainBase : STREAM.unitTrainBase;
    makeSpikeTrain(u, new Rng(R.seed, base + u.index), { samplingFrequency: fsHz, numSamples: N, firstSample, endSample: Math.max(firstSample, endSample) });
  }

  const nm = buildNoise(R, gy, ext);
  const noiseRng = new Rng(R.seed, STREAM.noise);
  const state = new Float64Array(C);
  const shared = new Float64Array(nm.numShared);
  const chunk = options.chunkSamples ?? Math.max(256, Math.floor(4_000_000 / C));
  const buf = new Float32Array(chunk * C);
  const outI16 = R.dataType === 'int16' ? new Int16Array(chunk * C) : null;
  const outF32 = R.dataType === 'float32' ? new Float32Array(chunk * C) : null;
  const ctx: SpikeContext = { C, fsHz, gx, gy, g, maxDelayS, drift: R.drift, noiseLevel: R.noiseLevel, dist: new Float64Array(C) };
  const nextSpike = new Int32Array(units.length);
  const reach = g.postS + maxDelayS; // a spike at ts touches samples [ts - preS, ts + reach]

  const binaryFile = path.join(dir, 'recording.bin');
  const fd = fs.openSync(binaryFile, 'w');
  try {
    for (let t0 = 0; t0 < N; t0 += chunk) {
      const len = Math.min(chunk, N - t0);
      fillNoise(buf, t0, len, C, fsHz, nm, noiseRng, state, shared);
      const t1 = t0 + len;
      for (let ui = 0; ui < units.length; ui++) {
        const u = units[ui]!;
        let k = nextSpike[ui]!;
        while (k < u.spikes.length && u.spikes[k]! + reach < t0) k++;
        nextSpike[ui] = k;
        for (; k < u.spikes.length && u.spikes[k]! - g.preS < t1; k++) addSpike(u, k, buf, t0, len, ctx);
      }
      const n = len * C;
      const bytes = outI16
        ? quantizeInt16(buf, n, R.scale, R.offset, outI16)
        : scaleFloat32(buf, n, R.scale, R.offset, outF32!);
      let written = 0;
      while (written < bytes.byteLength) written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
      options.onProgress?.({ doneSamples: t1, totalSamples: N });
    }
  } finally {
    fs.closeSync(fd);
  }

  // Ground truth.
  const main = units.filter((u) => !u.background);
  const kernel = detectorKernel(fsHz);
  const detectorNoise = kernel && R.noiseLevel > 0 ? filteredNoiseSd(kernel, nm.alpha, R.noiseLevel) : null;
  const gtUnits: GroundTruthUnit[] = main.map((u) => unitRecord(u, R, gx, gy, N, g, kernel, detectorNoise));
  const gt: GroundTruth = {
    format: 'spikesift-groundtruth',
    version: 1,
    samplingFrequency: fsHz,
    numSamples: N,
    numChannels: C,
    durationS: N / fsHz,
    noiseLevel: R.noiseLevel,
    dataType: R.dataType,
    scale: R.scale,
    offset: R.offset,
    detectionPolarity: -1 / R.scale,
    drift: R.drift,
    probeGeometry: layout.positions,
    numBackgroundUnits: R.backgroundUnits,
    templatePre: g.preS,
    detectorNoiseSd: detectorNoise === null ? null : round3(detectorNoise),
    units: gtUnits,
  };
  const groundTruthFile = path.join(dir, 'ground_truth.json');
  fs.writeFileSync(groundTruthFile, JSON.stringify(gt));
  const probeFile = path.join(dir, 'probe.json');
  fs.writeFileSync(probeFile, JSON.stringify(probeInterfaceJson(layout), null, 1));
  const probeNpyFile = path.join(dir, 'probe.npy');
  writeNpy(probeNpyFile, Float64Array.from(layout.positions.flat()), [C, 2]);
  const paramsFile = path.join(dir, 'params.json');
  fs.writeFileSync(paramsFile, JSON.stringify({
    generator: 'spikesift generate',
    version: 1,
    note: 'recording.bin is sample-major (numSamples x numChannels), little-endian; file value = scale * µV + offset. ' +
      'Pass options back to generateRecording (with out) to regenerate the same bytes.',
    numSamples: N,
    numChannels: C,
    uVPerUnit: 1 / R.scale,
    detectionPolarity: -1 / R.scale,
    // The geometry is listed only for custom probes, so these options can be passed back as they are.
    options: R.preset ? { ...R, geometry: undefined } : R,
  }, null, 1));

  const snrs = gtUnits.map((u) => u.snr).filter((s): s is number => s !== null);
  const summary: GenerationSummary = {
    numUnits: gtUnits.length,
    numBackgroundUnits: R.backgroundUnits,
    numSpikes: gtUnits.reduce((s, u) => s + u.spikes.length, 0),
    snr: snrs.length ? quantiles(snrs) : null,
    firingRate: quantiles(gtUnits.map((u) => u.firingRate)),
    numAboveDefaultThreshold: detectorNoise === null ? null : gtUnits.filter((u) => u.filteredSnr !== null && u.filteredSnr >= DEFAULT_THRESHOLD_SD).length,
    seconds: (performance.now() - started) / 1000,
  };
  return {
    dir, binaryFile, dataType: R.dataType, probeGeometry: layout.positions.map((p) => [...p]), samplingFrequency: fsHz,
    numSamples: N, numChannels: C, groundTruthFile, probeFile, probeNpyFile, paramsFile,
    scale: R.scale, offset: R.offset, detectionPolarity: -1 / R.scale, options: R, summary,
  };
}

/** The sorter's default threshold, 10 x median |y|, in filtered-noise sd (median |N(0,1)| = 0.6745). */
export const DEFAULT_THRESHOLD_SD = 10 * 0.6745;

function unitRecord(u: UnitModel, R: ResolvedGenerateOptions, gx: Float64Array, gy: Float64Array, N: number, g: TableGeometry,
  kernel: Float64Array | null, detectorNoise: number | null): GroundTruthUnit {
  const duration = N / R.samplingFrequency;
  const times = new Set<number>();
  for (let t = 0; t < duration; t += 1) times.add(t);
  times.add(duration);
  for (const j of R.drift.jumps) {
    if (j.time > 0 && j.time <= duration) { times.add(Math.max(0, j.time - 1 / R.samplingFrequency)); times.add(j.time); }
  }
  const sorted = [...times].sort((a, b) => a - b);
  const trajectory = sorted.map((t) => [round3(t), round3(u.x), round3(u.y + driftAt(R.drift, t, u.y)), round3(u.z)] as [number, number, number, number]);
  // Best channel over time, checked at every spike time and trajectory point.
  const bestChannels: [number, number][] = [];
  const probes = [...sorted, ...Array.from(u.spikes, (s) => s / R.samplingFrequency)].sort((a, b) => a - b);
  for (const t of probes) {
    const ch = nearestSite(gx, gy, u.x, u.y + driftAt(R.drift, t, u.y), u.z).channel;
    if (bestChannels.length === 0 || bestChannels[bestChannels.length - 1]![1] !== ch) bestChannels.push([round3(t), ch]);
  }
  const footprint = { channels: [] as number[], amplitudes: [] as number[] };
  for (let c = 0; c < gx.length; c++) {
    const d = Math.hypot(gx[c]! - u.x, gy[c]! - u.y, u.z);
    const a = u.peakAmplitude * Math.pow(u.refDistance / d, u.exponent);
    if (a >= 0.1 * u.peakAmplitude) { footprint.channels.push(c); footprint.amplitudes.push(Math.round(a * 100) / 100); }
  }
  const template: number[] = [];
  for (let k = -g.preS; k <= g.postS; k++) template.push(round3(u.peakAmplitude * u.near[(k + g.preS) * g.os]!));
  const filteredSnr = kernel && detectorNoise
    ? round3(-filteredTrough(kernel, Float64Array.from(template)) / detectorNoise)
    : null;
  return {
    id: u.index,
    spikes: Array.from(u.spikes),
    bestChannel: nearestSite(gx, gy, u.x, u.y, u.z).channel,
    position: [round3(u.x), round3(u.y), round3(u.z)],
    trajectory,
    bestChannels,
    snr: R.noiseLevel > 0 ? round3(u.peakAmplitude / R.noiseLevel) : null,
    peakAmplitude: round3(u.peakAmplitude),
    firingRate: round3(u.spikes.length / duration),
    refractoryMs: round3(u.refractoryMs),
    bursty: u.bursty,
    closePairOf: u.pairOf >= 0 ? u.pairOf : null,
    waveform: Object.fromEntries(Object.entries(u.shape).map(([k, v]) => [k, round3(v)])) as unknown as UnitModel['shape'],
    bestChannelTemplate: template,
    footprint,
    filteredSnr,
  };
}
