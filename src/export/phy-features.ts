// The per-spike part of the Phy export, in one pass over the recording in time order: each
// spike's raw window on its unit's channels is read once (chunks of whole samples, bounded
// memory) and reduced to (a) a running sum per unit, which becomes the unit's template after
// the pass, (b) its amplitude (the filtered value at the spike sample on the unit's best
// channel) and (c) its PC features. The filter is linear, so a filtered quantity equals the
// raw window against a kernel filtered once in advance: no spike window is ever filtered.
// Cost per spike: O(k * window) for k channels, independent of the probe's channel count.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Recording } from '../formats/recording.js';
import { dogTaps, filterHalo } from '../stages/filter/taps.js';

export const NUM_PCS = 3;

type View = Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int32ArrayConstructor | Uint32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor;
/** Little-endian hosts read these types in place (64-bit integers go through the decoder). */
const DIRECT_VIEW: Partial<Record<string, View>> = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  ? { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array }
  : {};
/** Float32 values per read chunk: bounded memory for any channel count (32 MiB). */
const CHUNK_VALUES = 8 * 1024 * 1024;
/** Spikes (first in time) whose best-channel waveforms define the PCs. */
const PCA_SPIKES = 2000;

export interface SpikeFeatureInput {
  recording: Recording;
  /** File sample index (recordingOffset removed) of each spike, ascending. */
  samples: Float64Array;
  /** Unit index of each spike. */
  unitOf: Int32Array;
  /** Per unit: its channels, best first (k each). */
  unitChannels: Int32Array[];
  /** Template samples and the spike sample's index inside them. */
  nt: number;
  before: number;
  /** Called with the PC features of consecutive spikes (n x NUM_PCS x k, float32), in spike order. */
  onFeatures?: (rows: Float32Array) => void;
}

export interface SpikeFeatures {
  /** Filtered value at the spike sample on the unit's best channel, signed (negative trough). */
  peak: Float64Array;
  /** Per unit: mean filtered waveform on its channels, nt x k (sample-major). */
  templates: Float32Array[];
  counts: Int32Array;
  /** The temporal PCs (NUM_PCS x nt), first one oriented so spikes project positively. */
  pcs: Float64Array;
}

/** The sorter's filter with the raw data's sign: f[t] = -sum_j taps[j] x[t + j - halo]. */
function filtered(raw: Float64Array, rawOffset: number, taps: Float64Array, nt: number, out: Float64Array, outOffset: number): void {
  for (let t = 0; t < nt; t++) {
    let acc = 0;
    for (let j = 0; j < taps.length; j++) acc += taps[j] * raw[rawOffset + t + j];
    out[outOffset + t] = -acc;
  }
}

/** Top NUM_PCS eigenvectors of the waveforms' second-moment matrix (rows of `w`, n x nt). */
function principalComponents(w: Float64Array, n: number, nt: number): Float64Array {
  const pcs = new Float64Array(NUM_PCS * nt);
  if (n < NUM_PCS + 1) {
    // Too few spikes to estimate a basis: the first samples around the spike sample.
    for (let p = 0; p < NUM_PCS; p++) pcs[p * nt + Math.min(nt - 1, Math.floor(nt / 2) + p)] = 1;
    return pcs;
  }
  const cov = Matrix.zeros(nt, nt);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < nt; a++) {
      const va = w[i * nt + a];
      if (va === 0) continue;
      for (let b = a; b < nt; b++) cov.set(a, b, cov.get(a, b) + va * w[i * nt + b]);
    }
  }
  for (let a = 0; a < nt; a++) for (let b = 0; b < a; b++) cov.set(a, b, cov.get(b, a));
  const evd = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0]).map((x) => x[1]);
  for (let p = 0; p < NUM_PCS; p++) for (let t = 0; t < nt; t++) pcs[p * nt + t] = vectors.get(t, order[p]);
  // get_depths in phylib weighs channels by the positive part of PC 1: make spikes project
  // positively (their mean has a negative trough, so PC 1 must point the same way as the mean).
  for (let p = 0; p < NUM_PCS; p++) {
    let dot = 0;
    for (let i = 0; i < n; i++) for (let t = 0; t < nt; t++) dot += w[i * nt + t] * pcs[p * nt + t];
    if (dot < 0) for (let t = 0; t < nt; t++) pcs[p * nt + t] = -pcs[p * nt + t];
  }
  return pcs;
}

/** Raw-domain kernel of a filtered-domain vector v (length nt): K[r] = -sum_{t+j=r} v[t] taps[j]. */
function rawKernel(v: Float64Array, vOffset: number, nt: number, taps: Float64Array): Float64Array {
  const k = new Float64Array(nt + taps.length - 1);
  for (let t = 0; t < nt; t++) {
    const a = v[vOffset + t];
    if (a === 0) continue;
    for (let j = 0; j < taps.length; j++) k[t + j] -= a * taps[j];
  }
  return k;
}

