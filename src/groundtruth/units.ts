// Unit models of the synthetic recording: where each neuron sits, what its spike looks like
// on near and far sites, and when it fires. Everything here is drawn from seeded streams, so
// a seed fixes the whole population.

import { Rng, STREAM } from './prng.js';

/** Oversampling of the waveform tables: sub-sample propagation delays are read by linear interpolation. */
export const WAVEFORM_OVERSAMPLING = 8;
/** Waveform support around the trough, in ms. */
export const WAVEFORM_PRE_MS = 1.0;
export const WAVEFORM_POST_MS = 2.2;
/** Longest propagation delay from the best site (ms); keeps footprints compact in time. */
export const MAX_DELAY_MS = 0.4;

export interface WaveformShape {
  /** Trough half-widths (Gaussian sd, ms) before and after the trough. */
  troughSdMs: number;
  troughSdAfterMs: number;
  /** Delay from trough to after-hyperpolarisation peak (ms), its sd (ms) and relative height. */
  troughToPeakMs: number;
  peakSdMs: number;
  peakRatio: number;
  /** Small positive bump before the trough (relative height). */
  prePeakRatio: number;
}

export interface UnitModel {
  index: number;
  /** Soma position at t = 0 (µm): x, y in the probe plane, z distance from it. */
  x: number; y: number; z: number;
  /** Peak amplitude (µV) on the nearest site at t = 0, before per-spike factors. */
  peakAmplitude: number;
  /** Amplitude falls as (d0 / d)^exponent with 3-D distance d. */
  exponent: number;
  /** Distance (µm) from soma to nearest site at t = 0: the reference of the amplitude law. */
  refDistance: number;
  /** Propagation speed (µm/ms) of the delay across sites. */
  speed: number;
  /** Distance scale (µm) over which the shape turns from the near to the far shape. */
  shapeScale: number;
  shape: WaveformShape;
  near: Float32Array;
  far: Float32Array;
  rate: number;
  refractoryMs: number;
  bursty: boolean;
  /** Index of the unit this one was placed next to (close pairs), or -1. */
  pairOf: number;
  /** Spike sample indices (trough on the best site), ascending; filled by makeSpikeTrain. */
  spikes: Float64Array;
  /** Per-spike amplitude factor (jitter and burst decrement). */
  spikeAmp: Float32Array;
  background: boolean;
}

export interface TableGeometry {
  preS: number;
  postS: number;
  os: number;
  length: number;
}

export function tableGeometry(samplingFrequency: number): TableGeometry {
  const spm = samplingFrequency / 1000;
  const preS = Math.ceil(WAVEFORM_PRE_MS * spm);
  const postS = Math.ceil(WAVEFORM_POST_MS * spm);
  const os = WAVEFORM_OVERSAMPLING;
  return { preS, postS, os, length: (preS + postS) * os + 2 };
}

function shapeValue(s: WaveformShape, tMs: number): number {
  const sd = tMs < 0 ? s.troughSdMs : s.troughSdAfterMs;
  let v = -Math.exp(-(tMs * tMs) / (2 * sd * sd));
  const dp = tMs - s.troughToPeakMs;
  v += s.peakRatio * Math.exp(-(dp * dp) / (2 * s.peakSdMs * s.peakSdMs));
  const dq = tMs + 2.2 * s.troughSdMs;
  const q = 0.6 * s.troughSdMs;
  v += s.prePeakRatio * Math.exp(-(dq * dq) / (2 * q * q));
  return v;
}

/** Raised-cosine taper so waveforms reach exactly zero at the table ends (no steps in the data). */
function taper(tMs: number): number {
  const a = -WAVEFORM_PRE_MS, b = WAVEFORM_POST_MS;
  const ra = 0.4 * WAVEFORM_PRE_MS, rb = 0.35 * WAVEFORM_POST_MS;
  if (tMs <= a || tMs >= b) return 0;
  if (tMs < a + ra) return 0.5 - 0.5 * Math.cos(Math.PI * (tMs - a) / ra);
  if (tMs > b - rb) return 0.5 - 0.5 * Math.cos(Math.PI * (b - tMs) / rb);
  return 1;
}

/**
 * Tabulates a shape with its trough exactly at table index preS*os and value -1 there. The
 * continuous minimum is located first (golden-section search), so the best site's sample at the
 * spike time is the waveform's strict minimum: ground-truth times are trough times by construction.
 */
