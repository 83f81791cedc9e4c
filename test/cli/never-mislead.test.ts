// Issue 13: a command line and library that never lose work and never mislead. One test per
// case reported by a new user, each with the message they now get.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { compareToGroundTruth, formatComparison } from '../../src/groundtruth/compare.js';
import { loadGroundTruth } from '../../src/groundtruth/types.js';
import { Recording } from '../../src/formats/recording.js';
import { writeNpy } from '../../src/formats/npy.js';
import { performSpikeSorting } from '../../src/pipeline/perform.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { mergeRecordings } from '../../src/result/merge.js';
import { exportPhy } from '../../src/export/phy.js';
import { exportSpikeInterface } from '../../src/export/spikeinterface.js';
import { buildReport } from '../../src/export/report.js';
import { firstSentence, parseArgs } from '../../src/cli/args.js';
import { tempDir } from '../export/helpers.js';
import { cli } from './helpers.js';

let root: string;
let gen: GeneratedRecording;
let sorted: string;

function sortArgs(out: string, ...extra: (string | number)[]): (string | number)[] {
  return ['sort', gen.binaryFile, '--probe', gen.probeFile, '--sampling-frequency', gen.samplingFrequency, '--dtype', gen.dataType,
    '--detection-polarity', gen.detectionPolarity, '--min-segment-length', 1, '--backend', 'cpu', '--out', out, ...extra];
}

beforeAll(async () => {
  root = tempDir('spikesift-mislead-');
  gen = await generateRecording({ out: path.join(root, 'gen'), preset: 'linear32', duration: 3, seed: 4 });
  sorted = path.join(root, 'sorted');
  const r = await cli(...sortArgs(sorted));
  expect(r.code, r.err).toBe(0);
});

describe('output folders never lose work', () => {
  it('refuses a folder with a previous result, and with --overwrite keeps the curation and drops the stale report', async () => {
    const out = path.join(root, 'curated');
    expect((await cli(...sortArgs(out))).code).toBe(0);
    const groups = path.join(out, 'phy', 'cluster_group.tsv');
    fs.writeFileSync(groups, 'cluster_id\tgroup\n0\tgood\n');
    fs.mkdirSync(path.join(out, 'phy', '.phy'));
    fs.writeFileSync(path.join(out, 'phy', '.phy', 'cache'), 'x');
    expect((await cli('report', out, '--out', path.join(out, 'report.html'))).code).toBe(0);
    const before = fs.readFileSync(path.join(out, 'result.spikesift'));

    const refused = await cli(...sortArgs(out));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--out ".*curated" already holds a previous result; pass another folder, or add --overwrite to replace it \(your \.phy\/, cluster_group\.tsv in .*phy would be moved into .*kept-<time>, not deleted\)/);
    expect(fs.readFileSync(groups, 'utf8')).toBe('cluster_id\tgroup\n0\tgood\n');
    expect(fs.readFileSync(path.join(out, 'result.spikesift')).equals(before)).toBe(true);

    const again = await cli(...sortArgs(out, '--overwrite', '--seed-never-exists').slice(0, -1));
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/note: replaced the previous result in .*curated \(--overwrite\)/);
    expect(again.err).toMatch(/note: kept your files from the previous result in .*kept-[0-9TZ-]+\/: phy\/\.phy\/ \(Phy's cache\), phy\/cluster_group\.tsv \(curated cluster labels\)/);
    expect(again.err).toMatch(/note: removed .*report\.html \(it described the previous result\)/);
    const kept = fs.readdirSync(out).filter((n) => n.startsWith('kept-'));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(out, kept[0], 'phy', 'cluster_group.tsv'), 'utf8')).toBe('cluster_id\tgroup\n0\tgood\n');
    expect(fs.existsSync(path.join(out, kept[0], 'phy', '.phy', 'cache'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'report.html'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'phy', '.phy'))).toBe(false);
    expect(fs.readFileSync(groups, 'utf8')).toMatch(/^cluster_id\tgroup\n0\tunsorted\n/);
    // No staging folder is left beside it.
    expect(fs.readdirSync(root).filter((n) => n.includes('spikesift-partial'))).toEqual([]);
  });

  it('export and report follow the same rule', async () => {
    const phy = path.join(root, 'phy-export');
    expect((await cli('export', sorted, '--format', 'phy', '--out', phy)).code).toBe(0);
    const r = await cli('export', sorted, '--format', 'phy', '--out', phy);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out ".*phy-export" already holds a previous Phy export; pass another folder, or add --overwrite to replace it/);
    expect((await cli('export', sorted, '--format', 'phy', '--out', phy, '--overwrite')).code).toBe(0);
    const into = await cli('export', sorted, '--format', 'spikeinterface', '--out', sorted);
    expect(into.code).toBe(2);
    expect(into.err).toMatch(/--out ".*sorted" is the folder of the input .*; spikesift does not write next to its input/);
    const html = path.join(root, 'r.html');
    expect((await cli('report', sorted, '--out', html)).code).toBe(0);
    const again = await cli('report', sorted, '--out', html);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/--out ".*r\.html" already exists; pass another file name, or add --overwrite to replace it/);
  });

  it('never writes into the folder of the recording', async () => {
    const r = await cli(...sortArgs(path.dirname(gen.binaryFile)));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out ".*gen" is the folder of the input .*recording\.bin; spikesift does not write next to its input: pass a new folder/);
  });
});

