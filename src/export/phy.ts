// Phy (template-gui) export: the folder layout written by Kilosort and read by phylib's
// TemplateModel (and by SpikeInterface's read_phy / read_kilosort_as_analyzer). What each file
// holds is documented in README.md ("Phy folder"). With the recording, the per-spike files
// (amplitudes, PC features) and the templates come from one pass over it in time order
// (phy-features.ts); without it, templates are drawn from the amplitude vectors.

import { checkOptionNames } from '../core/params.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Recording } from '../formats/recording.js';
import { writeNpy } from '../formats/npy.js';
import { NpyWriter, writeOpsNpy } from './npy-stream.js';
import { NUM_PCS, spikeFeatures } from './phy-features.js';
import { bestChannel, meanAmplitude, segmentIndexOf, spikesInTimeOrder, validIds, type SortingResultLike } from './types.js';

export interface PhyExportOptions {
  /**
   * The recording that was sorted. With it, params.py points at the raw file (dat_path,
   * dtype, n_channels_dat = the file's columns, offset = bytes before sample 0, channel_map =
   * the sorted columns), templates are mean filtered waveforms and amplitudes.npy /
   * pc_features.npy hold per-spike values. Without it, params.py has an empty dat_path and
   * templates are drawn from the amplitude vectors (see `amplitudeTemplate`).
   */
  recording?: Recording;
  /**
   * Sample time that becomes index 0 of spike_times.npy when no recording is given. Default:
   * the result's first segment start, which is the recordingOffset of a single sorting.
   */
  origin?: number;
  /** Unused since templates average every spike in one pass (kept for callers that pass it). */
  maxSpikesPerUnit?: number;
  /** Channels per unit: template support and PC feature channels (nearest to the best channel). Default 16. */
  channelsPerUnit?: number;
}

export interface PhyExportSummary {
  dir: string;
  numUnits: number;
  numSpikes: number;
  templateSamples: number;
  /** Index of the spike sample (trough) inside a template (ops.npy nt0min). */
  templateTrough: number;
  /** 'recording' (mean filtered waveforms) or 'amplitudes' (generic shape x amplitude vector). */
  templateSource: 'recording' | 'amplitudes';
  /** Phy cluster id (0..n-1, index of templates.npy) -> the sorter's cluster id. */
  clusterIds: number[];
  files: string[];
}

/**
 * A stand-in spike shape when no recording is available: a negative trough of depth 1 at
 * index `before`, followed by a shallow positive rebound (about 0.3 ms later), sampled at
 * `samplesPerMs`. Multiplied per channel by the amplitude vector it gives a template whose
 * peak channel, spatial footprint and depth match what the sorter measured.
 */
export function amplitudeTemplate(amplitude: Float32Array, numSamples: number, before: number, samplesPerMs: number): Float32Array {
  const C = amplitude.length;
  const out = new Float32Array(numSamples * C);
  for (let t = 0; t < numSamples; t++) {
    const x = (t - before) / samplesPerMs;
    const shape = -Math.exp(-(x * x) / (2 * 0.12 * 0.12)) + 0.3 * Math.exp(-((x - 0.4) ** 2) / (2 * 0.25 * 0.25));
    for (let c = 0; c < C; c++) out[t * C + c] = shape * amplitude[c];
  }
  return out;
}


/** The `count` sites nearest to `centre` (by distance, then index), centre first. */
export function nearestChannels(geometry: readonly number[][], centre: number, count: number): Int32Array {
  const C = geometry.length;
  const k = Math.min(count, C);
  const [x0, y0] = geometry[centre];
  const d = new Float64Array(C);
  for (let c = 0; c < C; c++) d[c] = (geometry[c][0] - x0) ** 2 + (geometry[c][1] - y0) ** 2;
  // Partial selection: k is small, C may be large.
  const out = new Int32Array(k);
  const taken = new Uint8Array(C);
  out[0] = centre;
  taken[centre] = 1;
  for (let i = 1; i < k; i++) {
    let best = -1;
    for (let c = 0; c < C; c++) if (!taken[c] && (best < 0 || d[c] < d[best])) best = c;
    out[i] = best;
    taken[best] = 1;
  }
  return out;
}

/** Cosine similarity of sparse templates (nt x k values on `chans`), through the shared channels only. */
function sparseSimilarity(templates: Float32Array[], chans: Int32Array[], nt: number, C: number): Float32Array {
  const n = templates.length;
  const out = new Float32Array(n * n);
  const k = n ? chans[0].length : 0;
  const norms = templates.map((t) => Math.sqrt(t.reduce((a, v) => a + v * v, 0)));
  const slot = new Int32Array(C).fill(-1);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) slot[chans[i][c]] = c;
    for (let j = i; j < n; j++) {
      let dot = 0;
      for (let c = 0; c < k; c++) {
        const si = slot[chans[j][c]];
        if (si < 0) continue;
        for (let t = 0; t < nt; t++) dot += templates[i][t * k + si] * templates[j][t * k + c];
      }
      const den = norms[i] * norms[j];
      const v = den > 0 ? dot / den : i === j ? 1 : 0;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
    for (let c = 0; c < k; c++) slot[chans[i][c]] = -1;
  }
  return out;
}

