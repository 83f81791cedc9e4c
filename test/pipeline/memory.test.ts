/**
 * Memory does not grow with recording length: the sorter streams through a buffer of
 * pass 1 keeps 4L ms of minima, pass 2 the windows of the segments in flight. Peak RSS is measured in fresh child processes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRecording } from '../../src/groundtruth/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-mem-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const childScript = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const loader = new URL('../../scripts/ts-loader.mjs', import.meta.url).href;

function peakRss(binaryFile: string, geometry: number[][], fsHz: number, minSegmentLength: number): { maxRssKiB: number; segments: number } {
  const out = execFileSync(process.execPath, ['--import', loader, childScript, binaryFile, JSON.stringify(geometry), String(fsHz), String(minSegmentLength)],
    { encoding: 'utf8', timeout: 240_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('memory', () => {
  it('a 10x longer recording does not use more than ~1.5x the peak memory', async () => {
    const opts = { preset: 'poly64' as const, seed: 9, snrRange: [8, 20] as [number, number] };
    const short = await generateRecording({ out: path.join(root, 'short'), duration: 3, ...opts });
    const long = await generateRecording({ out: path.join(root, 'long'), duration: 30, ...opts });
    // L = 0.5 s: the buffer holds 2.5 s, so the short recording already fills it almost completely
    const a = peakRss(short.binaryFile, short.probeGeometry, short.samplingFrequency, 0.5);
    const b = peakRss(long.binaryFile, long.probeGeometry, long.samplingFrequency, 0.5);
    expect(b.segments).toBeGreaterThan(a.segments * 5);
    expect(b.maxRssKiB / a.maxRssKiB).toBeLessThanOrEqual(1.5);
  }, 600_000);
});
