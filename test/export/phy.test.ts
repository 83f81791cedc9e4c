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

  it('spike_clusters equal spike_templates (0..n-1, indexing templates.npy) and map back to the sorter ids', () => {
    const st = Array.from(readNpy(path.join(dir, 'spike_times.npy')).data as BigInt64Array, Number);
    const sc = readNpy(path.join(dir, 'spike_clusters.npy'));
    const tp = readNpy(path.join(dir, 'spike_templates.npy'));
    expect(sc.dtype).toBe('<i4');
    expect(tp.dtype).toBe('<u4');
    expect(sc.shape).toEqual([total]);
    expect(tp.shape).toEqual([total]);
    const clusters = Array.from(sc.data as Int32Array);
    const templates = Array.from(tp.data as Uint32Array);
    expect(new Set(clusters)).toEqual(new Set(ids.map((_, u) => u)));
    expect(templates).toEqual(clusters);
    const map = fs.readFileSync(path.join(dir, 'cluster_spikesift_id.tsv'), 'utf8').trim().split('\n');
    expect(map[0]).toBe('cluster_id\tspikesift_id');
    const sorterId = new Map(map.slice(1).map((l) => l.split('\t').map(Number) as [number, number]));
    expect([...sorterId.values()]).toEqual(ids);
    for (let i = 0; i < total; i++) expect(trains.get(sorterId.get(clusters[i])!)).toContain(st[i] + offset);
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
    expect(tsv.slice(1)).toEqual(ids.map((_, u) => `${u}\tunsorted`));
    expect(params).toMatch(new RegExp(`^n_samples = ${30000}$`, 'm'));
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
      // Trough at the middle sample (phylib cuts waveforms nt // 2 before the spike), scaled to -1.
      expect(bt).toBe(Math.floor(nt / 2));
      expect(summary.templateTrough).toBe(Math.floor(nt / 2));
      expect(bv).toBeCloseTo(-1, 5);
    }
    // Per-spike amplitudes: positive, one value per spike (not per segment), deeper units larger.
    const amps = Array.from(readNpy(path.join(out, 'amplitudes.npy')).data as Float64Array);
    const clusters = Array.from(readNpy(path.join(out, 'spike_clusters.npy')).data as Int32Array);
    const byUnit = [0, 1, 2].map((u) => amps.filter((_, i) => clusters[i] === u));
    const means = byUnit.map((a) => a.reduce((x, y) => x + y, 0) / a.length);
    expect(means[0]).toBeGreaterThan(50);
    expect(means[1]).toBeGreaterThan(means[0]);
    expect(means[2]).toBeGreaterThan(means[1]);
    for (const a of byUnit) expect(new Set(a).size).toBeGreaterThan(a.length / 2);
  });

  it('pc_features / pc_feature_ind give phylib\'s spike depths, templates are zero off the unit\'s channels, the file is read once', () => {
    const dir = tempDir();
    const numSamples = 30000;
    const { result, trains } = buildSorting({ numSamples, numSegments: 2, units: 3, margin: 200 });
    const file = path.join(dir, 'rec.bin');
    writeRecording(file, numSamples, trains);
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: GEOMETRY, samplingFrequency: 30000 });
    let rowsRead = 0;
    const readInto = rec.readInto.bind(rec);
    rec.readInto = (start: number, n: number, out: Float32Array, o?: number) => {
      rowsRead += n;
      readInto(start, n, out, o);
    };
    const out = path.join(dir, 'phy');
    const k = 4;
    const summary = exportPhy(result, out, { recording: rec, channelsPerUnit: k });
    expect(rowsRead).toBeLessThanOrEqual(numSamples);
    const total = summary.numSpikes;
    const pc = readNpy(path.join(out, 'pc_features.npy'));
    expect(pc.dtype).toBe('<f4');
    expect(pc.shape).toEqual([total, 3, k]);
    const ind = readNpy(path.join(out, 'pc_feature_ind.npy'));
    expect(ind.shape).toEqual([3, k]);
    const cols = Array.from(ind.data as Int32Array);
    const clusters = Array.from(readNpy(path.join(out, 'spike_clusters.npy')).data as Int32Array);
    const f = pc.data as Float32Array;
    // phylib's get_depths: sum of y weighted by max(PC1, 0)^2 over the template's channels.
    for (let u = 0; u < 3; u++) {
      expect(cols[u * k]).toBe((2 * u) % C);
      const depths: number[] = [];
      for (let i = 0; i < total; i++) {
        if (clusters[i] !== u) continue;
        let wsum = 0;
        let ysum = 0;
        for (let c = 0; c < k; c++) {
          const w = Math.max(f[(i * 3 + 0) * k + c], 0) ** 2;
          wsum += w;
          ysum += w * GEOMETRY[cols[u * k + c]][1];
        }
        depths.push(ysum / wsum);
      }
      const median = depths.sort((a, b) => a - b)[depths.length >> 1];
      expect(Math.abs(median - GEOMETRY[(2 * u) % C][1])).toBeLessThan(5);
    }
    const tm = readNpy(path.join(out, 'templates.npy'));
    const nt = summary.templateSamples;
    const data = tm.data as Float32Array;
    for (let u = 0; u < 3; u++) {
      const nonZero = new Set<number>();
      for (let t = 0; t < nt; t++) for (let c = 0; c < C; c++) if (data[(u * nt + t) * C + c] !== 0) nonZero.add(c);
      expect([...nonZero].every((c) => cols.slice(u * k, u * k + k).includes(c))).toBe(true);
      expect(nonZero.size).toBeGreaterThan(0);
    }
    // ops.npy: a pickled dict with the template timing SpikeInterface reads.
    const ops = fs.readFileSync(path.join(out, 'ops.npy'));
    expect(ops.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    expect(ops.toString('latin1')).toContain("'descr': '|O'");
    const at = ops.indexOf('nt0min');
    expect(ops[at + 6]).toBe(0x4a);
    expect(ops.readInt32LE(at + 7)).toBe(summary.templateTrough);
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

describe('exportPhy with tracks (mode improved)', () => {
  it("takes each spike's amplitude from its own segment's vector when a track skips segments", async () => {
    const { SortedRecording } = await import('../../src/result/sorted-recording.js');
    const { result } = buildSorting({ numSamples: 30000, numSegments: 3, units: 2 });
    // Unit 1 starts in segment 1: its track has vectors for segments 1 and 2 only.
    const segments = result.segments.map((g, s) => (s !== 0 ? g : { ...g, spikes: [g.spikes[0]], amplitudes: [g.amplitudes[0]] }));
    const tracked = new SortedRecording({
      segments, links: [Int32Array.from([0]), Int32Array.from([0, 1])], tracks: [Int32Array.from([0]), Int32Array.from([0, 1]), Int32Array.from([0, 1])],
      probeGeometry: GEOMETRY, samplingFrequency: 30000, numChannels: C,
    });
    expect(tracked.segmentsOf(1)).toEqual([1, 2]);
    const dir = path.join(tempDir(), 'phy-tracks');
    exportPhy(tracked, dir);
    const clusters = Array.from(readNpy(path.join(dir, 'spike_clusters.npy')).data as Int32Array);
    const amps = Array.from(readNpy(path.join(dir, 'amplitudes.npy')).data as Float64Array);
    const times = Array.from(readNpy(path.join(dir, 'spike_times.npy')).data as BigInt64Array, Number);
    const best = 2; // unit 1 peaks on channel 2
    let checked = 0;
    clusters.forEach((k, i) => {
      if (k !== 1) return;
      const s = segments.findIndex((g) => times[i] >= g.start && times[i] < g.end);
      expect(s).not.toBe(0);
      expect(amps[i]).toBeCloseTo(segments[s].amplitudes[1][best], 4);
      checked++;
    });
    expect(checked).toBe(40);
  });
});
