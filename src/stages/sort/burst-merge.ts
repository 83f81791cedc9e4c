/**
 * Burst-fragment merging: a deliberate deviation from the reference (spec §7), on by default,
 * off with `mergeBursts: false`.
 *
 * Why: many neurons (pyramidal cells' complex-spike bursts) fire bursts of 2-5 spikes a few ms
 * apart whose amplitude shrinks from spike to spike. The per-segment loop (§7) forms its
 * template from the largest spikes, and the template matching keeps only candidates whose
 * feature reaches half the template's and that the final split (λ) keeps on the template's
 * side; the smaller late-burst spikes are left behind, and once the unit is subtracted they form
 * one or more units of their own. Measured with bench/quality.ts (ground-truth recordings), this
 * was the largest loss inside segments: almost every unit that lost more than 15% of its spikes
 * to other units was a bursting one, and the fragments also break the segment-to-segment
 * chains (the assignment links a fragment instead of the main unit).
 *
 * What: within one segment, unit j (the fragment) is merged into unit i when all of these hold:
 *  - same peak channel (largest amplitude after removing the noise floor, see below), and j's
 *    peak amplitude is smaller than i's (later burst spikes are the smaller ones);
 *  - similar footprint: cosine >= FOOTPRINT_MIN_COSINE between the two amplitude vectors over
 *    the union of both units' FOOTPRINT_CHANNELS largest channels, each vector minus its median
 *    over all channels (far channels carry only the noise floor of the per-ms minima);
 *  - burst timing: at least BURST_MIN_FRACTION of j's spikes have a spike of i between
 *    BURST_WINDOW_MS[0] and BURST_WINDOW_MS[1] before them, and that fraction is at least
 *    BURST_CHANCE_FACTOR times what independent firing at i's rate would give
 *    (1 - exp(-rate_i * window)), or for a fast unit i, where that is out of reach, nearly all
 *    of them are (burstTimingHolds); for independent neurons the fraction sits at chance, for
 *    burst fragments it is close to 1;
 *  - few coincidences: fewer than MAX_COINCIDENT_FRACTION of j's spikes lie within
 *    COINCIDENT_MS of a spike of i (one neuron cannot fire twice within its refractory period).
 * Merges are transitive (fragments of fragments join the same unit). A merged unit keeps the
 * position (acceptance order) of its earliest member; its spike train is the union of the
 * members' (ascending, exact duplicates dropped); its amplitude vector is the spike-count
 * weighted mean of the members' vectors, which is the §7.10 mean over the union.
 *
 * The constants are physiological (intra-burst intervals of complex spikes are ~3-15 ms), not
 * fitted: on bench/quality.ts the result barely moves when the fraction, the chance factor or
 * the cosine change (0.3-0.5, 3-6, 0.8-0.95).
 *
 * Measured (bench/quality.ts, 7 generated recordings with the generator's defaults: linear32
 * 60 s seeds 1-3, poly64 60 s with 1 µm/s drift seeds 1-2, np384 30 s seeds 1-2; backend cpu):
 * mean accuracy 0.625 -> 0.662, better on 6 recordings and equal on the 7th (0.591 -> 0.705,
 * 0.687 = 0.687, 0.462 -> 0.469, 0.500 -> 0.609, 0.792 -> 0.802, 0.662 -> 0.677, 0.678 ->
 * 0.683); well-detected units 154 -> 162 of 248 (see bench/QUALITY.md); false-positive plus
 * redundant ids 8 -> 1. Of 37 merges made on those recordings, 36 joined fragments of one
 * ground-truth unit.
 */
import type { SegmentUnits } from './loop.js';
import { largestIndices, medianOf } from '../segment/thresholds.js';

/** Interval (ms) before a fragment's spike in which a spike of the main unit counts as "same burst". */
export const BURST_WINDOW_MS: readonly [number, number] = [1.5, 25];
/** Minimal fraction of the fragment's spikes preceded by the main unit within the window. */
export const BURST_MIN_FRACTION = 0.4;
/** ... and at least this many times the fraction expected by chance at the main unit's rate. */
export const BURST_CHANCE_FACTOR = 4;
/** Spikes of the two units this close (ms) are coincident. */
export const COINCIDENT_MS = 1;
/** Largest fraction of the fragment's spikes coincident with the main unit's. */
export const MAX_COINCIDENT_FRACTION = 0.05;
/**
 * The burst timing test: `f`, the fraction of the fragment's spikes that have a spike of the
 * main unit within BURST_WINDOW_MS before them, against `chance`, that fraction for independent
 * firing at the main unit's rate (1 - exp(-rate * window)). f must reach BURST_MIN_FRACTION and
 * BURST_CHANCE_FACTOR times chance or, where that is out of reach because chance is high (a main
 * unit above ~12 Hz has chance >= 0.25, so 4 x chance >= 1 and its fragments were never merged),
 * leave unpreceded at most 1 / BURST_CHANCE_FACTOR of the share chance leaves:
 * 1 - f <= (1 - chance) / BURST_CHANCE_FACTOR. The two bounds meet at chance 0.2 (~9.5 Hz), so
 * slower main units are judged as before. (Measured: a 22-Hz SNR-15 bursting unit's late spikes,
 * 13 % of its spikes, formed a false-positive id over all 22 segments of a 300-s recording.)
 */
