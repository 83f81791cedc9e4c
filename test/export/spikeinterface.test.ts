import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/formats/npy.js';
import { exportSpikeInterface } from '../../src/export/spikeinterface.js';
import { buildSorting, tempDir } from './helpers.js';

describe('exportSpikeInterface', () => {
  it('writes a sorted int64 spike vector and the info json', () => {
    const offset = 500;
    const { result, trains } = buildSorting({ numSamples: 20000, offset, numSegments: 4, units: 5, broken: 1 });
    const dir = path.join(tempDir(), 'si');
    const summary = exportSpikeInterface(result, dir);
    const ids = [0, 2, 3, 4];
    expect(summary.unitIds).toEqual(ids);
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'numpysorting_info.json'), 'utf8'));
    expect(info).toEqual({ sampling_frequency: 30000, unit_ids: ids, num_segments: 1 });

    const arr = readNpy(path.join(dir, 'spikes.npy'));
    const total = ids.reduce((n, id) => n + trains.get(id)!.length, 0);
    expect(arr.shape).toEqual([total]);
    expect(arr.fields?.map((f) => [f.name, f.dtype])).toEqual([
      ['sample_index', '<i8'],
      ['unit_index', '<i8'],
      ['segment_index', '<i8'],
    ]);
    const [sample, unit, segment] = arr.fields!.map((f) => Array.from(f.data as BigInt64Array, Number));
    for (let i = 1; i < total; i++) {
      expect(sample[i] > sample[i - 1] || (sample[i] === sample[i - 1] && unit[i] >= unit[i - 1])).toBe(true);
    }
    expect(segment.every((s) => s === 0)).toBe(true);
    // Every (time, unit) pair is one of the unit's spikes, and none is lost.
    const got = sample.map((s, i) => `${ids[unit[i]]}:${s + offset}`).sort();
    const want = ids.flatMap((id) => trains.get(id)!.map((t) => `${id}:${t}`)).sort();
    expect(got).toEqual(want);
  });

  it('writes an empty but valid vector when no cluster survives', () => {
    const { result } = buildSorting({ numSamples: 3000, numSegments: 2, units: 1, broken: 0 });
    const dir = path.join(tempDir(), 'si');
    exportSpikeInterface(result, dir);
    const arr = readNpy(path.join(dir, 'spikes.npy'));
    expect(arr.shape).toEqual([0]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'numpysorting_info.json'), 'utf8')).unit_ids).toEqual([]);
  });
});