export function spikeFeatures(input: SpikeFeatureInput): SpikeFeatures {
  const { recording: rec, samples, unitOf, unitChannels, nt, before } = input;
  const S = rec.samplesPerMs;
  const C = rec.numChannels;
  const halo = filterHalo(S);
  const taps = dogTaps(S);
  const readLen = nt + 2 * halo;
  const n = samples.length;
  const numUnits = unitChannels.length;
  const k = numUnits ? unitChannels[0].length : 0;
  const sums = unitChannels.map(() => new Float64Array(k * readLen));
  const counts = new Int32Array(numUnits);
  const peak = new Float64Array(n);
  const win = new Float64Array(k * readLen);
  const feats = new Float64Array(NUM_PCS * k);
  let kernels: Float64Array[] | null = null;
  let pcs: Float64Array = new Float64Array(NUM_PCS * nt);
  const chunkRows = Math.max(readLen + 1, Math.floor(CHUNK_VALUES / C));
  // Raw bytes viewed in their own type where JS has one: only the k channels of each spike are
  // ever looked at, so decoding every column of every chunk to float32 would be wasted work.
  const direct = DIRECT_VIEW[rec.dataType];
  const rawBytes = direct ? new Uint8Array(chunkRows * rec.bytesPerSample) : null;
  const buf: ArrayLike<number> = direct ? new direct(rawBytes!.buffer) : new Float32Array(chunkRows * C);
  const N = rec.numSamples;

  for (let i = 0; i < n;) {
    // Spikes i..j-1 have their whole windows inside rows [lo, hi) of this chunk.
    const first = Math.round(samples[i]) - before - halo;
    const lo = Math.max(0, first);
    let j = i;
    while (j < n && Math.round(samples[j]) - before - halo + readLen <= lo + chunkRows) j++;
    if (j === i) j = i + 1;
    const hi = Math.min(N, Math.max(lo + 1, Math.round(samples[j - 1]) - before - halo + readLen));
    if (rawBytes) rec.readBytesInto(lo, hi - lo, rawBytes, 0);
    else rec.readInto(lo, hi - lo, buf as Float32Array, 0);

    if (kernels === null && input.onFeatures) {
      // PCs from the best-channel waveforms of the first spikes (those of this first chunk).
      const m = Math.min(PCA_SPIKES, j - i);
      const w = new Float64Array(m * nt);
      const one = new Float64Array(readLen);
      for (let q = 0; q < m; q++) {
        const s0 = Math.round(samples[i + q]) - before - halo;
        const ch = unitChannels[unitOf[i + q]][0];
        for (let r = 0; r < readLen; r++) {
          const row = s0 + r;
          one[r] = row >= lo && row < hi ? buf[(row - lo) * C + ch] : 0;
        }
        filtered(one, 0, taps, nt, w, q * nt);
      }
      pcs = principalComponents(w, m, nt);
      kernels = [];
      for (let p = 0; p < NUM_PCS; p++) kernels.push(rawKernel(pcs, p * nt, nt, taps));
    }

    const out = input.onFeatures ? new Float32Array((j - i) * NUM_PCS * k) : null;
    for (let q = i; q < j; q++) {
      const u = unitOf[q];
      const chans = unitChannels[u];
      const s0 = Math.round(samples[q]) - before - halo;
      // Gather the window (zeros beyond the recording's ends).
      for (let c = 0; c < k; c++) {
        const ch = chans[c];
        for (let r = 0; r < readLen; r++) {
          const row = s0 + r;
          win[c * readLen + r] = row >= lo && row < hi ? buf[(row - lo) * C + ch] : 0;
        }
      }
      const sum = sums[u];
      for (let x = 0; x < win.length; x++) sum[x] += win[x];
      counts[u]++;
      let acc = 0;
      for (let t = 0; t < taps.length; t++) acc += taps[t] * win[before + t];
      peak[q] = -acc;
      if (out) {
        for (let p = 0; p < NUM_PCS; p++) {
          const kern = kernels![p];
          for (let c = 0; c < k; c++) {
            let f = 0;
            const base = c * readLen;
            for (let r = 0; r < readLen; r++) f += kern[r] * win[base + r];
            feats[p * k + c] = f;
          }
        }
        out.set(feats, (q - i) * NUM_PCS * k);
      }
    }
    if (out) input.onFeatures!(out);
    i = j;
  }

  // Templates: the mean raw window of each unit, filtered once.
  const templates: Float32Array[] = [];
  const mean = new Float64Array(readLen);
  const f = new Float64Array(nt);
  for (let u = 0; u < numUnits; u++) {
    const t = new Float32Array(nt * k);
    if (counts[u] > 0) {
      for (let c = 0; c < k; c++) {
        for (let r = 0; r < readLen; r++) mean[r] = sums[u][c * readLen + r] / counts[u];
        filtered(mean, 0, taps, nt, f, 0);
        for (let s = 0; s < nt; s++) t[s * k + c] = f[s];
      }
    }
    templates.push(t);
  }
  return { peak, templates, counts, pcs };
}
