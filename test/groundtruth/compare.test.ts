import { describe, expect, it } from 'vitest';
import { compareToGroundTruth, countMatches, formatComparison } from '../../src/groundtruth/compare.js';
import { ParameterError } from '../../src/formats/dtype.js';

const FS = 30000; // delta 0.4 ms = 12 samples
const train = (n: number, start = 1000, step = 3000): number[] => Array.from({ length: n }, (_, i) => start + i * step);
const gtOf = (units: Record<number, number[]>, snr: Record<number, number> = {}) => ({
  samplingFrequency: FS,
  units: Object.entries(units).map(([id, spikes]) => ({ id: Number(id), spikes, snr: snr[Number(id)] ?? null })),
});

describe('countMatches', () => {
  it('matches each spike at most once, within delta inclusive', () => {
    expect(countMatches([100], [95, 105], 12)).toBe(1);
    expect(countMatches([100, 101], [100], 12)).toBe(1);
    expect(countMatches([100, 200], [112, 188], 12)).toBe(2);
    expect(countMatches([100], [113], 12)).toBe(0);
    expect(countMatches([], [1, 2], 12)).toBe(0);
    // Pairing 20 with its closest (19) would leave 10 alone; the merge pairs 10-19 and 20-30.
    expect(countMatches([10, 20], [19, 30], 10)).toBe(2);
  });
});

