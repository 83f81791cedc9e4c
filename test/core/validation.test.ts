import { describe, expect, it } from 'vitest';
import { validateSortOptions, type SortOptions } from '../../src/core/params.js';

const rec = { numChannels: 32, numSamples: 300000, samplingFrequency: 30000, samplesPerMs: 30 };

function errorOf(fn: () => unknown): Error & { parameter?: string; value?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('validateSortOptions (spec §1)', () => {
  it('applies the defaults', () => {
    const o = validateSortOptions(rec, {});
    expect(o).toMatchObject({
      minSegmentMs: 10000, detectionSensitivity: 10, minSpikesPerCluster: 5, mergingThreshold: 0.4,
      maxDrift: 30, detectionPolarity: -1, verbose: true, backend: 'auto',
    });
  });

  it('clips minSegmentLength to 0.1 s and rounds to whole ms half-to-even', () => {
    expect(validateSortOptions(rec, { minSegmentLength: 0.01 }).minSegmentMs).toBe(100);
    expect(validateSortOptions(rec, { minSegmentLength: 0.1125 }).minSegmentMs).toBe(112); // 112.5 -> even
    expect(validateSortOptions(rec, { minSegmentLength: 0.1135 }).minSegmentMs).toBe(114); // 113.5 -> even
    expect(validateSortOptions(rec, { minSegmentLength: 2.5 }).minSegmentMs).toBe(2500);
  });

  it('clips minSpikesPerCluster to 2 and keeps fractions (compared as a float)', () => {
    expect(validateSortOptions(rec, { minSpikesPerCluster: 1 }).minSpikesPerCluster).toBe(2);
    expect(validateSortOptions(rec, { minSpikesPerCluster: 3.5 }).minSpikesPerCluster).toBe(3.5);
  });

  it('rounds maxDrift half-to-even to a multiple of 5', () => {
    expect(validateSortOptions(rec, { maxDrift: 2.5 }).maxDrift).toBe(0);
    expect(validateSortOptions(rec, { maxDrift: 7.5 }).maxDrift).toBe(10);
    expect(validateSortOptions(rec, { maxDrift: 12.5 }).maxDrift).toBe(10);
    expect(validateSortOptions(rec, { maxDrift: 13 }).maxDrift).toBe(15);
  });

  const bad: [keyof SortOptions, unknown][] = [
    ['detectionSensitivity', 0], ['detectionSensitivity', -1], ['detectionSensitivity', NaN], ['detectionSensitivity', '10'],
    ['mergingThreshold', 0], ['mergingThreshold', 1], ['mergingThreshold', 1.5],
    ['maxDrift', -5], ['maxDrift', Infinity],
    ['detectionPolarity', 0], ['detectionPolarity', NaN],
    ['minSegmentLength', NaN], ['minSpikesPerCluster', Infinity],
    ['backend', 'gpu'], ['verbose', 'yes'], ['onProgress', 3],
  ];
  for (const [name, value] of bad) {
    it(`rejects ${name} = ${String(value)} naming the parameter and the value`, () => {
      const e = errorOf(() => validateSortOptions(rec, { [name]: value } as SortOptions));
      expect(e.message).toContain(name);
      expect(e.message).toContain(typeof value === 'string' ? JSON.stringify(value) : String(value));
      expect(e.parameter).toBe(name);
    });
  }

  it('accepts any non-zero finite polarity, e.g. -1/a for scaled data', () => {
    expect(validateSortOptions(rec, { detectionPolarity: -1 / 0.195 }).detectionPolarity).toBeCloseTo(-5.128, 3);
  });

  it('rejects recordings that cannot be sorted, with the fix', () => {
    let e = errorOf(() => validateSortOptions({ ...rec, samplingFrequency: 4000, samplesPerMs: 4 }, {}));
    expect(e.message).toMatch(/samplingFrequency 4000 Hz is too low.*5000/);
    e = errorOf(() => validateSortOptions({ ...rec, numChannels: 3 }, {}));
    expect(e.message).toMatch(/at least 4 channels.*has 3/);
    e = errorOf(() => validateSortOptions({ ...rec, numSamples: 299 }, {}));
    expect(e.message).toMatch(/too short.*299 samples.*9 whole ms/);
    expect(() => validateSortOptions({ ...rec, numSamples: 300 }, {})).not.toThrow();
  });
});
