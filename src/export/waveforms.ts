// Mean filtered waveforms of sorted units, read back from the recording. Used for Phy's dense
// templates and the report's waveform-on-probe pictures. Only a bounded sample of spikes per
// unit is read (random access, one small read per spike), so the cost does not grow with the
// recording's length.

import type { Recording } from '../formats/recording.js';
import { dogTaps, filterHalo } from '../stages/filter/taps.js';
import type { SortingResultLike } from './types.js';

export interface MeanWaveformOptions {
  /** Samples before the spike sample (trough). Default: samplesPerMs (1 ms). */
  before?: number;
  /** Samples from the spike sample on (inclusive). Default: samplesPerMs (1 ms). */
  after?: number;
  /** Spikes averaged per unit, spread evenly over its train. Default 100. */
  maxSpikesPerUnit?: number;
  /** Apply the sorter's Difference-of-Gaussians filter (spec §3) before averaging. Default true. */
  filter?: boolean;
}

export interface MeanWaveforms {
  /** Samples per waveform (before + after). */
  numSamples: number;
  /** Index of the spike sample inside each waveform. */
  before: number;
  numChannels: number;
  /** Per unit (same order as `ids`): numSamples x numChannels, sample-major, float32. */
  waveforms: Float32Array[];
  /** Spikes actually averaged per unit (spikes too close to the recording's ends are skipped). */
  counts: number[];
}

/** Evenly spaced picks of at most `max` of `n` items (all when n <= max). */
export function evenPicks(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.floor(((k + 0.5) * n) / max));
  return out;
}

/**
 * Mean waveform per unit. Spike times carry the recording's recordingOffset, so the sample
 * index in the file is `t - recording.recordingOffset`. The filter is the sorter's DoG with
 * polarity -1 (so the sign matches the raw data whatever detection polarity was used).
 */
export function meanWaveforms(
  recording: Recording,
  result: SortingResultLike,
  ids: readonly number[],
  options: MeanWaveformOptions = {},
): MeanWaveforms {
  const S = recording.samplesPerMs;
  const before = options.before ?? S;
  const after = options.after ?? S;
  const maxSpikes = options.maxSpikesPerUnit ?? 100;
  const doFilter = options.filter ?? true;
  const C = recording.numChannels;
  const nt = before + after;
  const halo = doFilter ? filterHalo(S) : 0;
  const taps = doFilter ? dogTaps(S) : new Float64Array([1]);
  const readLen = nt + 2 * halo;
  const channelBuf = new Float64Array(readLen);
  const waveforms: Float32Array[] = [];
  const counts: number[] = [];
  const sum = new Float64Array(nt * C);
  for (const id of ids) {
    const train = result.spikes(id);
    sum.fill(0);
    let used = 0;
    for (const k of evenPicks(train.length, maxSpikes)) {
      const s = Math.round(train[k] - recording.recordingOffset);
      const start = s - before - halo;
      if (start < 0 || start + readLen > recording.numSamples) continue;
      const raw = recording.read({ start, numSamples: readLen });
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < readLen; i++) channelBuf[i] = raw[i * C + c];
        for (let t = 0; t < nt; t++) {
          let acc = 0;
          // y[t] = -sum_j taps[j] * x[t + j - halo]; x index shifted by +halo in the buffer.
          for (let j = 0; j < taps.length; j++) acc += taps[j] * channelBuf[t + j];
          sum[t * C + c] += doFilter ? -acc : acc;
        }
      }
      used++;
    }
    const w = new Float32Array(nt * C);
    if (used > 0) for (let i = 0; i < w.length; i++) w[i] = sum[i] / used;
    waveforms.push(w);
    counts.push(used);
  }
  return { numSamples: nt, before, numChannels: C, waveforms, counts };
}
