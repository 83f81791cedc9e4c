/**
 * Generator options for what the reference loses: zigzag drift, sparse large units, units that
 * start or stop mid-recording. Defaults leave existing recordings unchanged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { driftAt, generateRecording } from '../../src/groundtruth/generate.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-gen-hard-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('generator: hard cases', () => {
  it('zigzag drift is a triangle wave of the given amplitude and period', () => {
    const d = { rate: 0, jumps: [], zigzag: { amplitude: 20, period: 100 } };
    expect(driftAt(d, 0)).toBe(0);
    expect(driftAt(d, 25)).toBeCloseTo(20, 9);
    expect(driftAt(d, 50)).toBeCloseTo(0, 9);
    expect(driftAt(d, 75)).toBeCloseTo(-20, 9);
    expect(driftAt(d, 112.5)).toBeCloseTo(10, 9);
  });

  it('adds sparse large units and units that start or stop, leaving the other units and the defaults unchanged', async () => {
    const plain = await generateRecording({ out: path.join(root, 'plain'), preset: 'linear32', duration: 20, seed: 5 });
    const again = await generateRecording({ out: path.join(root, 'again'), preset: 'linear32', duration: 20, seed: 5, sparseUnits: 0, lifetimeFraction: 0 });
    expect(fs.readFileSync(again.binaryFile).equals(fs.readFileSync(plain.binaryFile))).toBe(true);
    const hard = await generateRecording({ out: path.join(root, 'hard'), preset: 'linear32', duration: 20, seed: 5, sparseUnits: 3, lifetimeFraction: 0.5 });
    const p = JSON.parse(fs.readFileSync(plain.groundTruthFile, 'utf8'));
    const h = JSON.parse(fs.readFileSync(hard.groundTruthFile, 'utf8'));
    expect(h.units.length).toBe(p.units.length + 3);
    const sparse = h.units.slice(p.units.length);
    for (const u of sparse) {
      expect(u.snr).toBeGreaterThanOrEqual(10);
      expect(u.snr).toBeLessThanOrEqual(20);
      expect(u.firingRate).toBeLessThan(3);
    }
    // Start or stop: spikes only in part of the recording; the others keep their trains.
    const N = hard.numSamples;
    let partial = 0;
    h.units.slice(0, p.units.length).forEach((u: { spikes: number[] }, i: number) => {
      const full = p.units[i].spikes as number[];
      if (u.spikes.length === full.length) expect(u.spikes).toEqual(full);
      else {
        partial++;
        const set = new Set(full);
        for (const s of u.spikes) expect(set.has(s)).toBe(true);
        const first = u.spikes[0] ?? N, last = u.spikes[u.spikes.length - 1] ?? 0;
        expect(first > 0.15 * N || last < 0.85 * N).toBe(true);
      }
    });
    expect(partial).toBeGreaterThan(0);
  }, 120_000);
});
