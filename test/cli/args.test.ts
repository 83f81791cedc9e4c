import { describe, expect, it } from 'vitest';
import { UsageError, formatHelp, parseArgs, type CommandSpec } from '../../src/cli/args.js';

const spec: CommandSpec = {
  name: 'thing',
  summary: 'Does a thing.',
  positionals: [{ name: 'INPUT', description: 'The input.' }],
  options: [
    { name: 'rate', kind: 'number', value: 'HZ', required: true, description: 'Rate in Hz.', greaterThan: 0 },
    { name: 'count', kind: 'integer', value: 'N', min: 1, description: 'How many.' },
    { name: 'offset', kind: 'integer', value: 'N', description: 'Any sign.' },
    { name: 'mode', kind: 'string', value: 'M', choices: ['a', 'b'], description: 'Mode.' },
    { name: 'quiet', kind: 'flag', description: 'Be quiet.' },
  ],
};

function usage(argv: string[]): string {
  try {
    parseArgs(spec, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('parses both --name value and --name=value, negative values and flags', () => {
    const p = parseArgs(spec, ['in.bin', '--rate=30000', '--count', '3', '--offset', '-250', '--mode', 'b', '--quiet']);
    expect(p.positionals).toEqual(['in.bin']);
    expect(p.options).toEqual({ rate: 30000, count: 3, offset: -250, mode: 'b', quiet: true });
  });

  it('names the argument and the reason for every kind of mistake', () => {
    expect(usage(['in.bin'])).toMatch(/missing required option --rate HZ/);
    expect(usage(['--rate', '1'])).toMatch(/missing INPUT/);
    expect(usage(['in.bin', '--rate', 'fast'])).toMatch(/--rate expects a number, got "fast"/);
    expect(usage(['in.bin', '--rate', '0'])).toMatch(/--rate must be greater than 0/);
    expect(usage(['in.bin', '--rate', '1', '--count', '2.5'])).toMatch(/--count expects a whole number, got "2.5"/);
    expect(usage(['in.bin', '--rate', '1', '--count', '0'])).toMatch(/--count must be at least 1/);
    expect(usage(['in.bin', '--rate', '1', '--mode', 'c'])).toMatch(/--mode must be one of a, b; got "c"/);
    expect(usage(['in.bin', '--rate', '1', '--colour', 'red'])).toMatch(/unknown option --colour/);
    expect(usage(['in.bin', '--rate', '1', '--coun', '2'])).toMatch(/did you mean --count\?/);
    expect(usage(['in.bin', '--rate'])).toMatch(/--rate needs a value \(HZ\)/);
    expect(usage(['in.bin', '--rate', '1', '--rate', '2'])).toMatch(/--rate was given more than once/);
    expect(usage(['in.bin', 'other.bin', '--rate', '1'])).toMatch(/unexpected argument "other.bin"/);
    expect(usage(['in.bin', '--rate', '1', '--quiet=yes'])).toMatch(/--quiet is a switch/);
    expect(usage(['in.bin', '--rate', '1', '-q'])).toMatch(/unknown option "-q"/);
  });

  it('help lists every option with its placeholder, choices and requirement', () => {
    const help = formatHelp(spec);
    expect(help).toMatch(/^Usage: spikesift thing INPUT --rate HZ \[options\]/);
    for (const o of spec.options) expect(help).toContain(`--${o.name}`);
    expect(help).toMatch(/--mode M\s+Mode\. One of: a, b\./);
    expect(help).toMatch(/--rate HZ\s+Rate in Hz\. Required\./);
  });
});

describe('sort options from the command line', () => {
  it('maps every sorting flag to its SortOptions field, --no-merge-bursts included', async () => {
    const { spec: sortSpec, sortOptionsFrom } = await import('../../src/cli/sort.js');
    const base = ['rec.bin', '--probe', 'p.json', '--sampling-frequency', '30000', '--dtype', 'int16', '--out', 'o'];
    expect(sortOptionsFrom(parseArgs(sortSpec, base)).mergeBursts).toBeUndefined();
    const o = sortOptionsFrom(parseArgs(sortSpec, [...base, '--no-merge-bursts', '--detection-polarity', '-0.195', '--max-drift', '15']));
    expect(o.mergeBursts).toBe(false);
    expect(o.detectionPolarity).toBe(-0.195);
    expect(o.maxDrift).toBe(15);
    expect(o.mode).toBeUndefined();
    const r = sortOptionsFrom(parseArgs(sortSpec, [...base, '--reference', '--max-skipped-segments', '0']));
    expect(r.mode).toBe('reference');
    expect(r.maxSkippedSegments).toBe(0);
  });
});
