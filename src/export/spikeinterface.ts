// SpikeInterface export: the NumpyFolderSorting layout (spikeinterface >= 0.99), readable with
// `spikeinterface.core.NumpyFolderSorting(folder)`: a spike vector in spikes.npy plus
// numpysorting_info.json.

import fs from 'node:fs';
import path from 'node:path';
import { writeNpyStructured } from '../formats/npy.js';
import { spikesInTimeOrder, validIds, type SortingResultLike } from './types.js';

export interface SpikeInterfaceExportOptions {
  /**
   * Sample time that becomes sample_index 0. Default: the result's first segment start (the
   * recordingOffset of a single sorting), so sample_index counts samples from the start of
   * the sorted range, as a SpikeInterface BinaryRecording of the same file sees them.
   */
  origin?: number;
}

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
  return { dir: outDir, numUnits: ids.length, numSpikes: total, unitIds: ids };
}