describe('timings and progress', () => {
  it('sort reports each export step and ends with the wall time of the whole command', async () => {
    const r = await cli(...sortArgs(path.join(root, 'timed')));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^writing the Phy folder: \d+\.\d s$/m);
    expect(r.err).toMatch(/^writing the SpikeInterface folder: \d+\.\d s$/m);
    expect(r.out).toMatch(/^done in \d+\.\d s \(wall time of the whole command\): wrote .*result\.spikesift, .*phy\/, .*spikeinterface\/, .*summary\.json, .*recording\.json$/m);
  });

  it('generate prints progress when its stderr is not a terminal', async () => {
    const r = await cli('generate', '--duration', 1, '--out', path.join(root, 'g1'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^generating: 0%$/m);
    expect(r.err).toMatch(/^generating: 100%$/m);
  });
});

describe('errors name the right parameter, the value and the fix', () => {
  const geom = (n: number) => Array.from({ length: n }, (_, i) => [0, i * 20]);
  const rec = (file: string, probe: string) => ['sort', file, '--probe', probe, '--sampling-frequency', 30000, '--dtype', 'int16', '--out', path.join(root, 'never')];

  it('an empty recording', async () => {
    const file = path.join(root, 'empty.bin');
    fs.writeFileSync(file, '');
    fs.writeFileSync(path.join(root, 'p64.json'), JSON.stringify(geom(64)));
    const r = await cli(...rec(file, path.join(root, 'p64.json')));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/RECORDING: binaryFile ".*empty\.bin" is empty \(0 bytes\): it holds no samples; pass the raw recording file/);
  });

  it('a 7-channel probe on a 64-channel file blames the probe', async () => {
    const file = path.join(root, 'd64.bin');
    fs.writeFileSync(file, Buffer.alloc(64 * 2 * 3000));
    fs.writeFileSync(path.join(root, 'p7.json'), JSON.stringify(geom(7)));
    const r = await cli(...rec(file, path.join(root, 'p7.json')));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--probe: the probe has 7 sites but the 384000 bytes of ".*d64\.bin" after the offset are not a whole number of 7-column samples .* for 16, 32, 64, 96 columns\); pass a probe with one site per file column/);
  });

  it('a NaN in a probe .npy is shown as NaN with its row', async () => {
    const g = new Float64Array(64 * 2);
    for (let c = 0; c < 64; c++) g[2 * c + 1] = 20 * c;
    g[5] = NaN;
    writeNpy(path.join(root, 'nan.npy'), g, [64, 2]);
    const r = await cli(...rec(path.join(root, 'd64.bin'), path.join(root, 'nan.npy')));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--probe: probe file .*nan\.npy: row 2 \(channel 2\) of the \.npy array has the coordinate NaN \(\[x, y\] = \[0, NaN\]\); every position must be a finite number of µm/);
  });

  it('generate --duration -5 names the rule, not the parser', async () => {
    const r = await cli('generate', '--duration', '-5', '--out', path.join(root, 'g-neg'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^spikesift generate: --duration "-5": must be a positive number of seconds$/m);
  });

  it('a missing required option is described by its whole first sentence', () => {
    const spec = { name: 'x', summary: '', positionals: [], options: [{ name: 'probe', kind: 'string' as const, required: true, description: 'Probe geometry: a probeinterface .json or a .npy, in µm. More.' }] };
    expect(() => parseArgs(spec, [])).toThrow('missing required option --probe (probe geometry: a probeinterface .json or a .npy, in µm)');
    expect(firstSentence('Output folder (created if needed). More.')).toBe('output folder (created if needed)');
  });

  it('results in the wrong order are called that, not an overlap', async () => {
    const result = await SortedRecording.load(path.join(sorted, 'result.spikesift'));
    const later = new Recording({ binaryFile: gen.binaryFile, dataType: 'int16', probeGeometry: gen.probeGeometry, samplingFrequency: gen.samplingFrequency, recordingOffset: gen.numSamples });
    const second = await performSpikeSorting(later, { verbose: false, backend: 'cpu', minSegmentLength: 1, detectionPolarity: gen.detectionPolarity });
    expect(() => mergeRecordings([second, result])).toThrow(/recording 1 \[0, 90000\) samples .* comes before recording 0 \[90000, 180000\) samples .*: the list is not in time order; pass the results sorted by startTime\(\)/);
    // The CLI joins in time order whatever the order given.
    fs.mkdirSync(path.join(root, 'later'));
    await second.save(path.join(root, 'later', 'result.spikesift'));
    const m = await cli('merge', path.join(root, 'later'), sorted, '--out', path.join(root, 'merged'));
    expect(m.code, m.err).toBe(0);
    expect(m.err).toMatch(/note: joining in time order/);
  });

  it('ground truth of another recording is refused by compare and report', async () => {
    const other = await generateRecording({ out: path.join(root, 'gen-other'), preset: 'poly64', duration: 1, seed: 2 });
    const c = await cli('compare', other.groundTruthFile, sorted);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/spikesift compare: the ground truth is for a 64-channel recording but the sorting has 32 channels: they are not the same recording; score a sorting of the recording this ground truth was generated with/);
    const r = await cli('report', sorted, '--ground-truth', other.groundTruthFile, '--out', path.join(root, 'never.html'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--ground-truth ".*": the ground truth is for a 64-channel recording but the sorting has 32 channels/);
    const result = await SortedRecording.load(path.join(sorted, 'result.spikesift'));
    const gt = loadGroundTruth(gen.groundTruthFile);
    expect(() => compareToGroundTruth({ ...gt, numSamples: 30000 } as typeof gt, result)).toThrow(/the sorting covers samples 0 to 90000 \(0\.000 s to 3\.000 s\) but the ground truth has 30000 samples \(1\.000 s\)/);
  });
});

