import { describe, expect, it } from 'vitest';
import { DATA_TYPES, type DataType, ParameterError, decodeSamples, itemSize, parseDataType } from '../../src/formats/dtype.js';
import { SAMPLES } from './helpers.js';

const TWO53 = 2n ** 53n;

describe('decodeSamples', () => {
  for (const t of DATA_TYPES) {
    it(`decodes ${t} exactly (aligned and unaligned)`, () => {
      const { data, expected } = SAMPLES[t];
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const out = new Float32Array(expected.length + 2).fill(-7);
      decodeSamples(bytes, t, out, 1);
      expect(Array.from(out.subarray(1, 1 + expected.length))).toEqual(expected);
      expect([out[0], out[out.length - 1]]).toEqual([-7, -7]);

      const shifted = new Uint8Array(bytes.byteLength + 1);
      shifted.set(bytes, 1);
      const out2 = new Float32Array(expected.length);
      decodeSamples(shifted.subarray(1), t, out2);
      expect(Array.from(out2)).toEqual(expected);
    });
  }

  it('rounds int64 above 2^53 once, like a direct int64 -> float32 conversion', () => {
    // 2^53 + 2^29 + 1 lies just above a float32 midpoint; rounding through float64 would give 2^53.
    const out = new Float32Array(1);
    decodeSamples(new Uint8Array(new BigInt64Array([TWO53 + 2n ** 29n + 1n]).buffer), 'int64', out);
    expect(out[0]).toBe(2 ** 53 + 2 ** 30);
  });

  it('rejects partial items and a too small output', () => {
    expect(() => decodeSamples(new Uint8Array(3), 'int16', new Float32Array(4))).toThrow(/whole number of int16/);
    expect(() => decodeSamples(new Uint8Array(8), 'int16', new Float32Array(4), 1)).toThrow(/cannot hold 4/);
  });
});

describe('parseDataType', () => {
  it('accepts canonical names and numpy codes', () => {
    const cases: [string, DataType][] = [['int16', 'int16'], ['i2', 'int16'], ['<i2', 'int16'], ['=i2', 'int16'],
      [' Float32 ', 'float32'], ['<f4', 'float32'], ['f8', 'float64'], ['|u1', 'uint8'], ['i1', 'int8'],
      ['<i8', 'int64'], ['u8', 'uint64'], ['<u4', 'uint32'], ['i4', 'int32'], ['<u2', 'uint16']];
    for (const [s, t] of cases) expect(parseDataType(s)).toBe(t);
    for (const t of DATA_TYPES) expect(parseDataType(t)).toBe(t);
  });

  it('names the parameter, the value and the valid types', () => {
    const err = (() => { try { parseDataType('int12', 'dtype'); } catch (e) { return e; } })() as ParameterError;
    expect(err).toBeInstanceOf(ParameterError);
    expect(err.parameter).toBe('dtype');
    expect(err.message).toMatch(/dtype "int12".*int8, uint8, int16/);
    expect(() => parseDataType('>i2')).toThrow(/big-endian.*'<i2'/);
    expect(() => parseDataType(16)).toThrow(/dataType must be a string, got 16/);
  });

  it('knows item sizes', () => {
    expect(DATA_TYPES.map(itemSize)).toEqual([1, 1, 2, 2, 4, 4, 8, 8, 4, 8]);
  });
});
