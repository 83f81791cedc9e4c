import { describe, expect, it } from 'vitest';
import {
  BURST_CHANCE_FACTOR, BURST_MIN_FRACTION, BURST_WINDOW_MS, burstTimingHolds, coincidentFraction, mergeBurstFragments, precededFraction,
} from '../../src/stages/sort/burst-merge.js';
import type { SegmentUnits } from '../../src/stages/sort/loop.js';
import { validateSortOptions } from '../../src/core/params.js';
import { mulberry32 as makeRng } from '../random.js';

const FS = 30000;
const C = 16;
const DURATION = 10 * FS; // 10 s segment

/** Footprint peaking on `peak` (amplitude `amp`), decaying over neighbours, on a noise floor of 2. */
function footprint(peak: number, amp: number, width = 2): Float32Array {
  return Float32Array.from({ length: C }, (_, c) => 2 + amp * Math.exp(-(((c - peak) / width) ** 2)));
}

function poisson(rate: number, rnd: () => number, dead = 60): number[] {
  const out: number[] = [];
  let t = 100;
  for (;;) {
    t += dead - Math.log(1 - rnd()) * (FS / rate);
    if (t >= DURATION - 100) return out;
    out.push(Math.floor(t));
  }
}

const asc = (xs: number[]): Float64Array => Float64Array.from(xs).sort();

/** A bursting unit: burst onsets (large spikes) and the late spikes 4-8 ms after them (smaller). */
function burstingUnit(rnd: () => number): { main: Float64Array; late: Float64Array } {
  const onsets = poisson(3, rnd, 900);
  const late: number[] = [];
  for (const t of onsets) {
    let s = t;
    const n = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < n; k++) {
      s += Math.floor((4 + 4 * rnd()) * 30);
      late.push(s);
    }
  }
  return { main: asc(onsets), late: asc(late) };
}

describe('precededFraction / coincidentFraction', () => {
  it('count b spikes with an a spike in the window before / within w', () => {
    const a = Float64Array.of(100, 1000, 5000);
    const b = Float64Array.of(150, 1010, 3000, 5001);
    expect(precededFraction(a, b, 45, 750)).toBe(1 / 4); // only 150 (50 after 100); 1010 is 10 after (< 45)
    expect(coincidentFraction(a, b, 30)).toBe(2 / 4); // 1010 and 5001
    expect(precededFraction(a, new Float64Array(0), 1, 2)).toBe(0);
  });
});