/** A Python literal for params.py (JSON escapes are valid Python escapes). */
function pyString(s: string): string {
  return JSON.stringify(s);
}

/** Identity C x C, row by row (never C^2 values in memory). */
function writeIdentity(file: string, C: number): void {
  const w = new NpyWriter(file, '<f8', [C, C]);
  const row = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    row[c] = 1;
    w.write(row);
    row[c] = 0;
  }
  w.close();
}

/**
 * Writes a Phy folder at `outDir` (created if needed; existing files of the same names are
 * replaced). Phy cluster ids are 0..n-1 in the order of the sorter's ids (cluster_spikesift_id.tsv
 * maps them back), so spike_templates equals spike_clusters and indexes templates.npy.
 * spike_times.npy holds sample indices relative to sample 0 of dat_path after `offset` bytes:
 * spike time minus the recording's recordingOffset (or minus `origin` without a recording).
 */
export function exportPhy(result: SortingResultLike, outDir: string, options: PhyExportOptions = {}): PhyExportSummary {
  checkOptionNames('exportPhy', options, ['recording', 'origin', 'maxSpikesPerUnit', 'channelsPerUnit']);
  const rec = options.recording;
  const geometry = result.probeGeometry;
  const C = geometry.length;
  if (rec && rec.numChannels !== C) {
    throw new Error(`the recording has ${rec.numChannels} channels but the result's probe has ${C}; pass the recording that was sorted`);
  }
  const fsHz = result.samplingFrequency;
  const S = Math.floor(fsHz / 1000);
  const boundaries = result.segmentBoundaries();
  const origin = rec ? rec.recordingOffset : options.origin ?? (boundaries.length ? boundaries[0][0] : 0);
  const ids = validIds(result);
  const U = ids.length;
  fs.mkdirSync(outDir, { recursive: true });
  const file = (name: string) => path.join(outDir, name);

  const { times, unitOf, order } = spikesInTimeOrder(result, ids);
  const total = times.length;
  const ampVectors = ids.map((id) => result.amplitudeVectors(id));
  const best = ampVectors.map((a) => bestChannel(a));
  const k = Math.min(C, options.channelsPerUnit ?? 16);
  const chans = best.map((b) => nearestChannels(geometry, b, k));

  // Phy's own conventions: trough in the middle (phylib cuts raw waveforms nt//2 before the
  // spike) and ops.npy saying so (SpikeInterface's ms_before).
  const nt = 2 * S + 1;
  const before = S;

  const spikeTimes = new BigInt64Array(total);
  const spikeClusters = new Int32Array(total);
  const samples = new Float64Array(total);
  const unitInOrder = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    const q = order[i];
    const rel = Math.round(times[q] - origin);
    if (rel < 0 || (rec && rel >= rec.numSamples)) {
      throw new Error(
        `spike at sample time ${times[q]} lies outside the recording (index ${rel} after removing the offset ${origin}); ` +
          'pass the recording that was sorted (same --recording-offset)',
      );
    }
    spikeTimes[i] = BigInt(rel);
    spikeClusters[i] = unitOf[q];
    samples[i] = rel;
    unitInOrder[i] = unitOf[q];
  }

  let templates: Float32Array[];
  let amplitudes: Float64Array;
  let source: 'recording' | 'amplitudes';
  const files = [
    'params.py', 'spike_times.npy', 'spike_templates.npy', 'spike_clusters.npy', 'amplitudes.npy', 'templates.npy',
    'channel_map.npy', 'channel_positions.npy', 'similar_templates.npy', 'whitening_mat.npy', 'whitening_mat_inv.npy',
    'cluster_group.tsv', 'cluster_spikesift_id.tsv', 'ops.npy',
  ];
  if (rec) {
    const pc = new NpyWriter(file('pc_features.npy'), '<f4', [total, NUM_PCS, k]);
    const feats = spikeFeatures({ recording: rec, samples, unitOf: unitInOrder, unitChannels: chans, nt, before, onFeatures: (rows) => pc.write(rows) });
    pc.close();
    const pcInd = new Int32Array(U * k);
    chans.forEach((c, u) => pcInd.set(c, u * k));
    writeNpy(file('pc_feature_ind.npy'), pcInd, [U, k]);
    // Templates scaled to a trough of -1 (+1 for upward units) on the best channel, and each
    // spike's amplitude is its own filtered peak there: template x amplitude ~ the spike.
    const scale = feats.templates.map((t) => t[before * k]);
    templates = feats.templates.map((t, u) => {
      const a = Math.abs(scale[u]);
      return a > 0 ? t.map((v) => v / a) : t;
    });
    amplitudes = new Float64Array(total);
    for (let i = 0; i < total; i++) {
      const sgn = scale[unitInOrder[i]] < 0 ? -1 : 1;
      amplitudes[i] = feats.peak[i] * sgn;
    }
    source = 'recording';
    files.push('pc_features.npy', 'pc_feature_ind.npy');
  } else {
    templates = ampVectors.map((a, u) => {
      const mean = meanAmplitude(a, C);
      const sparse = new Float32Array(k);
      for (let c = 0; c < k; c++) sparse[c] = mean[chans[u][c]];
      return amplitudeTemplate(sparse, nt, before, S);
    });
    // Without the data, a spike's amplitude is its unit's on the best channel in its segment.
    amplitudes = new Float64Array(total);
    for (let i = 0; i < total; i++) {
      const u = unitInOrder[i];
      const t = samples[i] + origin;
      const seg = Math.min(segmentIndexOf(boundaries, t), ampVectors[u].length - 1);
      amplitudes[i] = seg >= 0 ? ampVectors[u][seg][best[u]] : 0;
    }
    source = 'amplitudes';
  }

  writeNpy(file('spike_times.npy'), spikeTimes, [total]);
  writeNpy(file('spike_templates.npy'), Uint32Array.from(spikeClusters), [total]);
  writeNpy(file('spike_clusters.npy'), spikeClusters, [total]);
  writeNpy(file('amplitudes.npy'), amplitudes, [total]);
  // Dense (n, nt, C) with zeros off each unit's channels: phylib reads it as dense and
  // SpikeInterface derives each unit's sparsity from its non-zero channels.
  const tw = new NpyWriter(file('templates.npy'), '<f4', [U, nt, C]);
  const dense = new Float32Array(nt * C);
  templates.forEach((t, u) => {
    dense.fill(0);
    for (let s = 0; s < nt; s++) for (let c = 0; c < k; c++) dense[s * C + chans[u][c]] = t[s * k + c];
    tw.write(dense);
  });
  tw.close();
  const channelMap = rec?.channelColumns ? Int32Array.from(rec.channelColumns) : Int32Array.from({ length: C }, (_, i) => i);
  writeNpy(file('channel_map.npy'), channelMap, [C]);
  const pos = new Float64Array(C * 2);
  geometry.forEach(([x, y], c) => {
    pos[2 * c] = x;
    pos[2 * c + 1] = y;
  });
  writeNpy(file('channel_positions.npy'), pos, [C, 2]);
  writeNpy(file('similar_templates.npy'), sparseSimilarity(templates, chans, nt, C), [U, U]);
  // The sorter never whitens, so both the whitening matrix and its inverse are the identity.
  writeIdentity(file('whitening_mat.npy'), C);
  writeIdentity(file('whitening_mat_inv.npy'), C);
  fs.writeFileSync(file('cluster_group.tsv'), 'cluster_id\tgroup\n' + ids.map((_, u) => `${u}\tunsorted\n`).join(''));
  fs.writeFileSync(file('cluster_spikesift_id.tsv'), 'cluster_id\tspikesift_id\n' + ids.map((id, u) => `${u}\t${id}\n`).join(''));
  writeOpsNpy(file('ops.npy'), { nt0min: before, nt, ...(Number.isInteger(fsHz) ? { fs: fsHz } : {}) });

  const numSamples = rec ? rec.numSamples : boundaries.length ? boundaries[boundaries.length - 1][1] - origin : 0;
  const params = rec
    ? [
        `dat_path = ${pyString(path.resolve(rec.binaryFile))}`,
        `n_channels_dat = ${rec.fileChannels}`,
        `dtype = ${pyString(rec.dataType)}`,
        `offset = ${rec.dataStart}`,
      ]
    : [
        '# Exported without the recording: phy opens the sorting without raw traces.',
        'dat_path = []',
        `n_channels_dat = ${C}`,
        `dtype = 'float32'`,
        'offset = 0',
      ];
  params.push(
    `sample_rate = ${Number.isInteger(fsHz) ? fsHz.toFixed(1) : String(fsHz)}`,
    // The raw file is not filtered: phy filters it for display.
    'hp_filtered = False',
    `n_samples = ${numSamples}`,
    `duration = ${numSamples / fsHz}`,
    '',
  );
  fs.writeFileSync(file('params.py'), params.join('\n'));

  return { dir: outDir, numUnits: U, numSpikes: total, templateSamples: nt, templateTrough: before, templateSource: source, clusterIds: ids, files };
}