describe('compareToGroundTruth', () => {
  it('perfect sorting: agreement, accuracy, precision and recall are 1', () => {
    const a = train(20), b = train(10, 1500);
    const r = compareToGroundTruth(gtOf({ 1: a, 2: b }), { units: { '7': a, '8': b } });
    expect(r.deltaSamples).toBe(12);
    expect(r.matches).toEqual([{ gtId: 1, sortedId: 7, agreement: 1 }, { gtId: 2, sortedId: 8, agreement: 1 }]);
    for (const u of r.units) {
      expect(u).toMatchObject({ accuracy: 1, precision: 1, recall: 1, fn: 0, fp: 0, wellDetected: true });
    }
    expect(r.totals).toMatchObject({ numWellDetected: 2, numFalsePositive: 0, numRedundant: 0, numOvermerged: 0, meanAccuracy: 1 });
  });

  it('shifts up to delta still match; beyond delta nothing matches', () => {
    const a = train(10);
    const within = compareToGroundTruth(gtOf({ 1: a }), { units: { '1': a.map((t) => t + 12) } });
    expect(within.units[0]).toMatchObject({ sortedId: 1, tp: 10, accuracy: 1 });
    const mixed = compareToGroundTruth(gtOf({ 1: a }), { units: { '1': a.map((t, i) => t + (i < 6 ? 5 : 13)) } });
    // 6 match, 4 do not: agreement 6 / (10 + 10 - 6) = 3/7 < 0.5, so no Hungarian match.
    expect(mixed.agreement[0]![0]).toBeCloseTo(6 / 14, 12);
    expect(mixed.units[0]).toMatchObject({ sortedId: null, tp: 0, fn: 10, accuracy: 0, recall: 0, bestSortedId: 1 });
    // It is GT 1's own best match, so (as in SpikeInterface) neither redundant nor false positive, only bad.
    expect(mixed.redundantUnits).toEqual([]);
    expect(mixed.falsePositiveUnits).toEqual([]);
    expect(mixed.badUnits).toEqual([1]);
    const beyond = compareToGroundTruth(gtOf({ 1: a }), { units: { '1': a.map((t) => t + 13) } });
    expect(beyond.agreement[0]![0]).toBe(0);
    expect(beyond.units[0]!.sortedId).toBeNull();
    expect(beyond.falsePositiveUnits).toEqual([1]);
    expect(beyond.missedUnits).toEqual([1]);
    // A different delta changes that.
    const wide = compareToGroundTruth(gtOf({ 1: a }), { units: { '1': a.map((t) => t + 13) } }, { deltaMs: 0.5 });
    expect(wide.deltaSamples).toBe(15);
    expect(wide.units[0]!.accuracy).toBe(1);
  });

  it('split unit: the larger part is matched, the other is redundant', () => {
    const a = train(10);
    const r = compareToGroundTruth(gtOf({ 0: a }), { units: { '5': a.slice(0, 6), '6': a.slice(6) } });
    expect(r.agreement[0]).toEqual([0.6, 0.4]);
    expect(r.units[0]).toMatchObject({ sortedId: 5, tp: 6, fn: 4, fp: 0, accuracy: 0.6, precision: 1, recall: 0.6, wellDetected: false });
    expect(r.redundantUnits).toEqual([6]);
    expect(r.falsePositiveUnits).toEqual([]);
    expect(r.badUnits).toEqual([6]);
  });

  it('merged units: matched to the larger GT unit with false positives, flagged overmerged', () => {
    const a = train(6, 1000), b = train(4, 2000);
    const merged = [...a, ...b].sort((x, y) => x - y);
    const r = compareToGroundTruth(gtOf({ 1: a, 2: b }), { units: { '9': merged } });
    expect(r.agreement.map((row) => row[0])).toEqual([0.6, 0.4]);
    expect(r.units[0]).toMatchObject({ sortedId: 9, tp: 6, fn: 0, fp: 4, accuracy: 0.6, precision: 0.6, recall: 1 });
    expect(r.units[1]).toMatchObject({ sortedId: null, accuracy: 0, recall: 0 });
    expect(Number.isNaN(r.units[1]!.precision)).toBe(true);
    expect(r.overmergedUnits).toEqual([9]);
    expect(r.missedUnits).toEqual([2]);
  });

  it('extra unit is a false positive; partial detection gives the hand-computed scores', () => {
    const a = train(10);
    const found = [...a.slice(0, 8), 500, 700]; // 8 true, 2 false, 2 missed
    const r = compareToGroundTruth(gtOf({ 3: a }), new Map([[1, found], [2, train(5, 2200, 3000)]]));
    expect(r.units[0]).toMatchObject({ sortedId: 1, tp: 8, fn: 2, fp: 2 });
    expect(r.units[0]!.accuracy).toBeCloseTo(8 / 12, 12);
    expect(r.units[0]!.precision).toBeCloseTo(0.8, 12);
    expect(r.units[0]!.recall).toBeCloseTo(0.8, 12);
    expect(r.units[0]!.agreement).toBeCloseTo(8 / 12, 12);
    expect(r.falsePositiveUnits).toEqual([2]);
    expect(r.totals).toMatchObject({ numGt: 1, numSorted: 2, numMatched: 1, numFalsePositive: 1 });
  });

  it('one-to-one matching maximises total agreement, not the single best pair', () => {
    // GT 1 duplicates the first half of GT 0 (a constructed case). Sorted 10 agrees best with GT 0
    // (0.75) but pairing it with GT 1 (2/3) and GT 0 with sorted 11 (0.5) gives more in total.
    const T = train(20);
    const r = compareToGroundTruth(gtOf({ 0: T, 1: T.slice(0, 10) }), { units: { '10': T.slice(0, 15), '11': T.slice(10) } });
    expect(r.agreement[0]![0]).toBeCloseTo(0.75, 12);
    expect(r.agreement[0]![1]).toBeCloseTo(0.5, 12);
    expect(r.agreement[1]![0]).toBeCloseTo(2 / 3, 12);
    expect(r.agreement[1]![1]).toBe(0);
    expect(r.matches.map((m) => [m.gtId, m.sortedId])).toEqual([[0, 11], [1, 10]]);
    expect(r.units[0]).toMatchObject({ tp: 10, fn: 10, fp: 0, accuracy: 0.5, bestSortedId: 10 });
    expect(r.units[1]).toMatchObject({ tp: 10, fn: 0, fp: 5 });
    expect(r.overmergedUnits).toEqual([10]);
  });

  it('accepts a SortedRecording-like object, unsorted trains, and bins accuracy by SNR', () => {
    const a = train(10), b = train(10, 1700);
    const src = { clusterIds: () => [4, 5], spikes: (id: number) => Float64Array.from(id === 4 ? [...a].reverse() : b.slice(0, 5)) };
    const r = compareToGroundTruth(gtOf({ 0: a, 1: b }, { 0: 4, 1: 15 }), src);
    expect(r.units[0]).toMatchObject({ sortedId: 4, accuracy: 1 });
    expect(r.units[1]).toMatchObject({ sortedId: 5, accuracy: 0.5 });
    const bins = r.bySnr.filter((x) => x.count > 0);
    expect(bins).toEqual([
      { lo: 3, hi: 5, count: 1, meanAccuracy: 1, meanRecall: 1, wellDetected: 1 },
      { lo: 12, hi: 20, count: 1, meanAccuracy: 0.5, meanRecall: 0.5, wellDetected: 0 },
    ]);
    const byF = compareToGroundTruth({ samplingFrequency: FS, units: [{ id: 0, spikes: a, snr: 4, filteredSnr: 7 }] }, src, { snrField: 'filteredSnr' });
    expect(byF.units[0]!.snr).toBe(7);
    expect(byF.bySnr.filter((x) => x.count > 0).map((x) => [x.lo, x.hi])).toEqual([[6.745, 10]]);
    expect(() => compareToGroundTruth(gtOf({}), src, { snrField: 'x' as never })).toThrow(/snrField/);
    const text = formatComparison(r);
    expect(text).toContain('GT units 2, sorted units 2, matched 2, well detected (accuracy >= 0.8) 1');
    expect(text).toContain('Accuracy by SNR');
  });

  it('handles empty inputs and rejects bad ones naming the parameter', () => {
    const r = compareToGroundTruth(gtOf({ 0: train(3) }), { units: {} });
    expect(r.units[0]).toMatchObject({ sortedId: null, accuracy: 0 });
    expect(compareToGroundTruth({ units: [] }, { units: { '1': [5] } }, { samplingFrequency: FS }).falsePositiveUnits).toEqual([1]);
    expect(() => compareToGroundTruth({ units: [] }, { units: {} })).toThrow(/samplingFrequency/);
    expect(() => compareToGroundTruth(gtOf({}), { units: { x: [1] } })).toThrow(ParameterError);
    expect(() => compareToGroundTruth(gtOf({}), { units: { '1': [1, NaN] } })).toThrow(/non-finite/);
    expect(() => compareToGroundTruth(gtOf({}), 42 as never)).toThrow(/sorted/);
    expect(() => compareToGroundTruth(gtOf({}), { units: {} }, { deltaMs: -1 })).toThrow(/deltaMs/);
  });

  it('scales to many units and spikes (candidate pairs only)', () => {
    const gt: Record<number, number[]> = {}, sorted: Record<string, number[]> = {};
    for (let u = 0; u < 200; u++) {
      gt[u] = Array.from({ length: 2000 }, (_, i) => i * 997 + u * 3);
      sorted[String(u + 1000)] = gt[u]!.map((t) => t + 2);
    }
    const r = compareToGroundTruth(gtOf(gt), { units: sorted }, { deltaMs: 0.01 }); // delta 0 samples: exact only
    expect(r.deltaSamples).toBe(0);
    expect(r.totals.numWellDetected).toBe(0);
    const r2 = compareToGroundTruth(gtOf(gt), { units: sorted }, { deltaMs: 0.1 }); // 3 samples: each unit's own + neighbours
    expect(r2.totals.numWellDetected).toBe(200);
    expect(r2.matches.every((m) => m.sortedId === m.gtId + 1000)).toBe(true);
  });
});
