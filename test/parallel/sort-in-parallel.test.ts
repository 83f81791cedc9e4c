import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { mergeRecordings } from '../../src/result/merge.js';
import type { SortedRecording } from '../../src/result/sorted-recording.js';
import { sortInParallel, type ParallelProgress } from '../../src/parallel/sort-in-parallel.js';
import { performSpikeSorting as fakeSort } from './fake-sorter.js';

const fakeModule = fileURLToPath(new URL('./fake-sorter.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spikesift-par-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const C = 4;
const fs = 20000;
const geometry = [[0, 0], [0, 25], [0, 50], [0, 75]];

function writeFile(name: string, numSamples: number, seed: number): string {
  const data = new Int16Array(numSamples * C);
  let a = seed;
  for (let i = 0; i < data.length; i++) {
    a = (a * 1103515245 + 12345) >>> 0;
    data[i] = (a >>> 16) % 2000 - 1000;
  }
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** Four blocks of one file, cut as in the seed: sampleOffset + recordingOffset + numSamples. */
function blocks(file: string, total: number, count: number): Recording[] {
  const size = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) =>
    new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: geometry, samplingFrequency: fs,
      sampleOffset: i * size, recordingOffset: i * size, numSamples: i === count - 1 ? total - i * size : size }));
}

describe('sortInParallel (worker plumbing, stand-in sorter)', () => {
  const total = 20000;
  const file = writeFile('rec.bin', total, 1);

  it('sorts 4 blocks on 2 workers like the sequential path, in input order, with progress', async () => {
    const recs = blocks(file, total, 4);
    const seen: ParallelProgress[] = [];
    const parallel = await sortInParallel(recs, { workers: 2, verbose: false, sorterModule: fakeModule, onProgress: (p) => seen.push(p) });
    const sequential: SortedRecording[] = [];
    for (const r of recs) sequential.push(await fakeSort(r));
    expect(parallel.length).toBe(4);
    parallel.forEach((res, i) => {
      expect(res.segmentBoundaries()).toEqual(sequential[i].segmentBoundaries());
      expect(res.allSpikes()).toEqual(sequential[i].allSpikes());
      expect(res.segments[0].amplitudes).toEqual(sequential[i].segments[0].amplitudes);
    });
    const last = seen[seen.length - 1];
    expect(last.blocksDone).toBe(4);
    expect(last.doneMs).toBe(last.totalMs);
    expect(last.totalMs).toBe(4 * (Math.floor(5000 / 20) - 2));
    for (let i = 1; i < seen.length; i++) expect(seen[i].doneMs).toBeGreaterThanOrEqual(seen[i - 1].doneMs);
    // The blocks tile the file, so they merge.
    const merged = mergeRecordings(parallel);
    expect(merged.startTime()).toBe(0);
    expect(merged.endTime()).toBe(total);
  });

  it('uses one worker for several blocks and resolves [] for no blocks', async () => {
    const recs = blocks(file, total, 3);
    const res = await sortInParallel(recs, { workers: 1, verbose: false, sorterModule: fakeModule });
    expect(res.map((r) => r.startTime())).toEqual(recs.map((r) => r.recordingOffset));
    expect(await sortInParallel([], { verbose: false })).toEqual([]);
  });

  it('rejects naming the failing block and its file', async () => {
    const bad = writeFile('broken.bin', 5000, 2);
    const recs = [...blocks(file, total, 2), new Recording({ binaryFile: bad, dataType: 'int16', probeGeometry: geometry, samplingFrequency: fs })];
    await expect(sortInParallel(recs, { workers: 2, verbose: false, sorterModule: fakeModule })).rejects.toThrow(
      /block 2 \(file .*broken\.bin.*\) failed: cannot sort this block on purpose/,
    );
  });

  it('rejects a sorter module that cannot be loaded, naming the block', async () => {
    const recs = blocks(file, total, 2);
    await expect(sortInParallel(recs, { workers: 1, verbose: false, sorterModule: join(dir, 'nope.js') })).rejects.toThrow(/block 0 .*failed/);
  });

  it('validates its arguments before starting threads', async () => {
    const recs = blocks(file, total, 2);
    await expect(sortInParallel('x' as never)).rejects.toThrow(/must be an array/);
    await expect(sortInParallel([{}] as never)).rejects.toThrow(/recordings\[0\] must be a Recording/);
    await expect(sortInParallel(recs, { workers: 0 })).rejects.toThrow(/workers must be a positive integer/);
    await expect(sortInParallel(recs, { detectionSensitivity: -1 })).rejects.toThrow(/block 0 .*detectionSensitivity/);
    await expect(sortInParallel(recs, { x: () => 1 } as never)).rejects.toThrow(/cannot be sent to worker threads/);
  });
});
