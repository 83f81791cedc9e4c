// Plausibility warnings: a wrong dtype or channel count still "sorts"; the sorter must say so
// and name the fix, and must stay silent on a correctly described recording.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { Recording } from '../../src/formats/recording.js';
import { performSpikeSorting } from '../../src/pipeline/perform.js';
import { rawStats, spikeRateWarnings } from '../../src/pipeline/plausibility.js';

let root: string;
let gen32: GeneratedRecording;
let gen64: GeneratedRecording;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-plausibility-'));
  gen32 = await generateRecording({ out: path.join(root, 'g32'), preset: 'linear32', duration: 2, seed: 4 });
  gen64 = await generateRecording({ out: path.join(root, 'g64'), preset: 'poly64', duration: 2, seed: 5 });
}, 60_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function warningsOf(rec: Recording): Promise<string[]> {
  const warnings: string[] = [];
  await performSpikeSorting(rec, { backend: 'cpu', minSegmentLength: 0.5, verbose: false, onWarning: (m) => warnings.push(m) });
  return warnings;
}

describe('plausibility warnings', () => {
  it('are silent on a correctly described recording', async () => {
    const rec = new Recording({ binaryFile: gen32.binaryFile, dataType: gen32.dataType, probeGeometry: gen32.probeGeometry, samplingFrequency: gen32.samplingFrequency });
    expect(await warningsOf(rec)).toEqual([]);
  });

  it('int16 data declared uint16: names --dtype int16', async () => {
    const rec = new Recording({ binaryFile: gen32.binaryFile, dataType: 'uint16', probeGeometry: gen32.probeGeometry, samplingFrequency: gen32.samplingFrequency });
    const w = await warningsOf(rec);
    expect(w.some((m) => /look like int16 read as uint16.*pass --dtype int16/.test(m)), w.join('\n')).toBe(true);
  }, 60_000);

  it('a 32-channel probe on a 64-channel file: names the channel count that fits', async () => {
    const rec = new Recording({ binaryFile: gen64.binaryFile, dataType: 'int16', probeGeometry: gen32.probeGeometry, samplingFrequency: gen64.samplingFrequency });
    const s = rawStats(rec);
    expect(s.bestLag).toBe(2);
    const w = await warningsOf(rec);
    expect(w.some((m) => /channel count is probably not 32 \(64 channels would fit the file size\).*--probe/.test(m)), w.join('\n')).toBe(true);
  }, 60_000);

  it('implausible rates are named with the likely causes; plausible ones are not', () => {
    expect(spikeRateWarnings(32 * 10 * 60, [5, 10, 20], 32, 60)).toEqual([]);
    const w = spikeRateWarnings(32 * 200 * 60, [5, 400], 32, 60);
    expect(w.length).toBe(1);
    expect(w[0]).toMatch(/200 spikes\/s per channel, 1 unit\(s\) above 300 Hz.*--dtype/);
  });
});
