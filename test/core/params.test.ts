/**
 * The parameter table drives validation, unknown-option rejection, the CLI's options and the
 * README's table: these tests hold them together.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SORT_PARAMETERS, closestName, parameterTableMarkdown, sortDefaults, validateSortOptions, type SortOptions } from '../../src/core/params.js';
import { ParameterError } from '../../src/core/errors.js';

const shape = { numChannels: 32, numSamples: 300_000, samplingFrequency: 30000 };

describe('parameter table', () => {
  it('the README table is the generated one (run npm run docs after changing src/core/params.ts)', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const a = readme.indexOf('<!-- parameters:begin -->');
    const b = readme.indexOf('<!-- parameters:end -->');
    expect(a).toBeGreaterThan(0);
    expect(readme.slice(a + '<!-- parameters:begin -->'.length, b).trim()).toBe(parameterTableMarkdown());
  });

  it('rejects a misspelled option, naming the closest valid one', () => {
    const err = (() => {
      try {
        validateSortOptions(shape, { minSegmentLenght: 5 } as unknown as SortOptions);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ParameterError);
    expect((err as Error).message).toMatch(/unknown sorting option "minSegmentLenght"; did you mean "minSegmentLength"\?/);
    expect(() => validateSortOptions(shape, { zzz: 1 } as unknown as SortOptions)).toThrow(/unknown sorting option "zzz" \(valid options: minSegmentLength/);
    expect(closestName('workrs', SORT_PARAMETERS.map((p) => p.name))).toBe('workers');
  });

  it('applies every default from the table', () => {
    const r = validateSortOptions(shape, {});
    const d = sortDefaults();
    expect(r.minSegmentMs).toBe(1000 * (d.minSegmentLength as number));
    expect(r.detectionSensitivity).toBe(d.detectionSensitivity);
    expect(r.mergeBursts).toBe(d.mergeBursts);
    expect(r.workers).toBeGreaterThanOrEqual(1);
    expect(r.memoryLimit).toBeGreaterThanOrEqual(2 ** 30);
  });

  it('checks types by kind and names the parameter', () => {
    expect(() => validateSortOptions(shape, { workers: 1.5 })).toThrow(/workers must be a whole number/);
    expect(() => validateSortOptions(shape, { workers: 0 })).toThrow(/workers must be a whole number >= 1, got 0/);
    expect(() => validateSortOptions(shape, { memoryLimit: -1 })).toThrow(/memoryLimit must be a positive number of bytes/);
    expect(() => validateSortOptions(shape, { backend: 'gpu' as never })).toThrow(/backend must be 'auto', 'webgpu' or 'cpu', got "gpu"/);
    expect(() => validateSortOptions(shape, { mergeBursts: 'no' as never })).toThrow(/mergeBursts must be true or false/);
  });

  it('every CLI-visible option is a sort flag with its default in --help', async () => {
    const { spec } = await import('../../src/cli/sort.js');
    const { formatHelp } = await import('../../src/cli/args.js');
    const help = formatHelp(spec);
    for (const p of SORT_PARAMETERS) {
      if (!p.cli) continue;
      expect(spec.options.some((o) => o.name === p.cli!.flag), p.name).toBe(true);
      expect(help).toContain(`--${p.cli.flag}`);
    }
  });
});
