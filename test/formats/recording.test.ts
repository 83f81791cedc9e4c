import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_TYPES, itemSize } from '../../src/formats/dtype.js';
import { Recording } from '../../src/formats/recording.js';
import { SAMPLES, tempDir, writeRaw } from './helpers.js';

const dir = tempDir();
const geom = (c: number) => Array.from({ length: c }, (_, k) => [0, 20 * k]);

describe('Recording reads', () => {
  for (const t of DATA_TYPES) {
    it(`reads ${t} back exactly after an odd header and a sample offset`, () => {
      const { data, expected } = SAMPLES[t];
      // Channels = number of known values: one sample holds them all; repeat it 4 times with a marker.
      const C = expected.length;
      const size = itemSize(t);
      const one = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const file = path.join(dir, `rec-${t}.bin`);
      const body = new Uint8Array(4 * one.byteLength);
      for (let s = 0; s < 4; s++) body.set(one, s * one.byteLength);
      writeRaw(file, body, 7);
      const before = fs.readFileSync(file);
      const rec = new Recording({ binaryFile: file, dataType: t, probeGeometry: geom(C), samplingFrequency: 30000, header: 7, sampleOffset: 1 });
      expect(rec.numSamples).toBe(3);
      expect(rec.bytesPerSample).toBe(C * size);
      const got = rec.read({ start: 1, numSamples: 2 });
      expect(Array.from(got)).toEqual([...expected, ...expected]);
      expect(Buffer.from(rec.readBytes({ start: 2, numSamples: 1 }))).toEqual(Buffer.from(one));
      expect(fs.readFileSync(file)).toEqual(before);
    });
  }

  it('applies header, sampleOffset, numSamples and recordingOffset as specified', () => {
    const C = 4;
    const total = 50;
    const v = new Int16Array(total * C).map((_, i) => i - 100);
    const file = path.join(dir, 'sem.bin');
    writeRaw(file, v, 16);
    const rec = new Recording({ binaryFile: file, dataType: 'i2', probeGeometry: geom(C), samplingFrequency: 20000.7,
      header: 16, sampleOffset: 5, numSamples: 30, recordingOffset: -1234 });
    expect([rec.numSamples, rec.numChannels, rec.samplesPerMs, rec.recordingOffset]).toEqual([30, 4, 20, -1234]);
    expect(rec.dataStart).toBe(16 + 5 * C * 2);
    // Sample 0 is the first sample after the header and the offset.
    expect(Array.from(rec.read({ start: 0, numSamples: 1 }))).toEqual(Array.from(v.subarray(5 * C, 6 * C)));
    expect(Array.from(rec.read({ start: 29, numSamples: 1 }))).toEqual(Array.from(v.subarray(34 * C, 35 * C)));
    expect(() => rec.read({ start: 29, numSamples: 2 })).toThrow(/\[29, 31\) are past the end.*30 samples/);
    // Inferred: everything after the offset.
    const all = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: geom(C), samplingFrequency: 30000, header: 16, sampleOffset: 5 });
    expect(all.numSamples).toBe(45);
    expect(all.recordingOffset).toBe(0);
  });

  it('readInto fills a slice of a caller buffer and crosses chunk boundaries', () => {
    const C = 3;
    const n = 1_500_000; // 9 MB of int16: more than one 8 MiB read chunk, not a multiple of it
    const v = new Int16Array(n * C);
    for (let i = 0; i < v.length; i++) v[i] = (i * 7919) % 65536 - 32768;
    const file = path.join(dir, 'big.bin');
    writeRaw(file, v);
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: geom(C), samplingFrequency: 30000 });
    const out = new Float32Array(n * C + 5).fill(9);
    rec.readInto(0, n, out, 5);
    expect(out[4]).toBe(9);
    let mismatches = 0;
    for (let i = 0; i < v.length; i++) if (out[5 + i] !== v[i]) mismatches++;
    expect(mismatches).toBe(0);
    expect(() => rec.readInto(0, 2, new Float32Array(5))).toThrow(/cannot hold 6 values/);
    expect(() => rec.read({ start: -1, numSamples: 1 })).toThrow(/start must be a non-negative integer.*-1/);
    expect(() => rec.read({ start: 0.5, numSamples: 1 })).toThrow(/start must be/);
    expect(() => rec.read({ start: 0, numSamples: -3 })).toThrow(/numSamples must be a non-negative integer, got -3/);
    expect(rec.read({ start: n, numSamples: 0 }).length).toBe(0);
  });

  it('reads past 4 GiB in a sparse file', () => {
    const C = 2;
    const file = path.join(dir, 'sparse.bin');
    const size = 5 * 2 ** 30; // 5 GiB, sparse: takes no disk space
    const fd = fs.openSync(file, 'w');
    try {
      fs.ftruncateSync(fd, size);
      const marker = new Int16Array([-32768, 32767, 123, -456]);
      fs.writeSync(fd, new Uint8Array(marker.buffer), 0, 8, size - 8);
      fs.writeSync(fd, new Uint8Array(new Int16Array([77, -77]).buffer), 0, 4, 2 ** 32 + 4);
    } finally {
      fs.closeSync(fd);
    }
    const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: geom(C), samplingFrequency: 30000 });
    expect(rec.numSamples).toBe(size / 4);
    expect(Array.from(rec.read({ start: rec.numSamples - 2, numSamples: 2 }))).toEqual([-32768, 32767, 123, -456]);
    // Sample 2^30 + 1 starts at byte 4 GiB + 4; its neighbours are holes (zeros).
    expect(Array.from(rec.read({ start: 2 ** 30, numSamples: 3 }))).toEqual([0, 0, 77, -77, 0, 0]);
    fs.rmSync(file);
  });

  it('keeps geometry in float32, copies it, and round-trips through toJSON', () => {
    const file = path.join(dir, 'geom.bin');
    writeRaw(file, new Float32Array(6));
    const input = [[0.1, 1e-3], [16.7, -20.3]];
    const rec = new Recording({ binaryFile: file, dataType: 'float32', probeGeometry: input, samplingFrequency: 25000 });
    expect(rec.probeGeometry).toEqual(input.map((r) => r.map(Math.fround)));
    expect(Array.from(rec.geometry)).toEqual(input.flat().map(Math.fround));
    rec.probeGeometry[0][0] = 99;
    expect(rec.probeGeometry[0][0]).toBe(Math.fround(0.1));
    expect(input[0][0]).toBe(0.1);
    const json = JSON.parse(JSON.stringify(rec));
    const again = new Recording(json);
    expect(again.toJSON()).toEqual(rec.toJSON());
    expect(again.numSamples).toBe(3);
    expect(path.isAbsolute(json.binaryFile)).toBe(true);
  });
});