export function burstTimingHolds(f: number, chance: number): boolean {
  if (!(f >= BURST_MIN_FRACTION)) return false;
  return f >= Math.min(BURST_CHANCE_FACTOR * chance, 1 - (1 - chance) / BURST_CHANCE_FACTOR);
}

/** Channels per unit that the footprint comparison looks at. */
export const FOOTPRINT_CHANNELS = 5;
/** Minimal cosine between the two footprints. */
export const FOOTPRINT_MIN_COSINE = 0.9;

/** Amplitude vector minus its median over channels, clipped at 0 (float64). */
function aboveFloor(v: Float32Array): Float64Array {
  const median = medianOf(v);
  // A loop, not Float64Array.from with a mapping function: a call per channel (~0.2 s of the
  // burst merges at 1536 channels).
  const out = new Float64Array(v.length);
  for (let c = 0; c < v.length; c++) out[c] = Math.max(0, v[c] - median);
  return out;
}

/** Indices of the k largest values (ties: lower index first; all of them when there are fewer). */
function largest(v: Float32Array | Float64Array, k: number): number[] {
  const top = new Int32Array(Math.min(k, v.length));
  if (largestIndices(v, top)) return Array.from(top);
  const idx = Array.from(v.keys());
  idx.sort((a, b) => v[b] - v[a] || a - b);
  return idx.slice(0, k);
}

/**
 * Whether two floor-removed amplitude vectors have one shape whatever their sizes: the same
 * peak channel and a cosine >= FOOTPRINT_MIN_COSINE over both vectors' FOOTPRINT_CHANNELS
 * largest channels (this file's footprint test, for units of different segments: tracks'
 * split pieces and residual pooling).
 */
export function sameFootprint(a: Float32Array, b: Float32Array): boolean {
  const ta = largest(a, FOOTPRINT_CHANNELS);
  const tb = largest(b, FOOTPRINT_CHANNELS);
  if (ta[0] !== tb[0]) return false;
  let ab = 0, aa = 0, bb = 0;
  for (const c of new Set([...ta, ...tb])) {
    ab += a[c] * b[c];
    aa += a[c] * a[c];
    bb += b[c] * b[c];
  }
  return aa > 0 && bb > 0 && ab >= FOOTPRINT_MIN_COSINE * Math.sqrt(aa * bb);
}

/** Fraction of b's spikes with a spike of a in [t - hi, t - lo] (both ascending). */
export function precededFraction(a: Float64Array, b: Float64Array, lo: number, hi: number): number {
  if (b.length === 0) return 0;
  let j = 0;
  let n = 0;
  for (let k = 0; k < b.length; k++) {
    const t = b[k];
    while (j < a.length && a[j] < t - hi) j++;
    if (j < a.length && a[j] <= t - lo) n++;
  }
  return n / b.length;
}

/** Fraction of b's spikes within w of a spike of a (both ascending). */
export function coincidentFraction(a: Float64Array, b: Float64Array, w: number): number {
  if (b.length === 0) return 0;
  let j = 0;
  let n = 0;
  for (let k = 0; k < b.length; k++) {
    const t = b[k];
    while (j < a.length && a[j] < t - w) j++;
    if (j < a.length && a[j] <= t + w) n++;
  }
  return n / b.length;
}

/** Union of ascending trains, ascending, exact duplicates dropped. */
function unionTrains(trains: Float64Array[]): Float64Array {
  let total = 0;
  for (const t of trains) total += t.length;
  const all = new Float64Array(total);
  let o = 0;
  for (const t of trains) {
    all.set(t, o);
    o += t.length;
  }
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (w === 0 || all[i] !== all[w - 1]) all[w++] = all[i];
  return w === all.length ? all : all.slice(0, w);
}

