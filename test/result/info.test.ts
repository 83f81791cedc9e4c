import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import type { SortInfo } from '../../src/result/info.js';
import { buildRecording } from './helpers.js';

describe('SortedRecording.info (provenance)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spikesift-info-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = () => buildRecording({ depths: [30, 120, 210, 300], numSegments: 2, segmentLength: 30000, start: 0, seed: 3, links: [Int32Array.from([1, 0, 2, -1])] });

  it('is saved and loaded back', async () => {
    const rec = make();
    const info: SortInfo = {
      version: '9.9.9', parameters: { detectionPolarity: -1, minSegmentMs: 10000 }, engine: 'webgpu',
      engineDescription: 'webgpu on test (software)', adapter: 'test adapter', stagesOnDevice: ['filter', 'minima', 'detection'],
      date: '2026-12-01T00:00:00.000Z',
    };
    rec.info = info;
    const path = join(dir, 'with-info.spikesift');
    await rec.save(path);
    const back = await SortedRecording.load(path);
    expect(back.info).toEqual(info);
    expect(back.clusterIds()).toEqual(rec.clusterIds());
    // Through the worker-transfer form as well.
    expect(SortedRecording.fromTransferable(rec.toTransferable()).info).toEqual(info);
  });

  it('is null for a result saved without it (older files)', async () => {
    const path = join(dir, 'without.spikesift');
    await make().save(path);
    expect((await SortedRecording.load(path)).info).toBeNull();
  });

  it('rejects an info naming a step that does not exist', () => {
    const t = make().toTransferable();
    const bad = { ...t, info: { version: '1', parameters: {}, engine: 'cpu', engineDescription: 'cpu', adapter: null, stagesOnDevice: ['teleport'], date: 'x' } };
    expect(() => SortedRecording.fromTransferable(bad as never)).toThrow(/stagesOnDevice/);
  });
});
