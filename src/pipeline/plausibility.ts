// Plausibility checks of the input. A wrong --dtype or channel count still "sorts" (the
// filter and the clustering run on anything), so the sorter looks at a few raw blocks and at
// the thresholds and says when the data do not look like an extracellular recording of the
// declared type and layout, naming the likely fix. Warnings only: nothing is refused.

import type { DataType } from '../formats/dtype.js';
import type { Recording } from '../formats/recording.js';

/** Samples per inspected block and blocks spread over the recording: bounded memory (C x 3000 floats). */
const BLOCK_SAMPLES = 3000;
const BLOCKS = 3;
/** Channels (evenly spread) whose lag statistics are computed: a median needs few, and all of a 1536-channel probe took 1.7 s. */
const LAG_CHANNELS = 64;
const MAX_LAG = 8;

const INTEGER_RANGE: Partial<Record<DataType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
};

const OTHER_SIGNEDNESS: Partial<Record<DataType, DataType>> = {
  int8: 'uint8', uint8: 'int8', int16: 'uint16', uint16: 'int16', int32: 'uint32', uint32: 'int32',
};

/** What the raw blocks show, per check; exported for tests and the report. */
export interface RawStats {
  /** Fraction of values at the type's minimum or maximum. */
  railFraction: number;
  /** Fractions of values in the lowest and highest eighth of the type's range. */
  lowEighth: number;
  highEighth: number;
  /** Median over (up to 64) channels of mean |x[t+1] - x[t]| / min over lags 2..8 of mean |x[t+L] - x[t]|, and the lag of that minimum. */
  lagRatio: number;
  bestLag: number;
}

export function rawStats(recording: Recording): RawStats {
  const C = recording.numChannels;
  const n = Math.min(BLOCK_SAMPLES, recording.numSamples);
  const range = INTEGER_RANGE[recording.dataType];
  const maxLag = MAX_LAG;
  const L0 = Math.min(C, LAG_CHANNELS);
  const lagCh = Int32Array.from({ length: L0 }, (_, i) => Math.floor((i * C) / L0));
  let total = 0;
  let rails = 0;
  let low = 0;
  let high = 0;
  const lagSum = new Float64Array((maxLag + 1) * L0);
  const lagCount = new Float64Array(maxLag + 1);
  const lo = range ? Math.fround(range[0]) : 0;
  const hi = range ? Math.fround(range[1]) : 0;
  const eighth = range ? (range[1] - range[0]) / 8 : 0;
  const blocks = recording.numSamples >= BLOCKS * n ? BLOCKS : 1;
  const buf = new Float32Array(n * C);
  // Each lag channel's samples as one contiguous row, so each lag sum is one short loop with
  // its own accumulator (warm 21 -> 18 ms at 32 channels; it runs once, cold, while pass 1
  // competes for the same cores).
  const rows = new Float32Array(n);
  for (let b = 0; b < blocks; b++) {
    const start = blocks === 1 ? 0 : Math.floor(((recording.numSamples - n) * b) / (blocks - 1));
    recording.readInto(start, n, buf, 0);
    total += n * C;
    if (range) {
      for (let i = 0; i < n * C; i++) {
        const v = buf[i];
        if (v <= lo || v >= hi) rails++;
        if (v < range[0] + eighth) low++;
        else if (v > range[1] - eighth) high++;
      }
    }
    for (let i = 0; i < L0; i++) {
      const c = lagCh[i];
      for (let t = 0; t < n; t++) rows[t] = buf[t * C + c];
      for (let L = 1; L <= maxLag && L < n; L++) lagSum[L * L0 + i] += lagAbsSum(rows, n, L);
    }
    for (let L = 1; L <= maxLag && L < n; L++) lagCount[L] += n - L;
  }
  const ratios = new Float64Array(L0);
  const lagVotes = new Int32Array(maxLag + 1);
  for (let c = 0; c < L0; c++) {
    const d1 = lagSum[L0 + c] / Math.max(1, lagCount[1]);
    let best = Infinity;
    let bestL = 2;
    for (let L = 2; L <= maxLag; L++) {
      if (lagCount[L] === 0) continue;
      const d = lagSum[L * L0 + c] / lagCount[L];
      if (d < best) {
        best = d;
        bestL = L;
      }
    }
    ratios[c] = best > 0 ? d1 / best : d1 > 0 ? Infinity : 1;
    lagVotes[bestL]++;
  }
  ratios.sort();
  let bestLag = 2;
  for (let L = 2; L <= maxLag; L++) if (lagVotes[L] > lagVotes[bestLag]) bestLag = L;
  return {
    railFraction: total ? rails / total : 0,
    lowEighth: total ? low / total : 0,
    highEighth: total ? high / total : 0,
    lagRatio: ratios[L0 >> 1],
    bestLag,
  };
}

/** Sum over t of |x[t + L] - x[t]| (float32 differences, summed in float64 in t order). */
function lagAbsSum(x: Float32Array, n: number, L: number): number {
  let s = 0;
  for (let t = 0; t + L < n; t++) s += Math.abs(x[t + L] - x[t]);
  return s;
}

/**
 * Warnings about the declared type and layout, from the raw data and the detection
 * thresholds (thr[c] = -κ·median|y|). `neighbours[c]` lists c's nearest sites. `raw`: the
 * recording's rawStats when the caller computed them already.
 */
