// SpikeGLX: the real .meta files of ../shared/data/spikeglx (one per probe family) against the
// geometry probeinterface derives from them, and binaries written here in a temp folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareToGroundTruth } from '../../src/groundtruth/compare.js';
import { generateRecording } from '../../src/groundtruth/generate.js';
import { readNpy } from '../../src/formats/npy.js';
import { loadProbe } from '../../src/formats/probe.js';
import { Recording } from '../../src/formats/recording.js';
import { readSpikeGLXMeta } from '../../src/formats/spikeglx.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { cli } from '../cli/helpers.js';
import { tempDir } from './helpers.js';
import { HAVE_SHARED_DATA, SHARED_DATA, translated } from './shared-data.js';

const SGLX = path.join(SHARED_DATA, 'spikeglx');
const metas = HAVE_SHARED_DATA ? fs.readdirSync(SGLX).filter((f) => f.endsWith('.meta')).sort() : [];
// No folder when the tests skip (a skipped file runs no afterAll to remove it).
const dir = HAVE_SHARED_DATA ? tempDir() : '';

interface Expected { nSavedChans: number; imSampRate: number; num_neural_channels: number; positions_um: number[][]; shank_ids?: number[] }
const expectedOf = (meta: string): Expected => JSON.parse(fs.readFileSync(path.join(SGLX, meta.replace(/\.meta$/, '.expected.json')), 'utf8'));

/** The .meta text with `key=value` replaced (or added). */
function withLine(text: string, key: string, value: string | null): string {
  const lines = text.split(/\r?\n/).filter((l) => !l.startsWith(`${key}=`));
  if (value !== null) lines.push(`${key}=${value}`);
  return lines.join('\n');
}

/** Writes NAME.bin (int16, `columns` per sample, value = (20 * column + sample) % 32000) and NAME.meta. */
function writeRun(name: string, metaText: string, columns: number, samples: number, fileSizeBytes?: number): { bin: string; meta: string } {
  const data = new Int16Array(columns * samples);
  for (let s = 0; s < samples; s++) for (let c = 0; c < columns; c++) data[s * columns + c] = (20 * c + s) % 32000;
  const bin = path.join(dir, `${name}.bin`);
  const meta = path.join(dir, `${name}.meta`);
  fs.writeFileSync(bin, new Uint8Array(data.buffer));
  fs.writeFileSync(meta, withLine(metaText, 'fileSizeBytes', String(fileSizeBytes ?? data.byteLength)));
  return { bin, meta };
}

