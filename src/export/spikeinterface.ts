// SpikeInterface export: the folder SpikeInterface's own `sorting.save(format="numpy_folder")`
// writes (spikeinterface >= 0.99), so `spikeinterface.load(folder)` and
// `spikeinterface.core.NumpyFolderSorting(folder)` both open it: a spike vector in spikes.npy,
// numpysorting_info.json, si_folder.json / provenance.json (the extractor description `load`
// dispatches on) and properties/ (one .npy of n_units values per unit property).

import { checkOptionNames } from '../core/params.js';
import fs from 'node:fs';
import path from 'node:path';
import { writeNpy, writeNpyStructured } from '../formats/npy.js';
import { bestChannel, meanAmplitude, segmentIndexOf, spikesInTimeOrder, validIds, type SortingResultLike } from './types.js';

export interface SpikeInterfaceExportOptions {
  /**
   * Sample time that becomes sample_index 0. Default: the result's first segment start (the
   * recordingOffset of a single sorting), so sample_index counts samples from the start of
   * the sorted range, as a SpikeInterface BinaryRecording of the same file sees them.
   */
  origin?: number;
  /** µV per stored unit of each channel (Recording.gainToMicrovolts): adds amplitude_uv. */
  gainToMicrovolts?: ArrayLike<number> | null;
}

/** The SpikeInterface version whose folder layout this writes (its loader accepts others too). */
export const SPIKEINTERFACE_FORMAT_VERSION = '0.105.0';

export interface SpikeInterfaceExportSummary {
  dir: string;
  numUnits: number;
  numSpikes: number;
  unitIds: number[];
}

/**
 * Writes spikes.npy (structured: sample_index, unit_index, segment_index, all '<i8', sorted by
 * sample_index then unit_index) and numpysorting_info.json. The sorter's segments are an
 * internal time split of one continuous recording, not SpikeInterface segments (which are
 * separate recordings), so everything goes into segment 0 and num_segments is 1.
 * unit_index indexes unit_ids, which are the sorter's cluster ids.
 */
export function exportSpikeInterface(
  result: SortingResultLike,
  outDir: string,
  options: SpikeInterfaceExportOptions = {},
): SpikeInterfaceExportSummary {
  checkOptionNames('exportSpikeInterface', options, ['origin', 'gainToMicrovolts']);
  const boundaries = result.segmentBoundaries();
  const origin = options.origin ?? (boundaries.length ? boundaries[0][0] : 0);
  const ids = validIds(result);
  const { times, unitOf, order } = spikesInTimeOrder(result, ids);
  const total = times.length;
  const sample = new BigInt64Array(total);
  const unit = new BigInt64Array(total);
  const segment = new BigInt64Array(total);
  for (let i = 0; i < total; i++) {
    const j = order[i];
    const rel = Math.round(times[j] - origin);
    if (rel < 0) {
      throw new Error(`spike at sample time ${times[j]} is before the origin ${origin}; pass an origin at or before the first spike`);
    }
    sample[i] = BigInt(rel);
    unit[i] = BigInt(unitOf[j]);
  }
  fs.mkdirSync(outDir, { recursive: true });
  writeNpyStructured(
    path.join(outDir, 'spikes.npy'),
    [
      { name: 'sample_index', dtype: '<i8' },
      { name: 'unit_index', dtype: '<i8' },
      { name: 'segment_index', dtype: '<i8' },
    ],
    [sample, unit, segment],
  );
  const info = { sampling_frequency: result.samplingFrequency, unit_ids: ids, num_segments: 1 };
  fs.writeFileSync(path.join(outDir, 'numpysorting_info.json'), JSON.stringify(info, null, 4) + '\n');

  const props = unitProperties(result, ids, boundaries, options.gainToMicrovolts ?? null);
  const propDir = path.join(outDir, 'properties');
  fs.mkdirSync(propDir, { recursive: true });
  const properties: Record<string, number[]> = {};
  for (const [name, values] of Object.entries(props)) {
    writeNpy(path.join(propDir, `${name}.npy`), values, [ids.length]);
    properties[name] = Array.from(values);
  }
  // What BaseExtractor.to_dict gives for a NumpyFolderSorting saved into this folder, with the
  // folder path relative to it (so the folder can be moved).
  const description = {
    class: 'spikeinterface.core.sortingfolder.NumpyFolderSorting',
    module: 'spikeinterface',
    version: SPIKEINTERFACE_FORMAT_VERSION,
    kwargs: { folder_path: '.', mmap_mode: null },
    annotations: {},
    properties,
    relative_paths: true,
  };
  const json = JSON.stringify(description, null, 4) + '\n';
  fs.writeFileSync(path.join(outDir, 'si_folder.json'), json);
  fs.writeFileSync(path.join(outDir, 'provenance.json'), json);
  return { dir: outDir, numUnits: ids.length, numSpikes: total, unitIds: ids };
}

/**
 * Per-unit properties: best channel (largest mean amplitude), its x and depth (y, µm), the
 * mean amplitude there (sorter units, and µV when the gain is known), and where along the
 * sorter's time segments the unit is present (first, last, count).
 */
export function unitProperties(
  result: SortingResultLike,
  ids: readonly number[],
  boundaries: readonly [number, number][],
  gainToMicrovolts: ArrayLike<number> | null,
): Record<string, Int32Array | Float64Array> {
  const n = ids.length;
  const C = result.probeGeometry.length;
  const best = new Int32Array(n);
  const x = new Float64Array(n);
  const depth = new Float64Array(n);
  const amplitude = new Float64Array(n);
  const amplitudeUv = new Float64Array(n);
  const first = new Int32Array(n);
  const last = new Int32Array(n);
  const present = new Int32Array(n);
  ids.forEach((id, u) => {
    const vectors = result.amplitudeVectors(id);
    const b = bestChannel(vectors);
    best[u] = b;
    x[u] = result.probeGeometry[b][0];
    depth[u] = result.probeGeometry[b][1];
    amplitude[u] = vectors.length ? meanAmplitude(vectors, C)[b] : 0;
    amplitudeUv[u] = gainToMicrovolts ? amplitude[u] * gainToMicrovolts[b] : NaN;
    const train = result.spikes(id);
    first[u] = train.length ? segmentIndexOf(boundaries, train[0]) : -1;
    last[u] = train.length ? segmentIndexOf(boundaries, train[train.length - 1]) : -1;
    present[u] = vectors.length;
  });
  const out: Record<string, Int32Array | Float64Array> = {
    best_channel: best, x_um: x, depth_um: depth, amplitude, first_segment: first, last_segment: last, num_segments_present: present,
  };
  if (gainToMicrovolts) out.amplitude_uv = amplitudeUv;
  return out;
}