export function inputWarnings(recording: Recording, thresholds: Float32Array, neighbours: readonly Int32Array[], raw?: RawStats): string[] {
  const out: string[] = [];
  const t = recording.dataType;
  const s = raw ?? rawStats(recording);
  const range = INTEGER_RANGE[t];
  const other = OTHER_SIGNEDNESS[t];
  if (range && other && s.lowEighth > 0.05 && s.highEighth > 0.05) {
    out.push(`the data look like ${other} read as ${t}: ${(100 * s.lowEighth).toFixed(0)}% of the values lie in the lowest and ` +
      `${(100 * s.highEighth).toFixed(0)}% in the highest eighth of the ${t} range (${range[0]}..${range[1]}), as when small negative ` +
      `values wrap around; pass --dtype ${other} (library: dataType '${other}')`);
  } else if (range && s.railFraction > 0.01) {
    out.push(`${(100 * s.railFraction).toFixed(1)}% of the values sit at the limits of ${t} (${range[0]} or ${range[1]}): the signal ` +
      `is clipped or the file holds another type; check --dtype (e.g. int16 for SpikeGLX/Open Ephys/Intan data) and the amplifier gain`);
  }
  if (s.lagRatio > 2) {
    const C = recording.numChannels;
    const guess = C * s.bestLag;
    const fits = (recording.fileSize - recording.header) % (guess * recording.itemSize) === 0;
    out.push(`consecutive samples of a channel differ ${s.lagRatio.toFixed(1)}x more than samples ${s.bestLag} apart: the file's ` +
      `channel count is probably not ${recording.fileChannels}${fits ? ` (${guess} channels would fit the file size)` : ''}; ` +
      `pass a probe with as many channels as the file has columns (--probe), or the column subset (library: fileChannels/channels)`);
  }
  // Thresholds orders of magnitude apart between neighbours: dead, shorted or mis-ordered
  // channels, or a layout that mixes unrelated signals into one column.
  const mags = Float64Array.from(thresholds, (v) => Math.abs(v));
  let odd = 0;
  let worst = 1;
  let worstChannel = -1;
  for (let c = 0; c < mags.length; c++) {
    const nb = neighbours[c];
    const others: number[] = [];
    for (let k = 0; k < nb.length; k++) if (nb[k] !== c) others.push(mags[nb[k]]);
    if (others.length === 0) continue;
    others.sort((a, b) => a - b);
    const med = others[others.length >> 1];
    const r = med > 0 && mags[c] > 0 ? Math.max(mags[c] / med, med / mags[c]) : mags[c] === med ? 1 : Infinity;
    if (r >= 30) {
      odd++;
      if (r > worst) {
        worst = r;
        worstChannel = c;
      }
    }
  }
  if (odd > 0) {
    out.push(`${odd} channel(s) have a detection threshold >= 30x above or below their neighbours' (worst: channel ${worstChannel}, ` +
      `${Number.isFinite(worst) ? `${worst.toFixed(0)}x` : 'flat'}): dead or saturated channels, or a probe file whose channel order ` +
      `does not match the file; check the probe geometry (--probe) and the channel count`);
  }
  return out;
}

/** Mean spikes per second per channel above which the result is not a recording's spikes. */
const MAX_PLAUSIBLE_RATE_PER_CHANNEL = 50;
/** A single unit firing faster than this on average is noise or an artefact train. */
const MAX_PLAUSIBLE_UNIT_RATE = 300;

/** Warnings about the sorted spike rates. */
export function spikeRateWarnings(numSpikes: number, unitRates: readonly number[], numChannels: number, seconds: number): string[] {
  const out: string[] = [];
  if (!(seconds > 0)) return out;
  const perChannel = numSpikes / seconds / numChannels;
  const fast = unitRates.filter((r) => r > MAX_PLAUSIBLE_UNIT_RATE).length;
  if (perChannel > MAX_PLAUSIBLE_RATE_PER_CHANNEL || fast > 0) {
    out.push(`implausible spike rates: ${perChannel.toFixed(0)} spikes/s per channel${fast ? `, ${fast} unit(s) above ${MAX_PLAUSIBLE_UNIT_RATE} Hz` : ''}; ` +
      'this is what a wrong --dtype, channel count or --detection-polarity produces (the sorter then cuts noise into units); ' +
      'check them, or raise --detection-sensitivity if the data are really this noisy');
  }
  return out;
}

/** Sends each warning to `onWarning`, or to stderr when there is none and the sort is verbose. */
export function deliverWarnings(warnings: readonly string[], onWarning: ((message: string) => void) | undefined, verbose: boolean): void {
  for (const w of warnings) {
    if (onWarning) onWarning(w);
    else if (verbose) process.stderr.write(`spikesift: warning: ${w}\n`);
  }
}

/** The rate check of a finished sort (units' trains over `seconds` of sorted data). */
export function sortedRateWarnings(sorted: { clusterIds(): number[]; spikes(id: number): ArrayLike<number> }, numChannels: number, seconds: number): string[] {
  let total = 0;
  const rates: number[] = [];
  for (const id of sorted.clusterIds()) {
    const n = sorted.spikes(id).length;
    total += n;
    rates.push(n / seconds);
  }
  return spikeRateWarnings(total, rates, numChannels, seconds);
}
