import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/formats/npy.js';
import { Recording } from '../../src/formats/recording.js';
import { exportPhy } from '../../src/export/phy.js';
import { GEOMETRY, buildSorting, tempDir, writeRecording } from './helpers.js';

const C = GEOMETRY.length;

describe('exportPhy without a recording', () => {
  const offset = 1000;
  const { result, trains } = buildSorting({ numSamples: 30000, offset, numSegments: 3, units: 4, broken: 2 });
  const dir = path.join(tempDir(), 'phy');
  const summary = exportPhy(result, dir);
  const ids = [...trains.keys()].sort((a, b) => a - b);
  const total = ids.reduce((n, id) => n + trains.get(id)!.length, 0);

  it('writes every file phy needs', () => {
    for (const f of summary.files) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    expect(summary.numUnits).toBe(3);
    expect(summary.templateSource).toBe('amplitudes');
  });

  it('spike_times is int64, non-decreasing, relative to the first segment start', () => {
    const st = readNpy(path.join(dir, 'spike_times.npy'));
    expect(st.dtype).toBe('<i8');
    expect(st.shape).toEqual([total]);
    const times = Array.from(st.data as BigInt64Array, Number);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
    const expected = ids.flatMap((id) => trains.get(id)!.map((t) => t - offset)).sort((a, b) => a - b);
    expect(times).toEqual(expected);
  });

  it('spike_clusters carry cluster ids and spike_templates index templates.npy, spike by spike', () => {
    const st = Array.from(readNpy(path.join(dir, 'spike_times.npy')).data as BigInt64Array, Number);
    const sc = readNpy(path.join(dir, 'spike_clusters.npy'));
    const tp = readNpy(path.join(dir, 'spike_templates.npy'));
    expect(sc.dtype).toBe('<i4');
    expect(tp.dtype).toBe('<u4');
    expect(sc.shape).toEqual([total]);
    expect(tp.shape).toEqual([total]);
    const clusters = Array.from(sc.data as Int32Array);
    const templates = Array.from(tp.data as Uint32Array);
    expect(new Set(clusters)).toEqual(new Set(ids));
    for (let i = 0; i < total; i++) {
      expect(ids[templates[i]]).toBe(clusters[i]);
      expect(trains.get(clusters[i])).toContain(st[i] + offset);
    }
  });

  it('templates, amplitudes and probe files have the documented shapes and dtypes', () => {
    const tm = readNpy(path.join(dir, 'templates.npy'));
    expect(tm.dtype).toBe('<f4');
    expect(tm.shape).toEqual([3, summary.templateSamples, C]);
    const data = tm.data as Float32Array;
    const nt = summary.templateSamples;
    // Each template's most negative value is on its unit's peak channel (2u % 8).
    ids.forEach((id, u) => {
      let best = 0;
      let bestVal = Infinity;
      for (let t = 0; t < nt; t++) for (let c = 0; c < C; c++) {
        const v = data[(u * nt + t) * C + c];
        if (v < bestVal) {
          bestVal = v;
          best = c;
        }
      }
      expect(best).toBe((2 * id) % C);
    });
    const amps = readNpy(path.join(dir, 'amplitudes.npy'));
    expect(amps.dtype).toBe('<f8');
    expect(amps.shape).toEqual([total]);
    expect(Array.from(amps.data as Float64Array).every((a) => a > 0)).toBe(true);
    const cm = readNpy(path.join(dir, 'channel_map.npy'));
    expect(cm.dtype).toBe('<i4');
    expect(Array.from(cm.data as Int32Array)).toEqual([...Array(C).keys()]);
    const cp = readNpy(path.join(dir, 'channel_positions.npy'));
    expect(cp.shape).toEqual([C, 2]);
    expect(Array.from(cp.data as Float64Array)).toEqual(GEOMETRY.flat());
    const sim = readNpy(path.join(dir, 'similar_templates.npy'));
    expect(sim.shape).toEqual([3, 3]);
    const s = sim.data as Float32Array;
    for (let i = 0; i < 3; i++) {
      expect(s[i * 3 + i]).toBeCloseTo(1, 5);
      for (let j = 0; j < 3; j++) expect(s[i * 3 + j]).toBeCloseTo(s[j * 3 + i], 6);
    }
    const wm = readNpy(path.join(dir, 'whitening_mat.npy'));
    expect(wm.shape).toEqual([C, C]);
    const w = wm.data as Float64Array;
    for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) expect(w[i * C + j]).toBe(i === j ? 1 : 0);
  });

  it('params.py and cluster_group.tsv are what phy parses', () => {
    const params = fs.readFileSync(path.join(dir, 'params.py'), 'utf8');
    expect(params).toMatch(/^dat_path = \[\]$/m);
    expect(params).toMatch(new RegExp(`^n_channels_dat = ${C}$`, 'm'));
    expect(params).toMatch(/^sample_rate = 30000\.0$/m);
    expect(params).toMatch(/^hp_filtered = False$/m);
    expect(params).toMatch(/^offset = 0$/m);
    const tsv = fs.readFileSync(path.join(dir, 'cluster_group.tsv'), 'utf8').trim().split('\n');
    expect(tsv[0]).toBe('cluster_id\tgroup');
    expect(tsv.slice(1)).toEqual(ids.map((id) => `${id}\tunsorted`));
  });
});

