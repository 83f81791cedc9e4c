import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParameterError, Recording, type RecordingOptions } from '../../src/formats/recording.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
// 10 samples x 4 channels of int16 = 80 bytes, plus 1 stray byte in `odd`.
const file = path.join(dir, 'r.bin');
fs.writeFileSync(file, new Uint8Array(80));
const odd = path.join(dir, 'odd.bin');
fs.writeFileSync(odd, new Uint8Array(81));
const base: RecordingOptions = { binaryFile: file, dataType: 'int16', samplingFrequency: 30000,
  probeGeometry: [[0, 0], [0, 20], [0, 40], [0, 60]] };

/** The ParameterError thrown for these options. */
function errorFor(patch: Record<string, unknown>): ParameterError {
  try {
    new Recording({ ...base, ...patch } as RecordingOptions);
  } catch (e) {
    expect(e).toBeInstanceOf(ParameterError);
    return e as ParameterError;
  }
  throw new Error(`no error for ${JSON.stringify(patch)}`);
}

function expectError(patch: Record<string, unknown>, parameter: string, message: RegExp): void {
  const e = errorFor(patch);
  expect(e.parameter).toBe(parameter);
  expect(e.message).toMatch(message);
}

describe('Recording validation', () => {
  it('accepts the base options', () => {
    expect(new Recording(base).numSamples).toBe(10);
  });

  it('rejects a missing, unusable or unreadable file', () => {
    expectError({ binaryFile: path.join(dir, 'nope.bin') }, 'binaryFile', /nope\.bin" does not exist/);
    expectError({ binaryFile: dir }, 'binaryFile', /is not a regular file/);
    expectError({ binaryFile: '' }, 'binaryFile', /must be the path/);
    expectError({ binaryFile: 42 }, 'binaryFile', /got 42/);
    if (process.getuid?.() !== 0) {
      const locked = path.join(dir, 'locked.bin');
      fs.writeFileSync(locked, new Uint8Array(8));
      fs.chmodSync(locked, 0o000);
      expectError({ binaryFile: locked }, 'binaryFile', /cannot be opened for reading \(EACCES\)/);
    }
  });

  it('rejects an unknown data type', () => {
    expectError({ dataType: 'int24' }, 'dataType', /"int24" is not a known data type; valid types: int8/);
  });

  it('rejects geometry that is not C x 2 finite numbers', () => {
    expectError({ probeGeometry: 'abc' }, 'probeGeometry', /must be an array of \[x, y\] rows, got "abc"/);
    expectError({ probeGeometry: [] }, 'probeGeometry', /is empty/);
    expectError({ probeGeometry: [[0, 0], [0, 1, 2]] }, 'probeGeometry', /row 1 is of length 3/);
    expectError({ probeGeometry: [[0, 0], 5] }, 'probeGeometry', /row 1 is 5/);
    expectError({ probeGeometry: [[0, NaN]] }, 'probeGeometry', /\[0\]\[1\] must be a finite number.*got NaN/);
    expectError({ probeGeometry: [[Infinity, 0]] }, 'probeGeometry', /got Infinity/);
    expectError({ probeGeometry: [[1e39, 0]] }, 'probeGeometry', /float32 range.*got 1e\+39/);
    expectError({ probeGeometry: [['1', 0]] }, 'probeGeometry', /got "1"/);
  });

  it('rejects a sampling frequency below 1000 Hz or not a number', () => {
    expectError({ samplingFrequency: 999 }, 'samplingFrequency', />= 1000 \(Hz\), got 999/);
    expectError({ samplingFrequency: NaN }, 'samplingFrequency', /got NaN/);
    expectError({ samplingFrequency: '30000' }, 'samplingFrequency', /got "30000"/);
  });

  it('rejects negative or fractional header, sampleOffset and recordingOffset', () => {
    expectError({ header: -1 }, 'header', /header must be a non-negative integer, got -1/);
    expectError({ header: 1.5 }, 'header', /got 1\.5/);
    expectError({ sampleOffset: -2 }, 'sampleOffset', /sampleOffset must be a non-negative integer, got -2/);
    expectError({ recordingOffset: 0.5 }, 'recordingOffset', /integer number of samples \(any sign\), got 0\.5/);
    expect(new Recording({ ...base, recordingOffset: -5 }).recordingOffset).toBe(-5);
  });

  it('rejects offsets at or past the end of the file', () => {
    expectError({ header: 80 }, 'header', /offset exceeds file size: .* = 80 bytes, but .* has 80 bytes/);
    expectError({ sampleOffset: 10 }, 'sampleOffset', /offset exceeds file size: header \+ sampleOffset \* channels \* itemsize = 0 \+ 10 \* 4 \* 2 = 80/);
    expectError({ header: 90, sampleOffset: 1 }, 'header', /offset exceeds file size/);
    expect(new Recording({ ...base, sampleOffset: 9 }).numSamples).toBe(1);
  });

  it('blames the probe when the size is not a whole number of samples, and offers numSamples', () => {
    expectError({ binaryFile: odd }, 'probeGeometry', /the probe has \d+ sites but .* not a whole number of \d+-column samples .*1 bytes left over.*pass a probe with one site per file column.*numSamples, at most 10/);
    expect(new Recording({ ...base, binaryFile: odd, numSamples: 10 }).numSamples).toBe(10);
  });

  it('rejects numSamples that is not a positive integer or does not fit', () => {
    expectError({ numSamples: 0 }, 'numSamples', /positive integer, got 0/);
    expectError({ numSamples: -4 }, 'numSamples', /got -4/);
    expectError({ numSamples: 2.5 }, 'numSamples', /got 2\.5/);
    expectError({ numSamples: 11 }, 'numSamples', /numSamples 11 does not fit .* holds 10 whole samples.*<= 10/);
    expectError({ numSamples: 10, header: 2 }, 'numSamples', /holds 9 whole samples/);
  });
});