describe('the library rejects misspelt options', () => {
  it('performSpikeSorting and the other entry points name the closest valid option', async () => {
    const r = new Recording({ binaryFile: gen.binaryFile, dataType: 'int16', probeGeometry: gen.probeGeometry, samplingFrequency: gen.samplingFrequency });
    await expect(performSpikeSorting(r, { minSegmentLenght: 5 } as never)).rejects.toThrow(/unknown sorting option "minSegmentLenght"; did you mean "minSegmentLength"\?/);
    const result = await SortedRecording.load(path.join(sorted, 'result.spikesift'));
    expect(() => exportPhy(result, path.join(root, 'x'), { recordng: r } as never)).toThrow(/exportPhy: unknown option "recordng"; did you mean "recording"\?/);
    expect(() => exportSpikeInterface(result, path.join(root, 'x'), { orign: 0 } as never)).toThrow(/exportSpikeInterface: unknown option "orign"; did you mean "origin"\?/);
    expect(() => buildReport({ result, titel: 'x' } as never)).toThrow(/buildReport: unknown option "titel"; did you mean "title"\?/);
    await expect(generateRecording({ out: path.join(root, 'x'), durtion: 1 } as never)).rejects.toThrow(/generateRecording: unknown option "durtion"; did you mean "duration"\?/);
    expect(() => mergeRecordings([result], { maxDrfit: 10 } as never)).toThrow(/mergeRecordings: unknown option "maxDrfit"; did you mean "maxDrift"\?/);
    expect(() => compareToGroundTruth(loadGroundTruth(gen.groundTruthFile), result, { deltaMS: 1 } as never)).toThrow(/compareToGroundTruth: unknown option "deltaMS"; did you mean "deltaMs"\?/);
  });
});

describe('reading output', () => {
  it('unit id lists are labelled with their count, counts agree in number', async () => {
    const result = await SortedRecording.load(path.join(sorted, 'result.spikesift'));
    const text = formatComparison(compareToGroundTruth(loadGroundTruth(gen.groundTruthFile), result));
    for (const line of text.split('\n').filter((l) => /sorted units?:|GT units?:/.test(l) && /ids? /.test(l))) {
      const m = /^(\d+) .*: ids? ([\d, ]+)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(m![2].split(',').length).toBe(Number(m![1]));
    }
    const one = await cli('sort', gen.binaryFile, '--probe', gen.probeFile, '--sampling-frequency', gen.samplingFrequency, '--dtype', gen.dataType,
      '--detection-polarity', gen.detectionPolarity, '--backend', 'cpu', '--quiet', '--out', path.join(root, 'one-segment'));
    expect(one.code, one.err).toBe(0);
    expect(one.out).toMatch(/, 1 segment$/m);
  });
});

describe('temp folders', () => {
  it('the demo removes its temporary folder unless asked to keep it', async () => {
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('spikesift-demo-')));
    const r = await cli('demo', '--duration', 2, '--preset', 'linear32', '--backend', 'cpu', '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^done in .*: nothing kept \(the temporary folder is removed\); pass --keep or --out DIR to keep the recording, the outputs and report\.html$/m);
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('spikesift-demo-') && !before.has(n))).toEqual([]);
    const kept = path.join(root, 'demo-kept');
    const k = await cli('demo', '--duration', 2, '--preset', 'linear32', '--backend', 'cpu', '--quiet', '--out', kept);
    expect(k.code, k.err).toBe(0);
    expect(fs.existsSync(path.join(kept, 'report.html'))).toBe(true);
    const again = await cli('demo', '--duration', 2, '--preset', 'linear32', '--backend', 'cpu', '--quiet', '--out', kept);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/--out ".*demo-kept" already holds a previous demo .*; pass another folder, or add --overwrite to replace it/);
  });
});