/**
 * Merges burst fragments among one segment's units (see the file comment). `spikes` may be
 * segment-local or absolute sample indices; `durationSamples` is the segment's length.
 * Returns the input unchanged when nothing merges.
 */
export function mergeBurstFragments(units: SegmentUnits, samplingFrequency: number, durationSamples: number): SegmentUnits {
  const { spikes, amplitudes } = units;
  const k = spikes.length;
  if (k < 2 || !(durationSamples > 0)) return units;
  const perMs = samplingFrequency / 1000;
  const lo = BURST_WINDOW_MS[0] * perMs;
  const hi = BURST_WINDOW_MS[1] * perMs;
  const windowS = (BURST_WINDOW_MS[1] - BURST_WINDOW_MS[0]) / 1000;
  const durationS = durationSamples / samplingFrequency;

  const floor = amplitudes.map(aboveFloor);
  const top = floor.map((v) => largest(v, FOOTPRINT_CHANNELS));
  const peak = top.map((t) => t[0]);
  const parent = Array.from({ length: k }, (_, i) => i);
  let merged = false;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j || peak[i] !== peak[j]) continue;
      if (!burstPair(spikes, floor, top, peak, i, j, lo, hi, windowS, durationS, perMs)) continue;
      const ri = findRoot(parent, i);
      const rj = findRoot(parent, j);
      if (ri !== rj) {
        // The root is the earliest member, so the merged unit keeps its acceptance position.
        if (ri < rj) parent[rj] = ri;
        else parent[ri] = rj;
        merged = true;
      }
    }
  }
  return merged ? mergeGroups(spikes, amplitudes, parent) : units;
}

// The pair test, the union-find and the merge are functions of their own, and `find` no
// closure made per call (see "Code shape" in stages/sort/kernels-cpu.ts): the first pairs
// nearly all fail the peak test, so the code after it had no type feedback when the pair loop
// was compiled (seven compilations per 1536-channel sort).

/** Whether unit j is a burst fragment of unit i (same peak channel, i the larger): footprint, timing and coincidence tests. */
function burstPair(spikes: Float64Array[], floor: Float64Array[], top: number[][], peak: number[], i: number, j: number,
  lo: number, hi: number, windowS: number, durationS: number, perMs: number): boolean {
  if (!(floor[j][peak[j]] < floor[i][peak[i]])) return false;
  const a = floor[i];
  const b = floor[j];
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (const c of new Set([...top[i], ...top[j]])) {
    ab += a[c] * b[c];
    aa += a[c] * a[c];
    bb += b[c] * b[c];
  }
  if (!(ab >= FOOTPRINT_MIN_COSINE * Math.sqrt(aa * bb)) || aa === 0 || bb === 0) return false;
  const chance = 1 - Math.exp(-(spikes[i].length / durationS) * windowS);
  const f = precededFraction(spikes[i], spikes[j], lo, hi);
  if (!burstTimingHolds(f, chance)) return false;
  return coincidentFraction(spikes[i], spikes[j], COINCIDENT_MS * perMs) < MAX_COINCIDENT_FRACTION;
}

/** The root of x in the union-find forest `parent` (halving the path on the way). */
function findRoot(parent: number[], x: number): number {
  while (parent[x] !== x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

/** One unit per root of `parent`, in root order: the union of its members' trains and their spike-weighted mean amplitude vector. */
function mergeGroups(spikes: Float64Array[], amplitudes: Float32Array[], parent: number[]): SegmentUnits {
  const k = spikes.length;
  const groups = new Map<number, number[]>();
  for (let u = 0; u < k; u++) {
    const r = findRoot(parent, u);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = []));
    g.push(u);
  }
  const roots = [...groups.keys()].sort((x, y) => x - y);
  const C = amplitudes[0].length;
  const outSpikes: Float64Array[] = [];
  const outAmps: Float32Array[] = [];
  for (const r of roots) {
    const g = groups.get(r)!;
    if (g.length === 1) {
      outSpikes.push(spikes[r]);
      outAmps.push(amplitudes[r]);
      continue;
    }
    outSpikes.push(unionTrains(g.map((u) => spikes[u])));
    let n = 0;
    for (const u of g) n += spikes[u].length;
    const acc = new Float64Array(C);
    for (const u of g) {
      const wgt = spikes[u].length / n;
      for (let c = 0; c < C; c++) acc[c] += amplitudes[u][c] * wgt;
    }
    outAmps.push(Float32Array.from(acc));
  }
  return { spikes: outSpikes, amplitudes: outAmps };
}
