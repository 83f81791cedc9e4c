import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run as generate, help as generateHelp } from '../../src/cli/generate.js';
import { run as compare, help as compareHelp } from '../../src/cli/compare.js';
import { loadGroundTruth } from '../../src/groundtruth/types.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-gtcli-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let out = '', err = '';
beforeEach(() => {
  out = ''; err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
});
afterEach(() => vi.restoreAllMocks());

describe('spikesift generate / compare', () => {
  const dir = path.join(root, 'rec');

  it('generates a recording and scores a sorting of it', async () => {
    expect(await generate(['--preset', 'poly64', '--duration', '2', '--seed', '4', '--drift', '3', '--jump', '1:10', '--jump', '1.5:-5', '--out', dir])).toBe(0);
    expect(out).toContain('64 channels x 60000 samples');
    expect(out).toContain('spikesift sort');
    const gt = loadGroundTruth(path.join(dir, 'ground_truth.json'));
    expect(gt.drift).toMatchObject({ rate: 3, jumps: [{ time: 1, um: 10 }, { time: 1.5, um: -5 }], nonRigid: 0 });
    // A "sorter" that finds unit 0 perfectly, unit 1 with every other spike, and one junk unit.
    const units: Record<string, number[]> = {
      '100': gt.units[0]!.spikes,
      '101': gt.units[1]!.spikes.filter((_, i) => i % 2 === 0),
      '102': [5, 50, 500, 5000],
    };
    const sortedFile = path.join(root, 'sorted.json');
    fs.writeFileSync(sortedFile, JSON.stringify({ units }));
    const jsonFile = path.join(root, 'report.json');
    out = '';
    expect(await compare([path.join(dir, 'ground_truth.json'), sortedFile, '--json', jsonFile])).toBe(0);
    expect(out).toContain(`GT units ${gt.units.length}, sorted units 3`);
    const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    expect(report.units[0]).toMatchObject({ gtId: 0, sortedId: 100, accuracy: 1 });
    const n1 = gt.units[1]!.spikes.length;
    expect(report.units[1].accuracy).toBeCloseTo(Math.ceil(n1 / 2) / n1, 12);
    expect(report.falsePositiveUnits).toEqual([102]);
    expect(report.units[2].precision).toBeNull(); // unmatched: NaN -> null in JSON
    out = '';
    expect(await compare([path.join(dir, 'ground_truth.json'), sortedFile, '--by-filtered-snr'])).toBe(0);
    expect(out).toContain('Accuracy by filtered SNR');
    expect(out).toMatch(/gt\s+fsnr\s+n_gt/);
  });

  it('reads a result saved by SortedRecording', async () => {
    const gt = loadGroundTruth(path.join(dir, 'ground_truth.json'));
    const rec = new SortedRecording({
      segments: [{ start: 0, end: gt.numSamples, spikes: [Float64Array.from(gt.units[2]!.spikes)], amplitudes: [new Float32Array(gt.numChannels)] }],
      links: [], probeGeometry: gt.probeGeometry, samplingFrequency: gt.samplingFrequency, numChannels: gt.numChannels,
    });
    const resDir = path.join(root, 'sorted');
    fs.mkdirSync(resDir, { recursive: true });
    await rec.save(path.join(resDir, 'result.spikesift'));
    expect(await compare([path.join(dir, 'ground_truth.json'), resDir])).toBe(0);
    expect(out).toMatch(/matched 1\b/);
  });

  it('prints help and exits 0', async () => {
    expect(await generate(['--help'])).toBe(0);
    expect(out).toBe(generateHelp);
    expect(generateHelp).toContain('--jump T:UM');
    out = '';
    expect(await compare(['-h'])).toBe(0);
    expect(out).toBe(compareHelp);
  });

  it('exits 2 on bad arguments, saying which and why', async () => {
    const cases: [() => Promise<number>, RegExp][] = [
      [() => generate(['--duration', '2']), /--out DIR is required/],
      [() => generate(['--out', dir, '--preset', 'np1000']), /--preset "np1000": unknown/],
      [() => generate(['--out', dir, '--duration', 'abc']), /--duration "abc": must be a positive number/],
      [() => generate(['--out', dir, '--jump', '10']), /--jump "10": must be TIME_S:UM/],
      [() => generate(['--out', dir, '--snr', '5,2']), /--snr "5,2"/],
      [() => generate(['--out', dir, '--dtype', 'int32']), /--dtype "int32"/],
      [() => generate(['--out', dir, '--non-rigid', '2']), /--non-rigid "2": must be in \[0, 1\]/],
      [() => generate(['--out', dir, '--frobnicate']), /Unknown option '--frobnicate'/],
      [() => generate(['--out', dir, '--probe', path.join(root, 'missing.json')]), /--probe .*missing\.json/],
      [() => compare([path.join(dir, 'ground_truth.json')]), /expected 2 arguments/],
      [() => compare([path.join(root, 'nope.json'), path.join(root, 'sorted.json')]), /GROUND_TRUTH: .*cannot be read/],
      [() => compare([path.join(dir, 'ground_truth.json'), path.join(root, 'nope.json')]), /SORTED .* does not exist/],
      [() => compare([path.join(dir, 'ground_truth.json'), path.join(dir, 'probe.json')]), /has no "units"/],
      [() => compare([path.join(dir, 'ground_truth.json'), path.join(root, 'sorted.json'), '--delta-ms=-1']), /--delta-ms "-1"/],
    ];
    for (const [p, re] of cases) {
      err = '';
      expect(await p()).toBe(2);
      expect(err).toMatch(re);
    }
  });
});