describe.skipIf(!HAVE_SHARED_DATA)('SpikeGLX .meta files of every probe family', () => {
  it('finds the seven families of the README', () => {
    expect(metas.length).toBe(7);
  });

  for (const meta of metas) {
    it(`${meta}: channels, rate and positions (up to a translation) as probeinterface derives them`, async () => {
      const exp = expectedOf(meta);
      const info = readSpikeGLXMeta(path.join(SGLX, meta));
      expect(info.nSavedChans).toBe(exp.nSavedChans);
      expect(info.samplingFrequency).toBe(exp.imSampRate);
      expect(info.neuralColumns.length).toBe(exp.num_neural_channels);
      expect(translated(info.positions)).toEqual(translated(exp.positions_um));
      if (exp.shank_ids) expect(info.shankIds).toEqual(exp.shank_ids);
      // Every saved column is either sorted or a sync word, never both.
      expect(info.neuralColumns.length + info.syncColumns.length).toBe(info.nSavedChans);
      expect(translated(await loadProbe(path.join(SGLX, meta)))).toEqual(translated(exp.positions_um));
    });
  }

  it('derives the NP2020 quad-base layout from ~imroTbl alone when ~snsGeomMap is absent', () => {
    const meta = metas.find((m) => m.startsWith('NP2020'))!;
    const text = withLine(fs.readFileSync(path.join(SGLX, meta), 'latin1'), '~snsGeomMap', null);
    const file = path.join(dir, 'np2020-nogeom.ap.meta');
    fs.writeFileSync(file, text);
    const info = readSpikeGLXMeta(file);
    expect(info.geometrySource).toBe('~imroTbl');
    expect(translated(info.positions)).toEqual(translated(expectedOf(meta).positions_um));
  });

  for (const meta of metas) {
    it(`${meta}: Recording.fromSpikeGLX reads the neural columns of a written .bin and skips the sync column`, () => {
      const exp = expectedOf(meta);
      const samples = 200;
      const { bin } = writeRun(meta.replace(/\.meta$/, ''), fs.readFileSync(path.join(SGLX, meta), 'latin1'), exp.nSavedChans, samples);
      const warnings: string[] = [];
      const rec = Recording.fromSpikeGLX(bin, { onWarning: (m) => warnings.push(m) });
      expect(warnings).toEqual([]);
      expect(rec.numChannels).toBe(exp.num_neural_channels);
      expect(rec.numSamples).toBe(samples);
      expect(rec.samplingFrequency).toBe(exp.imSampRate);
      const info = readSpikeGLXMeta(bin);
      const x = rec.read({ start: 7, numSamples: 1 });
      expect(Array.from(x)).toEqual(info.neuralColumns.map((c) => (20 * c + 7) % 32000));
      expect(rec.gainToMicrovolts![0]).toBeGreaterThan(0.1);
    });
  }

  it('µV per bit from imAiRangeMax, imMaxInt and the gain (NP1.0: 0.6 V / 512 / 500 = 2.34 µV; NP2.0: 0.5 V / 8192 / 80)', () => {
    const np1 = readSpikeGLXMeta(path.join(SGLX, 'phase3a.imec.ap.meta'));
    expect(np1.gainToMicrovolts[0]).toBeCloseTo(0.6 / 512 / 500 * 1e6, 9);
    const np2 = readSpikeGLXMeta(path.join(SGLX, 'p2_g0_t0.imec0.ap.meta'));
    expect(np2.gainToMicrovolts[0]).toBeCloseTo(0.5 / 8192 / 80 * 1e6, 9);
  });

  it('a .bin shorter than fileSizeBytes (cut short, with a partial last sample) warns and sorts its whole samples', () => {
    const text = fs.readFileSync(path.join(SGLX, 'p2_g0_t0.imec0.ap.meta'), 'latin1');
    const { bin } = writeRun('cut_g0_t0.imec0.ap', text, 385, 100, 385 * 2 * 1000);
    fs.appendFileSync(bin, new Uint8Array(31)); // a sample cut mid-write
    const warnings: string[] = [];
    const rec = Recording.fromSpikeGLX(bin, { onWarning: (m) => warnings.push(m) });
    expect(rec.numSamples).toBe(100);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/fileSizeBytes=770000: the recording was cut short.*100 whole samples/);
  });

  it('refuses an LF file for sorting, saying why', () => {
    let text = fs.readFileSync(path.join(SGLX, 'phase3a.imec.ap.meta'), 'latin1');
    text = withLine(withLine(withLine(text, 'snsApLfSy', '0,384,1'), 'snsSaveChanSubset', '384:768'), 'imSampRate', '2500');
    const { bin } = writeRun('run_g0_t0.imec.lf', text, 385, 10);
    expect(() => Recording.fromSpikeGLX(bin)).toThrow(/is an LF \(local field potential\) file.*no spikes to sort; sort the AP file/);
  });

  it('names the missing .bin and the unknown probe type with the fix', () => {
    expect(() => Recording.fromSpikeGLX(path.join(SGLX, 'p2_g0_t0.imec0.ap.meta'))).toThrow(/\.bin does not exist.*side by side/);
    let text = fs.readFileSync(path.join(SGLX, 'p2_g0_t0.imec0.ap.meta'), 'latin1');
    text = withLine(text, 'imDatPrb_type', '9999');
    const file = path.join(dir, 'odd.ap.meta');
    fs.writeFileSync(file, text);
    expect(() => readSpikeGLXMeta(file)).toThrow(/probe type 9999.*not known.*--probe/);
  });
});