describe('mergeBurstFragments', () => {
  it('merges the late spikes of bursts into their unit, keeping acceptance order and the mean amplitude', () => {
    const rnd = makeRng(7);
    const { main, late } = burstingUnit(rnd);
    const other = asc(poisson(5, rnd));
    const units: SegmentUnits = {
      spikes: [main, other, late],
      amplitudes: [footprint(5, 100), footprint(11, 80), footprint(5, 60)],
    };
    const out = mergeBurstFragments(units, FS, DURATION);
    expect(out.spikes.length).toBe(2);
    expect(out.spikes[1]).toBe(other); // untouched unit kept as is, in order
    const merged = out.spikes[0];
    expect(merged.length).toBe(main.length + late.length);
    for (let i = 1; i < merged.length; i++) expect(merged[i]).toBeGreaterThan(merged[i - 1]);
    const n = main.length + late.length;
    for (let c = 0; c < C; c++) {
      const want = (units.amplitudes[0][c] * main.length + units.amplitudes[2][c] * late.length) / n;
      expect(out.amplitudes[0][c]).toBeCloseTo(want, 3);
    }
  });

  it('does not merge an independent unit with the same footprint, a different peak channel, or a larger "fragment"', () => {
    const rnd = makeRng(11);
    const a = asc(poisson(8, rnd));
    const b = asc(poisson(8, rnd));
    const same: SegmentUnits = { spikes: [a, b], amplitudes: [footprint(5, 100), footprint(5, 60)] };
    expect(mergeBurstFragments(same, FS, DURATION)).toBe(same);

    const { main, late } = burstingUnit(rnd);
    const elsewhere: SegmentUnits = { spikes: [main, late], amplitudes: [footprint(5, 100), footprint(9, 60)] };
    expect(mergeBurstFragments(elsewhere, FS, DURATION)).toBe(elsewhere);
    // the "late" unit is the larger one: not a burst fragment of the earlier one
    const larger: SegmentUnits = { spikes: [main, late], amplitudes: [footprint(5, 60), footprint(5, 100)] };
    expect(mergeBurstFragments(larger, FS, DURATION)).toBe(larger);
    // different footprint shape on the same peak channel
    const wide: SegmentUnits = { spikes: [main, late], amplitudes: [footprint(5, 100, 0.5), footprint(5, 60, 6)] };
    expect(mergeBurstFragments(wide, FS, DURATION)).toBe(wide);
  });

  it('does not merge when spikes coincide (one neuron cannot fire twice within 1 ms)', () => {
    const rnd = makeRng(3);
    const { main, late } = burstingUnit(rnd);
    // a unit that also fires with the main unit's spikes (a different neuron, or a double detection)
    const coincident = asc([...late, ...Array.from(main.slice(0, Math.ceil(main.length / 2)), (t) => t + 10)]);
    const units: SegmentUnits = { spikes: [main, coincident], amplitudes: [footprint(5, 100), footprint(5, 60)] };
    expect(mergeBurstFragments(units, FS, DURATION)).toBe(units);
  });

  it('requires more than chance: a fast unit does not absorb a slower one that merely follows it', () => {
    const rnd = makeRng(5);
    // 60 Hz main unit: a random spike has one within 1.5-25 ms before it ~75% of the time
    const fast = asc(poisson(60, rnd));
    // no spike of the slow unit within 1 ms of the fast one's, so only the chance rule can reject
    const slow = asc(poisson(4, rnd)).filter((t) => coincidentFraction(fast, Float64Array.of(t), 30) === 0);
    expect(coincidentFraction(fast, slow, 30)).toBe(0);
    expect(precededFraction(fast, slow, 45, 750)).toBeGreaterThan(BURST_MIN_FRACTION);
    const units: SegmentUnits = { spikes: [fast, slow], amplitudes: [footprint(5, 100), footprint(5, 60)] };
    expect(mergeBurstFragments(units, FS, DURATION)).toBe(units);
  });

  it('merges the late spikes of a fast bursting unit, where 4 x chance exceeds 1', () => {
    const rnd = makeRng(13);
    // 25 Hz of burst onsets: chance over the 23.5-ms window is ~0.44, so 4 x chance > 1.
    const onsets = asc(poisson(25, rnd, 300));
    const late = asc(Array.from(onsets.filter(() => rnd() < 0.3), (t) => t + Math.floor((4 + 4 * rnd()) * 30)));
    const chance = 1 - Math.exp(-(onsets.length / (DURATION / FS)) * ((BURST_WINDOW_MS[1] - BURST_WINDOW_MS[0]) / 1000));
    expect(BURST_CHANCE_FACTOR * chance).toBeGreaterThan(1);
    expect(coincidentFraction(onsets, late, 30)).toBeLessThan(0.05);
    const units: SegmentUnits = { spikes: [onsets, late], amplitudes: [footprint(5, 100), footprint(5, 60)] };
    const out = mergeBurstFragments(units, FS, DURATION);
    expect(out.spikes.length).toBe(1);
    expect(out.spikes[0].length).toBe(onsets.length + late.length);
    // An independent unit at the same place that fires as often is not taken (f near chance).
    const other = asc(poisson(6, rnd)).filter((t) => coincidentFraction(onsets, Float64Array.of(t), 30) === 0);
    const apart: SegmentUnits = { spikes: [onsets, other], amplitudes: [footprint(5, 100), footprint(5, 60)] };
    expect(mergeBurstFragments(apart, FS, DURATION)).toBe(apart);
  });

  it('burstTimingHolds: 4 x chance up to chance 0.2, then at most a quarter of the unpreceded share chance leaves', () => {
    expect(burstTimingHolds(0.39, 0.01)).toBe(false);  // below BURST_MIN_FRACTION
    expect(burstTimingHolds(0.4, 0.1)).toBe(true);
    expect(burstTimingHolds(0.79, 0.2)).toBe(false);
    expect(burstTimingHolds(0.8, 0.2)).toBe(true);
    expect(burstTimingHolds(0.87, 0.5)).toBe(false);   // needs 1 - 0.5 / 4 = 0.875
    expect(burstTimingHolds(0.88, 0.5)).toBe(true);
    expect(burstTimingHolds(0.99, 1)).toBe(false);     // a unit that precedes everything tells nothing
    expect(burstTimingHolds(Number.NaN, 0.1)).toBe(false);
  });

  it('merges transitively into the earliest unit and drops exact duplicates', () => {
    const rnd = makeRng(9);
    const { main, late } = burstingUnit(rnd);
    const half = late.filter((_, i) => i % 2 === 0);
    const rest = asc([...late.filter((_, i) => i % 2 === 1), late[0]]); // late[0] in both fragments
    const units: SegmentUnits = {
      spikes: [asc([1, 2, 3, 4, 5].map((x) => x * 50_000)), main, half, rest],
      amplitudes: [footprint(12, 90), footprint(5, 100), footprint(5, 65), footprint(5, 55)],
    };
    const out = mergeBurstFragments(units, FS, DURATION);
    expect(out.spikes.length).toBe(2);
    expect(out.spikes[0]).toBe(units.spikes[0]);
    expect(out.spikes[1].length).toBe(main.length + late.length);
  });

  it('is an option of the sorter, on by default', () => {
    const rec = { numChannels: 32, numSamples: 300000, samplingFrequency: 30000, samplesPerMs: 30 };
    expect(validateSortOptions(rec, {}).mergeBursts).toBe(true);
    expect(validateSortOptions(rec, { mergeBursts: false }).mergeBursts).toBe(false);
    expect(() => validateSortOptions(rec, { mergeBursts: 'no' as unknown as boolean })).toThrow(/mergeBursts must be true or false/);
  });
});
