import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParameterError } from '../../src/formats/dtype.js';
import { Recording } from '../../src/formats/recording.js';
import { tempDir, writeRaw } from './helpers.js';

const dir = tempDir();

describe('Recording with a column subset', () => {
  const F = 6;
  const N = 300_000; // > one 8 MiB read chunk of 6 x int16 columns, so chunking is exercised
  const v = new Int16Array(N * F);
  for (let s = 0; s < N; s++) for (let c = 0; c < F; c++) v[s * F + c] = ((s * 7 + c * 1000) % 30000) - 15000;
  const file = path.join(dir, 'six.bin');
  writeRaw(file, v, 10);
  const cols = [4, 0, 2];
  const geom = [[0, 0], [0, 20], [0, 40]];
  const expectCols = (start: number, n: number): number[] => {
    const out: number[] = [];
    for (let s = start; s < start + n; s++) for (const c of cols) out.push(v[(s + 3) * F + c]);
    return out;
  };

  it('reads only the named columns, in the given order, through every read path', async () => {
    const before = fs.readFileSync(file);
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: geom, samplingFrequency: 30000, header: 10, sampleOffset: 3, fileChannels: F, channels: cols });
    expect(rec.numChannels).toBe(3);
    expect(rec.numSamples).toBe(N - 3);
    expect(rec.fileBytesPerSample).toBe(12);
    expect(rec.bytesPerSample).toBe(6);
    expect(Array.from(rec.read({ start: 5, numSamples: 4 }))).toEqual(expectCols(5, 4));
    const long = rec.read({ start: 1, numSamples: N - 4 });
    expect(long[3 * (N - 5) + 1]).toBe(expectCols(N - 4, 1)[1]);
    expect(Array.from(long.subarray(0, 9))).toEqual(expectCols(1, 3));
    const bytes = rec.readBytes({ start: 7, numSamples: 2 });
    expect(Array.from(new Int16Array(bytes.buffer, bytes.byteOffset, 6))).toEqual(expectCols(7, 2));
    const big = new Uint8Array(6 * (N - 13));
    await rec.readBytesIntoAsync(10, N - 13, big, 0);
    const i16 = new Int16Array(big.buffer);
    expect(Array.from(i16.subarray(0, 6))).toEqual(expectCols(10, 2));
    expect(Array.from(i16.subarray(i16.length - 3))).toEqual(expectCols(N - 4, 1));
    // Workers rebuild it from toJSON: the subset travels along.
    const again = new Recording(rec.toJSON());
    expect(Array.from(again.read({ start: 5, numSamples: 4 }))).toEqual(expectCols(5, 4));
    expect(fs.readFileSync(file)).toEqual(before);
  });

  it('rejects bad subsets naming the parameter and the fix', () => {
    const base = { binaryFile: file, dataType: 'int16', probeGeometry: geom, samplingFrequency: 30000, header: 10, fileChannels: F };
    expect(() => new Recording({ ...base, channels: [4, 0, 6] })).toThrow(/channels\[2\] is 6; each must be a file column in 0\.\.5/);
    expect(() => new Recording({ ...base, channels: [4, 4, 0] })).toThrow(/column 4 twice/);
    expect(() => new Recording({ ...base, channels: [4, 0] })).toThrow(ParameterError);
    expect(() => new Recording({ ...base, fileChannels: 2 })).toThrow(/fileChannels 2 is less than the 3 channels/);
  });
});