export function tabulateShape(s: WaveformShape, g: TableGeometry, samplingFrequency: number): Float32Array {
  let lo = -s.troughSdMs, hi = s.troughSdAfterMs;
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 100; it++) {
    const m1 = hi - phi * (hi - lo), m2 = lo + phi * (hi - lo);
    if (shapeValue(s, m1) < shapeValue(s, m2)) hi = m2; else lo = m1;
  }
  const tMin = (lo + hi) / 2;
  const norm = -shapeValue(s, tMin);
  const out = new Float32Array(g.length);
  const msPerEntry = 1000 / samplingFrequency / g.os;
  const i0 = g.preS * g.os;
  for (let i = 0; i < g.length; i++) {
    const t = (i - i0) * msPerEntry;
    out[i] = (shapeValue(s, t + tMin) * taper(t)) / norm;
  }
  out[i0] = -1;
  return out;
}

export function drawShape(rng: Rng): WaveformShape {
  // Narrow (interneuron-like) and broad (pyramidal-like) spikes, with a continuum in between.
  const narrow = rng.uniform() < 0.3;
  const troughSdMs = narrow ? rng.range(0.06, 0.09) : rng.range(0.09, 0.16);
  return {
    troughSdMs,
    troughSdAfterMs: troughSdMs * rng.range(1.0, 1.6),
    troughToPeakMs: narrow ? rng.range(0.22, 0.4) : rng.range(0.4, 0.8),
    peakSdMs: narrow ? rng.range(0.1, 0.18) : rng.range(0.18, 0.35),
    peakRatio: narrow ? rng.range(0.25, 0.55) : rng.range(0.1, 0.35),
    prePeakRatio: rng.range(0, 0.12),
  };
}

/** Far-site version of a shape: wider and with relatively more repolarisation, as seen in real footprints. */
export function farShape(s: WaveformShape): WaveformShape {
  return {
    troughSdMs: s.troughSdMs * 1.35,
    troughSdAfterMs: s.troughSdAfterMs * 1.4,
    troughToPeakMs: s.troughToPeakMs * 1.15,
    peakSdMs: s.peakSdMs * 1.2,
    peakRatio: Math.min(0.8, s.peakRatio * 1.6),
    prePeakRatio: s.prePeakRatio * 0.5,
  };
}

export interface TrainParams {
  samplingFrequency: number;
  numSamples: number;
  /** First and last+1 sample a spike's trough may occupy (full waveforms stay in the file). */
  firstSample: number;
  endSample: number;
}

/**
 * Poisson process with an absolute refractory period (dead time). Bursty units fire events
 * that are either single spikes or bursts of 2-5 spikes 3-8 ms apart whose amplitude decreases
 * geometrically, as in complex-spike bursts of pyramidal cells. The event rate is set so the
 * mean spike rate matches `rate`.
 */
export function makeSpikeTrain(unit: UnitModel, rng: Rng, p: TrainParams): void {
  const fs = p.samplingFrequency;
  const duration = p.numSamples / fs;
  const ref = unit.refractoryMs / 1000;
  const times: number[] = [];
  const amps: number[] = [];
  const burstProb = unit.bursty ? 0.45 : 0;
  const meanPerEvent = 1 + burstProb * 2.5; // bursts of 2..5 spikes: mean 3.5 = 1 + 2.5
  const eventRate = unit.rate / meanPerEvent;
  const decrement = rng.range(0.72, 0.9);
  let t = rng.exponential(1 / eventRate);
  let last = -Infinity;
  while (t < duration) {
    const n = rng.uniform() < burstProb ? 2 + rng.int(4) : 1;
    let tb = t;
    for (let k = 0; k < n; k++) {
      if (k > 0) tb += rng.range(0.003, 0.008);
      const jitter = Math.max(0.7, Math.min(1.3, 1 + 0.05 * rng.normal()));
      const s = Math.round(tb * fs);
      if (s >= p.firstSample && s < p.endSample && s > last) {
        times.push(s);
        amps.push(jitter * Math.pow(decrement, k));
        last = s;
      }
    }
    // Dead time after the event, then an exponential wait with the mean that keeps the rate.
    const meanWait = Math.max(1 / eventRate - ref - (tb - t), 0.2 / eventRate);
    t = tb + ref + rng.exponential(meanWait);
  }
  unit.spikes = Float64Array.from(times);
  unit.spikeAmp = Float32Array.from(amps);
}

export { Rng, STREAM };
