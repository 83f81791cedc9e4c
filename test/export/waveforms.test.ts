import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { meanWaveforms } from '../../src/export/waveforms.js';
import { Recording } from '../../src/formats/recording.js';
import { dogTaps, filterHalo } from '../../src/stages/filter/taps.js';
import { GEOMETRY, buildSorting, tempDir, writeRecording } from './helpers.js';

describe('meanWaveforms', () => {
  it('equals filtering each spike window and averaging (the filter is applied once, to the mean), on the channels asked', () => {
    const dir = tempDir();
    const numSamples = 20000;
    const { result, trains } = buildSorting({ numSamples, numSegments: 2, units: 3, margin: 100 });
    const file = path.join(dir, 'r.bin');
    writeRecording(file, numSamples, trains);
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: GEOMETRY, samplingFrequency: 30000 });
    const ids = result.clusterIds();
    const chans = (u: number) => [(2 * u) % 8, (2 * u + 1) % 8, (2 * u + 2) % 8];
    const mw = meanWaveforms(rec, result, ids, { maxSpikesPerUnit: 7, channels: chans });
    const S = 30;
    const halo = filterHalo(S);
    const taps = dogTaps(S);
    const C = GEOMETRY.length;
    ids.forEach((id, u) => {
      const train = Array.from(result.spikes(id));
      const n = train.length;
      const picks = Array.from({ length: 7 }, (_, k) => Math.floor(((k + 0.5) * n) / 7));
      const ref = new Float64Array(mw.numSamples * C);
      for (const k of picks) {
        const raw = rec.read({ start: train[k] - S - halo, numSamples: mw.numSamples + 2 * halo });
        for (const c of chans(u)) {
          for (let t = 0; t < mw.numSamples; t++) {
            let acc = 0;
            for (let j = 0; j < taps.length; j++) acc += taps[j] * raw[(t + j) * C + c];
            ref[t * C + c] -= acc / picks.length;
          }
        }
      }
      expect(mw.counts[u]).toBe(7);
      for (let i = 0; i < ref.length; i++) expect(mw.waveforms[u][i]).toBeCloseTo(ref[i], 3);
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
