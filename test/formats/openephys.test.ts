// Open Ephys binary: the real structure.oebin and settings.xml of ../shared/data/openephys,
// copied into a temp folder with a continuous.dat written here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareToGroundTruth } from '../../src/groundtruth/compare.js';
import { generateRecording } from '../../src/groundtruth/generate.js';
import { readOpenEphysStructure } from '../../src/formats/openephys.js';
import { Recording } from '../../src/formats/recording.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { cli } from '../cli/helpers.js';
import { tempDir } from './helpers.js';
import { HAVE_SHARED_DATA, SHARED_DATA, translated } from './shared-data.js';

const SRC = path.join(SHARED_DATA, 'openephys', 'OE_Neuropix-PXI-NP1-binary');
// No folder when the tests skip (a skipped file runs no afterAll to remove it).
const dir = HAVE_SHARED_DATA ? tempDir() : '';
const RECORDING = path.join(dir, 'Record_Node_101', 'experiment1', 'recording1');

interface Expected { positions_um: number[][]; continuous_streams: { folder_name: string; stream_name: string; num_channels: number; sample_rate: number }[] }

describe.skipIf(!HAVE_SHARED_DATA)('Open Ephys binary recording', () => {
  let expected: Expected;
  let gtFile: string;
  beforeAll(async () => {
    expected = JSON.parse(fs.readFileSync(path.join(SRC, 'expected.json'), 'utf8'));
    fs.mkdirSync(RECORDING, { recursive: true });
    fs.copyFileSync(path.join(SRC, 'Record_Node_101', 'settings.xml'), path.join(dir, 'Record_Node_101', 'settings.xml'));
    fs.copyFileSync(path.join(SRC, 'Record_Node_101', 'experiment1', 'recording1', 'structure.oebin'), path.join(RECORDING, 'structure.oebin'));
    // Ground truth on the probe's own layout, as continuous.dat of the stream.
    const gen = await generateRecording({ out: path.join(dir, 'gt'), geometry: expected.positions_um, duration: 3, numUnits: 12, backgroundUnits: 6, seed: 8 });
    gtFile = gen.groundTruthFile;
    const folder = path.join(RECORDING, 'continuous', expected.continuous_streams[0].folder_name);
    fs.mkdirSync(folder, { recursive: true });
    fs.renameSync(gen.binaryFile, path.join(folder, 'continuous.dat'));
  }, 60_000);

  it('lists the continuous streams of structure.oebin', () => {
    const info = readOpenEphysStructure(RECORDING);
    expect(info.streams.map((s) => ({ folder_name: s.folderName, stream_name: s.streamName, num_channels: s.numChannels, sample_rate: s.sampleRate })))
      .toEqual(expected.continuous_streams);
  });

  it('reads the probe positions of settings.xml in data column order (up to a translation)', () => {
    const rec = Recording.fromOpenEphys(path.join(RECORDING, 'structure.oebin'));
    expect(rec.numChannels).toBe(expected.positions_um.length);
    expect(translated(rec.probeGeometry)).toEqual(translated(expected.positions_um));
    expect(rec.samplingFrequency).toBe(30000);
    expect(rec.gainToMicrovolts![0]).toBeCloseTo(0.195, 6);
  });

  it('with several streams, asks for one and lists them; a stream that is not there is named', () => {
    const two = path.join(dir, 'two', 'Record_Node_101', 'experiment1', 'recording1');
    fs.mkdirSync(two, { recursive: true });
    const oebin = JSON.parse(fs.readFileSync(path.join(RECORDING, 'structure.oebin'), 'utf8'));
    const aux = { ...oebin.continuous[0], folder_name: 'NI-DAQmx-107.PXI-6221/', stream_name: 'PXI-6221', num_channels: 8, channels: oebin.continuous[0].channels.slice(0, 8) };
    oebin.continuous.push(aux);
    fs.writeFileSync(path.join(two, 'structure.oebin'), JSON.stringify(oebin));
    expect(() => Recording.fromOpenEphys(two)).toThrow(/has 2 continuous streams: "ProbeA" .*"PXI-6221" .*name the one to sort/);
    expect(() => Recording.fromOpenEphys(two, { stream: 'ProbeB' })).toThrow(/no stream "ProbeB"; its continuous streams are "ProbeA"/);
  });

  it('reads past the ADC channels of a stream (column subset), sorting the electrodes only', () => {
    const rec3 = path.join(dir, 'adc', 'Record_Node_101', 'experiment1', 'recording1');
    fs.mkdirSync(rec3, { recursive: true });
    fs.copyFileSync(path.join(dir, 'Record_Node_101', 'settings.xml'), path.join(dir, 'adc', 'Record_Node_101', 'settings.xml'));
    const oebin = JSON.parse(fs.readFileSync(path.join(RECORDING, 'structure.oebin'), 'utf8'));
    const stream = oebin.continuous[0];
    for (let a = 1; a <= 8; a++) stream.channels.push({ channel_name: `ADC${a}`, bit_volts: 0.00015, units: 'V' });
    stream.num_channels = 392;
    fs.writeFileSync(path.join(rec3, 'structure.oebin'), JSON.stringify(oebin));
    const folder = path.join(rec3, 'continuous', stream.folder_name);
    fs.mkdirSync(folder, { recursive: true });
    const n = 50;
    const data = new Int16Array(n * 392);
    for (let s = 0; s < n; s++) for (let c = 0; c < 392; c++) data[s * 392 + c] = c < 384 ? c + s : -1000 - c;
    fs.writeFileSync(path.join(folder, 'continuous.dat'), new Uint8Array(data.buffer));
    const rec = Recording.fromOpenEphys(rec3);
    expect(rec.numChannels).toBe(384);
    expect(rec.fileChannels).toBe(392);
    const x = rec.read({ start: 3, numSamples: 1 });
    expect(Array.from(x)).toEqual(Array.from({ length: 384 }, (_, c) => c + 3));
  });

  it('spikesift sort RECORDING --stream ProbeA sorts it and finds the ground-truth units', async () => {
    const out = path.join(dir, 'sorted');
    const r = await cli('sort', RECORDING, '--stream', 'ProbeA', '--out', out, '--backend', 'cpu', '--min-segment-length', 1, '--quiet');
    expect(r.code, r.err).toBe(0);
    const result = await SortedRecording.load(path.join(out, 'result.spikesift'));
    expect(result.probeGeometry.length).toBe(384);
    const gt = JSON.parse(fs.readFileSync(gtFile, 'utf8'));
    const report = compareToGroundTruth(gt, result);
    const strong = report.units.filter((u) => (gt.units.find((g: { id: number }) => g.id === u.gtId)?.filteredSnr ?? 0) > 12);
    // A wrong stride or a column mix-up leaves no unit matched; a correct read finds several.
    expect(strong.filter((u) => u.accuracy > 0.8).length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
