// Phy (template-gui) export: the folder layout written by Kilosort and read by phy's
// TemplateModel. Phy needs only a handful of files to open a sorting; those below are the
// ones it reads for views that make sense without PCA features.

import fs from 'node:fs';
import path from 'node:path';
import type { Recording } from '../formats/recording.js';
import { writeNpy } from '../formats/npy.js';
import { bestChannel, meanAmplitude, segmentIndexOf, spikesInTimeOrder, validIds, type SortingResultLike } from './types.js';
import { meanWaveforms } from './waveforms.js';

export interface PhyExportOptions {
  /**
   * The recording that was sorted. With it, params.py points at the raw file (dat_path,
   * dtype, offset = header + sampleOffset bytes) and templates.npy holds mean filtered
   * waveforms. Without it, params.py has an empty dat_path and templates are drawn from the
   * amplitude vectors (see `amplitudeTemplate`).
   */
  recording?: Recording;
  /**
   * Sample time that becomes index 0 of spike_times.npy when no recording is given. Default:
   * the result's first segment start, which is the recordingOffset of a single sorting.
   */
  origin?: number;
  /** Spikes averaged per unit for templates (with a recording). Default 100. */
  maxSpikesPerUnit?: number;
}

export interface PhyExportSummary {
  dir: string;
  numUnits: number;
  numSpikes: number;
  templateSamples: number;
  /** 'recording' (mean filtered waveforms) or 'amplitudes' (generic shape x amplitude vector). */
  templateSource: 'recording' | 'amplitudes';
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

function cosineSimilarity(templates: Float32Array[]): Float32Array {
  const n = templates.length;
  const out = new Float32Array(n * n);
  const norms = templates.map((t) => Math.sqrt(t.reduce((s, v) => s + v * v, 0)));
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let dot = 0;
      const a = templates[i];
      const b = templates[j];
      for (let k = 0; k < a.length; k++) dot += a[k] * b[k];
      const den = norms[i] * norms[j];
      const v = den > 0 ? dot / den : i === j ? 1 : 0;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/** A Python string literal for params.py (JSON escapes are valid Python escapes). */
function pyString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Writes a Phy folder at `outDir` (created if needed; existing files of the same names are
 * replaced). spike_times.npy holds sample indices relative to sample 0 of dat_path after
 * `offset` bytes: spike time minus the recording's recordingOffset (or minus `origin` when
 * no recording is given), so phy's traces line up with the spikes.
 */
export function exportPhy(result: SortingResultLike, outDir: string, options: PhyExportOptions = {}): PhyExportSummary {
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
  fs.mkdirSync(outDir, { recursive: true });

  const { times, unitOf, order } = spikesInTimeOrder(result, ids);
  const total = times.length;

  const ampVectors = ids.map((id) => result.amplitudeVectors(id));
  const best = ampVectors.map((a) => bestChannel(a));

  const spikeTimes = new BigInt64Array(total);
  const spikeTemplates = new Uint32Array(total);
  const spikeClusters = new Int32Array(total);
  const amplitudes = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    const k = order[i];
    const rel = Math.round(times[k] - origin);
    if (rel < 0 || (rec && rel >= rec.numSamples)) {
      throw new Error(
        `spike at sample time ${times[k]} lies outside the recording (index ${rel} after removing the offset ${origin}); ` +
          'pass the recording that was sorted (same --recording-offset)',
      );
    }
    const u = unitOf[k];
    spikeTimes[i] = BigInt(rel);
    spikeTemplates[i] = u;
    spikeClusters[i] = ids[u];
    // Per-spike amplitude: the unit's amplitude on its best channel in the spike's segment
    // (the sorter measures amplitudes per segment, not per spike).
    const seg = Math.min(segmentIndexOf(boundaries, times[k]), ampVectors[u].length - 1);
    amplitudes[i] = seg >= 0 ? ampVectors[u][seg][best[u]] : 0;
  }

  let templates: Float32Array[];
  let nt: number;
  let source: 'recording' | 'amplitudes';
  if (rec) {
    const mw = meanWaveforms(rec, result, ids, { maxSpikesPerUnit: options.maxSpikesPerUnit });
    templates = mw.waveforms;
    nt = mw.numSamples;
    source = 'recording';
  } else {
    nt = 2 * S;
    templates = ampVectors.map((a) => amplitudeTemplate(meanAmplitude(a, C), nt, S, S));
    source = 'amplitudes';
  }
  const dense = new Float32Array(ids.length * nt * C);
  templates.forEach((t, u) => dense.set(t, u * nt * C));

  const file = (name: string) => path.join(outDir, name);
  writeNpy(file('spike_times.npy'), spikeTimes, [total]);
  writeNpy(file('spike_templates.npy'), spikeTemplates, [total]);
  writeNpy(file('spike_clusters.npy'), spikeClusters, [total]);
  writeNpy(file('amplitudes.npy'), amplitudes, [total]);
  writeNpy(file('templates.npy'), dense, [ids.length, nt, C]);
  writeNpy(file('channel_map.npy'), Int32Array.from({ length: C }, (_, i) => i), [C]);
  const pos = new Float64Array(C * 2);
  geometry.forEach(([x, y], c) => {
    pos[2 * c] = x;
    pos[2 * c + 1] = y;
  });
  writeNpy(file('channel_positions.npy'), pos, [C, 2]);
  writeNpy(file('similar_templates.npy'), cosineSimilarity(templates), [ids.length, ids.length]);
  const eye = new Float64Array(C * C);
  for (let c = 0; c < C; c++) eye[c * C + c] = 1;
  // The sorter never whitens, so both the whitening matrix and its inverse are the identity.
  writeNpy(file('whitening_mat.npy'), eye, [C, C]);
  writeNpy(file('whitening_mat_inv.npy'), eye, [C, C]);
  fs.writeFileSync(file('cluster_group.tsv'), 'cluster_id\tgroup\n' + ids.map((id) => `${id}\tunsorted\n`).join(''));

  const params = rec
    ? [
        `dat_path = ${pyString(path.resolve(rec.binaryFile))}`,
        `n_channels_dat = ${C}`,
        `dtype = ${pyString(rec.dataType)}`,
        `offset = ${rec.header + rec.sampleOffset * rec.numChannels * rec.itemSize}`,
      ]
    : [
        '# Exported without the recording: phy opens the sorting without raw traces.',
        'dat_path = []',
        `n_channels_dat = ${C}`,
        `dtype = 'float32'`,
        'offset = 0',
      ];
  params.push(`sample_rate = ${Number.isInteger(fsHz) ? fsHz.toFixed(1) : String(fsHz)}`, 'hp_filtered = False', '');
  fs.writeFileSync(file('params.py'), params.join('\n'));

  return {
    dir: outDir,
    numUnits: ids.length,
    numSpikes: total,
    templateSamples: nt,
    templateSource: source,
    files: [
      'params.py', 'spike_times.npy', 'spike_templates.npy', 'spike_clusters.npy', 'amplitudes.npy', 'templates.npy',
      'channel_map.npy', 'channel_positions.npy', 'similar_templates.npy', 'whitening_mat.npy', 'whitening_mat_inv.npy',
      'cluster_group.tsv',
    ],
  };
}