describe('exportPhy with the recording', () => {
  it('points params.py at the file (offset = header + sampleOffset) and averages filtered waveforms', () => {
    const dir = tempDir();
    const numSamples = 30000;
    const header = 16;
    const sampleOffset = 5;
    const recordingOffset = -200;
    const { result, trains } = buildSorting({ numSamples, offset: recordingOffset, numSegments: 2, units: 3, margin: 200 });
    // The file holds `header` bytes and `sampleOffset` samples before sample 0.
    const body = path.join(dir, 'body.bin');
    writeRecording(body, numSamples, trains, recordingOffset);
    const file = path.join(dir, 'rec.bin');
    fs.writeFileSync(file, Buffer.concat([Buffer.alloc(header + sampleOffset * C * 2), fs.readFileSync(body)]));
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: GEOMETRY, samplingFrequency: 30000, header, sampleOffset, recordingOffset });
    const out = path.join(dir, 'phy');
    const summary = exportPhy(result, out, { recording: rec });
    expect(summary.templateSource).toBe('recording');
    const params = fs.readFileSync(path.join(out, 'params.py'), 'utf8');
    expect(params).toContain(`dat_path = ${JSON.stringify(path.resolve(file))}`);
    expect(params).toMatch(/^dtype = "int16"$/m);
    expect(params).toMatch(new RegExp(`^offset = ${header + sampleOffset * C * 2}$`, 'm'));
    const st = Array.from(readNpy(path.join(out, 'spike_times.npy')).data as BigInt64Array, Number);
    const all = [...trains.values()].flat().map((t) => t - recordingOffset).sort((a, b) => a - b);
    expect(st).toEqual(all);
    const tm = readNpy(path.join(out, 'templates.npy'));
    const nt = summary.templateSamples;
    expect(tm.shape).toEqual([3, nt, C]);
    const data = tm.data as Float32Array;
    for (let u = 0; u < 3; u++) {
      // The trough is at the spike sample (index nt/2) on the unit's channel, and negative.
      let bt = 0;
      let bc = 0;
      let bv = Infinity;
      for (let t = 0; t < nt; t++) for (let c = 0; c < C; c++) {
        const v = data[(u * nt + t) * C + c];
        if (v < bv) [bv, bt, bc] = [v, t, c];
      }
      expect(bc).toBe((2 * u) % C);
      expect(Math.abs(bt - nt / 2)).toBeLessThanOrEqual(1);
      expect(bv).toBeLessThan(-50);
    }
  });

  it('refuses a recording whose channel count differs from the probe', () => {
    const dir = tempDir();
    const { result } = buildSorting({ numSamples: 3000 });
    const file = path.join(dir, 'r.bin');
    fs.writeFileSync(file, Buffer.alloc(3000 * 4 * 2));
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: GEOMETRY.slice(0, 4), samplingFrequency: 30000 });
    expect(() => exportPhy(result, path.join(dir, 'phy'), { recording: rec })).toThrow(/4 channels.*8/);
  });
});
