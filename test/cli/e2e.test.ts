// The CLI end to end with the real sorter on a small generated recording.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { readNpy } from '../../src/formats/npy.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { chromiumAvailable, renderInChromium } from '../export/chromium.js';
import { tempDir } from '../export/helpers.js';
import { cli } from './helpers.js';

let gen: GeneratedRecording;
let root: string;
const SECONDS = 6;

function sortArgs(out: string, ...extra: (string | number)[]): (string | number)[] {
  return [
    'sort', gen.binaryFile,
    '--probe', gen.probeFile,
    '--sampling-frequency', gen.samplingFrequency,
    '--dtype', gen.dataType,
    '--detection-polarity', gen.detectionPolarity,
    '--min-segment-length', 2,
    '--backend', 'cpu',
    '--quiet',
    '--out', out,
    ...extra,
  ];
}

beforeAll(async () => {
  root = tempDir('spikesift-cli-e2e-');
  gen = await generateRecording({ out: path.join(root, 'gen'), preset: 'linear32', duration: SECONDS, seed: 5, drift: { rate: 2 } });
});

describe('spikesift sort, info, export, merge, report, compare', () => {
  let sorted: string;

  beforeAll(async () => {
    sorted = path.join(root, 'sorted');
    const r = await cli(...sortArgs(sorted));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/sorted 6\.00 s on 32 channels/);
  });

  it('writes the result, Phy and SpikeInterface folders and a summary that agree', async () => {
    const result = await SortedRecording.load(path.join(sorted, 'result.spikesift'));
    const summary = JSON.parse(fs.readFileSync(path.join(sorted, 'summary.json'), 'utf8'));
    expect(result.length).toBeGreaterThan(0);
    expect(summary.units).toBe(result.length);
    expect(summary.segments).toBe(result.numSegments);
    expect(summary.recordingSeconds).toBeCloseTo(SECONDS, 6);
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.backend).toMatch(/^cpu/);
    const perUnit = Object.fromEntries(result.clusterIds().map((id) => [String(id), result.spikes(id).length]));
    expect(summary.spikesPerUnit).toEqual(perUnit);
    const total = Object.values(perUnit).reduce((a, b) => a + b, 0);
    expect(summary.totalSpikes).toBe(total);

    const st = readNpy(path.join(sorted, 'phy', 'spike_times.npy'));
    expect(st.dtype).toBe('<i8');
    expect(st.shape).toEqual([total]);
    const tm = readNpy(path.join(sorted, 'phy', 'templates.npy'));
    expect(tm.shape[0]).toBe(result.length);
    expect(tm.shape[2]).toBe(32);
    expect(fs.readFileSync(path.join(sorted, 'phy', 'params.py'), 'utf8')).toContain(JSON.stringify(path.resolve(gen.binaryFile)));
    const si = readNpy(path.join(sorted, 'spikeinterface', 'spikes.npy'));
    expect(si.shape).toEqual([total]);
    const rec = JSON.parse(fs.readFileSync(path.join(sorted, 'recording.json'), 'utf8'));
    expect(rec.numSamples).toBe(gen.numSamples);
  });

  it('info reads the output folder', async () => {
    const r = await cli('info', sorted, '--json');
    expect(r.code, r.err).toBe(0);
    const info = JSON.parse(r.out);
    const summary = JSON.parse(fs.readFileSync(path.join(sorted, 'summary.json'), 'utf8'));
    expect(info.units).toBe(summary.units);
    expect(info.spikes).toBe(summary.totalSpikes);
    expect(info.startTime).toBe(0);
    expect(info.endTime).toBe(gen.numSamples);
  });

  it('export finds the recording through recording.json and draws templates from it', async () => {
    const out = path.join(root, 'phy2');
    const r = await cli('export', sorted, '--format', 'phy', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/templates from the recording/);
    expect(r.err).toMatch(/using the recording described in/);
    const tm = readNpy(path.join(out, 'templates.npy'));
    // Filtered waveforms have their trough at the spike sample on some channel.
    const [n, nt, C] = tm.shape;
    const data = tm.data as Float32Array;
    for (let u = 0; u < n; u++) {
      let bt = 0;
      let bv = Infinity;
      for (let t = 0; t < nt; t++) for (let c = 0; c < C; c++) if (data[(u * nt + t) * C + c] < bv) [bv, bt] = [data[(u * nt + t) * C + c], t];
      expect(Math.abs(bt - nt / 2)).toBeLessThanOrEqual(3);
    }
  });

  it('sorting two halves with offsets and merging them covers the whole recording', async () => {
    const half = Math.floor(gen.numSamples / 2);
    const a = path.join(root, 'half-a');
    const b = path.join(root, 'half-b');
    expect((await cli(...sortArgs(a, '--num-samples', half))).code).toBe(0);
    const rb = await cli(...sortArgs(b, '--sample-offset', half, '--recording-offset', half));
    expect(rb.code, rb.err).toBe(0);
    const out = path.join(root, 'merged');
    const r = await cli('merge', a, b, '--out', out);
    expect(r.code, r.err).toBe(0);
    const ra = await SortedRecording.load(path.join(a, 'result.spikesift'));
    const rb2 = await SortedRecording.load(path.join(b, 'result.spikesift'));
    const merged = await SortedRecording.load(path.join(out, 'result.spikesift'));
    expect(rb2.startTime()).toBe(half);
    expect(merged.numSegments).toBe(ra.numSegments + rb2.numSegments);
    expect(merged.startTime()).toBe(0);
    expect(merged.endTime()).toBe(gen.numSamples);
    // The second half's spikes are on the file's time line.
    const secondHalf = rb2.clusterIds().flatMap((id) => Array.from(rb2.spikes(id)));
    expect(secondHalf.every((t) => t >= half && t < gen.numSamples)).toBe(true);
  });

  it('--blocks 2 sorts two blocks in worker threads and merges them', async () => {
    const out = path.join(root, 'workers');
    const r = await cli(...sortArgs(out, '--blocks', 2));
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.blocks).toBe(2);
    expect(summary.startTime).toBe(0);
    expect(summary.endTime).toBe(gen.numSamples);
  });

  it('report with ground truth shows accuracy and one card per unit (and renders in Chromium)', async () => {
    const out = path.join(root, 'report', 'report.html');
    const r = await cli('report', sorted, '--out', out, '--ground-truth', gen.groundTruthFile);
    expect(r.code, r.err).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    const units = JSON.parse(fs.readFileSync(path.join(sorted, 'summary.json'), 'utf8')).units;
    expect(html.match(/data-unit="/g)?.length).toBe(units);
    expect(html).toContain('class="accuracy"');
    expect(html).toContain('mean DoG-filtered waveforms');
    const gtUnits = JSON.parse(fs.readFileSync(gen.groundTruthFile, 'utf8')).units.length;
    expect(html.match(/<tr><td>\d+<\/td><td>/g)?.length).toBe(gtUnits);
    if (chromiumAvailable()) {
      const { dom } = renderInChromium(out, path.join(path.dirname(out), 'report.png'));
      expect(dom).toMatch(/data-errors=""/);
      expect(dom).toMatch(new RegExp(`data-drawn-units="${units}"`));
    }
    const bad = await cli('report', sorted, '--out', out, '--ground-truth', path.join(root, 'nope.json'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--ground-truth .*does not exist/);
  });

  it('dispatches compare to the ground-truth command', async () => {
    const r = await cli('compare', gen.groundTruthFile, sorted);
    expect(r.code).toBe(0);
    const help = await cli('compare', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: spikesift compare/);
  });
});

describe('spikesift demo', () => {
  it('generates, sorts, scores and writes a report, printing accuracy and speed', async () => {
    const out = path.join(root, 'demo');
    const r = await cli('demo', '--out', out, '--duration', 6, '--quiet', '--backend', 'cpu');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/well detected \(accuracy >= 0\.8\): \d+ of \d+ ground-truth units/);
    expect(r.out).toMatch(/speed: sorted 6\.0 s x 64 channels in [\d.]+ s \([\d.]+ x real time\)/);
    expect(r.out).toContain(`report: ${path.join(out, 'report.html')}`);
    expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'sorted', 'result.spikesift'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'sorted', 'phy', 'params.py'))).toBe(true);
  });
});