describe.skipIf(!HAVE_SHARED_DATA)('spikesift sort x.imec0.ap.bin (nothing but the .bin and its .meta)', () => {
  let gtFile: string;
  let bin: string;
  let out: string;
  let code: number;
  let err: string;
  let stdout: string;
  beforeAll(async () => {
    // A ground-truth recording on the NP1.0 layout, written as SpikeGLX writes it: 384 AP
    // columns then the sync word (a square wave that must not be sorted).
    const metaText = fs.readFileSync(path.join(SGLX, 'phase3a.imec.ap.meta'), 'latin1');
    const geometry = readSpikeGLXMeta(path.join(SGLX, 'phase3a.imec.ap.meta')).positions;
    const gen = await generateRecording({ out: path.join(dir, 'gt'), geometry, duration: 3, numUnits: 12, backgroundUnits: 6, seed: 3 });
    gtFile = gen.groundTruthFile;
    const raw = new Int16Array(fs.readFileSync(gen.binaryFile).buffer.slice(0));
    const C = 384;
    const n = raw.length / C;
    const data = new Int16Array(n * 385);
    for (let s = 0; s < n; s++) {
      data.set(raw.subarray(s * C, (s + 1) * C), s * 385);
      data[s * 385 + 384] = (s >> 10) & 1 ? 64 : 0;
    }
    bin = path.join(dir, 'np1_g0_t0.imec0.ap.bin');
    fs.writeFileSync(bin, new Uint8Array(data.buffer));
    fs.writeFileSync(bin.replace(/\.bin$/, '.meta'), withLine(metaText, 'fileSizeBytes', String(data.byteLength)));
    fs.rmSync(gen.binaryFile);
    out = path.join(dir, 'sorted');
    ({ code, err, out: stdout } = await cli('sort', bin, '--out', out, '--backend', 'cpu', '--min-segment-length', 1, '--quiet'));
  }, 120_000);

  it('sorts the 384 AP channels and finds the ground-truth units', async () => {
    expect(code, err).toBe(0);
    expect(err).not.toMatch(/warning/);
    expect(stdout).toMatch(/sorted 3\.00 s on 384 channels \(of 385 file columns\)/);
    const result = await SortedRecording.load(path.join(out, 'result.spikesift'));
    expect(result.probeGeometry.length).toBe(384);
    expect(result.samplingFrequency).toBe(30000);
    const gt = JSON.parse(fs.readFileSync(gtFile, 'utf8'));
    const report = compareToGroundTruth(gt, result);
    // Units well above threshold must be found; reading the sync column as a channel, or the
    // wrong stride, would leave none.
    const strong = report.units.filter((u) => (gt.units.find((g: { id: number }) => g.id === u.gtId)?.filteredSnr ?? 0) > 12);
    // A wrong stride or a column mix-up leaves no unit matched; a correct read finds several.
    expect(strong.filter((u) => u.accuracy > 0.8).length).toBeGreaterThanOrEqual(3);
  });

  it('the Phy folder points at the 385-column .bin and maps the 384 sorted columns; recording.json reopens it for export', async () => {
    const params = fs.readFileSync(path.join(out, 'phy', 'params.py'), 'utf8');
    expect(params).toMatch(/^n_channels_dat = 385$/m);
    expect(params).toMatch(/^offset = 0$/m);
    const map = readNpy(path.join(out, 'phy', 'channel_map.npy'));
    expect(Array.from(map.data as Int32Array)).toEqual(Array.from({ length: 384 }, (_, c) => c));
    const again = path.join(dir, 'phy-again');
    const r = await cli('export', out, '--format', 'phy', '--out', again);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/using the recording described in/);
    expect(fs.readFileSync(path.join(again, 'params.py'), 'utf8')).toMatch(/^n_channels_dat = 385$/m);
    expect(readNpy(path.join(again, 'pc_features.npy')).shape[0]).toBe(readNpy(path.join(out, 'phy', 'pc_features.npy')).shape[0]);
    // The .meta's gain reaches the report (µV = file units x 0.6 V / 512 / 500).
    const html = path.join(dir, 'report.html');
    expect((await cli('report', out, '--out', html)).code).toBe(0);
    const m = /amplitude ([0-9.]+) \((\d+) µV\)/.exec(fs.readFileSync(html, 'utf8'));
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeCloseTo(Number(m![1]) * (0.6 / 512 / 500) * 1e6, -1);
  });
});
