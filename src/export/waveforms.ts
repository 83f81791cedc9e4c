// Mean filtered waveforms of sorted units, read back from the recording, for the report's
// waveform-on-probe pictures. Only a bounded sample of spikes per unit is used; they are read
// in time order in one pass (phy-features.ts), each on the requested channels only, and the
// filter is applied once to each unit's mean raw window (it is linear), not to every spike.

import { checkOptionNames } from '../core/params.js';
import type { Recording } from '../formats/recording.js';
import { dogTaps, filterHalo } from '../stages/filter/taps.js';
import { spikeFeatures } from './phy-features.js';
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
  /**
   * Channels to average per unit (same count for every unit, e.g. the 16 nearest to its best
   * channel); the others stay 0. Default: all channels.
   */
  channels?: (unitIndex: number) => ArrayLike<number>;
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
  checkOptionNames('meanWaveforms', options, ['before', 'after', 'maxSpikesPerUnit', 'filter', 'channels']);
  const S = recording.samplesPerMs;
  const before = options.before ?? S;
  const after = options.after ?? S;
  const maxSpikes = options.maxSpikesPerUnit ?? 100;
  const doFilter = options.filter ?? true;
  const C = recording.numChannels;
  if (doFilter) return meanFilteredWaveforms(recording, result, ids, before, after, maxSpikes, options.channels);
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

function meanFilteredWaveforms(
  recording: Recording,
  result: SortingResultLike,
  ids: readonly number[],
  before: number,
  after: number,
  maxSpikes: number,
  channels: MeanWaveformOptions['channels'],
): MeanWaveforms {
  const C = recording.numChannels;
  const nt = before + after;
  const halo = filterHalo(recording.samplesPerMs);
  const unitChannels = ids.map((_, u) => Int32Array.from(channels ? channels(u) : Array.from({ length: C }, (_, c) => c)));
  const picks: [number, number][] = [];
  ids.forEach((id, u) => {
    const train = result.spikes(id);
    for (const k of evenPicks(train.length, maxSpikes)) {
      const s = Math.round(train[k] - recording.recordingOffset);
      // As before: spikes whose window (with the filter's halo) leaves the recording are skipped.
      if (s - before - halo < 0 || s - before - halo + nt + 2 * halo > recording.numSamples) continue;
      picks.push([s, u]);
    }
  });
  picks.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const f = spikeFeatures({
    recording,
    samples: Float64Array.from(picks, (p) => p[0]),
    unitOf: Int32Array.from(picks, (p) => p[1]),
    unitChannels,
    nt,
    before,
  });
  const waveforms = f.templates.map((t, u) => {
    const w = new Float32Array(nt * C);
    const chans = unitChannels[u];
    const k = chans.length;
    for (let s = 0; s < nt; s++) for (let c = 0; c < k; c++) w[s * C + chans[c]] = t[s * k + c];
    return w;
  });
  return { numSamples: nt, before, numChannels: C, waveforms, counts: Array.from(f.counts) };
}
