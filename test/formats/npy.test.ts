import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, readNpy, writeNpy, writeNpyStructured, type NpyTypedArray } from '../../src/formats/npy.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

const arrays: [string, NpyTypedArray][] = [
  ['|i1', new Int8Array([-128, 127, 0, 1, 2, 3])],
  ['|u1', new Uint8Array([0, 255, 1, 2, 3, 4])],
  ['<i2', new Int16Array([-32768, 32767, 0, 1, 2, 3])],
  ['<u2', new Uint16Array([0, 65535, 1, 2, 3, 4])],
  ['<i4', new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 1, 2, 3])],
  ['<u4', new Uint32Array([0, 2 ** 32 - 1, 1, 2, 3, 4])],
  ['<i8', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n, 2n, 3n])],
  ['<u8', new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n, 3n, 4n])],
  ['<f4', new Float32Array([-1.5, 3.4e38, 1e-45, 0.1, 2, 3])],
  ['<f8', new Float64Array([1 / 3, -1e300, 5e-324, 0.1, 2, 3])],
];

describe('npy', () => {
  for (const [descr, data] of arrays) {
    it(`round-trips ${descr} with a 64-byte aligned header`, () => {
      const file = path.join(dir, `a${descr.slice(1)}.npy`);
      writeNpy(file, data, [2, 3]);
      const bytes = fs.readFileSync(file);
      expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
      const dataStart = 10 + bytes.readUInt16LE(8);
      expect(dataStart % 64).toBe(0);
      expect(bytes[dataStart - 1]).toBe(0x0a);
      const back = readNpy(file);
      expect(back.dtype).toBe(descr);
      expect(back.shape).toEqual([2, 3]);
      expect(back.data.constructor).toBe(data.constructor);
      expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(data as ArrayLike<unknown>));
    });
  }

  it('writes 1-D, 0-D and bool headers in numpy syntax', () => {
    const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    expect(text(encodeNpy(new Float32Array(3)))).toContain("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    expect(text(encodeNpy(new Float64Array([7]), []))).toContain("'shape': ()");
    const b = decodeNpy(encodeNpy(new Uint8Array([1, 0, 1]), [3], { bool: true }));
    expect([b.dtype, Array.from(b.data as Uint8Array)]).toEqual(['|b1', [1, 0, 1]]);
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/holds 6 values but the data has 5/);
  });

  it('converts Fortran order to C order unless asked to keep it', () => {
    // A (2, 3, 2) array stored column-major: value at (i, j, k) = 100i + 10j + k.
    const dims = [2, 3, 2];
    const f = new Int32Array(12);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) f[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
    const file = path.join(dir, 'f.npy');
    writeNpy(file, f, dims, { fortranOrder: true });
    const c = readNpy(file);
    expect([c.fortranOrder, c.fileFortranOrder]).toEqual([false, true]);
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) expected.push(100 * i + 10 * j + k);
    expect(Array.from(c.data as Int32Array)).toEqual(expected);
    const raw = readNpy(file, { keepFortranOrder: true });
    expect([raw.fortranOrder, Array.from(raw.data as Int32Array)]).toEqual([true, Array.from(f)]);
  });

  it('reads version 2.0 headers and big-endian data', () => {
    const v1 = encodeNpy(new Float64Array([1.5, -2]));
    const start = 10 + Buffer.from(v1).readUInt16LE(8);
    // Same dict, two spaces shorter so the data still starts on the same 64-byte boundary after the 12-byte v2 prefix.
    const text = Buffer.from(v1.subarray(10, start)).toString('latin1').replace("'<f8'", "'>f8'").replace(/  \n$/, '\n');
    const v2 = Buffer.alloc(start + 16);
    v2.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    v2.writeUInt32LE(text.length, 8);
    v2.write(text, 12, 'latin1');
    v2.writeDoubleBE(1.5, start);
    v2.writeDoubleBE(-2, start + 8);
    const back = decodeNpy(v2);
    expect([back.dtype, Array.from(back.data as Float64Array)]).toEqual(['<f8', [1.5, -2]]);
  });

  it('round-trips a SpikeInterface-style structured array', () => {
    const file = path.join(dir, 'spikes.npy');
    const fields = [{ name: 'sample_index', dtype: '<i8' }, { name: 'unit_index', dtype: '<i8' }, { name: 'segment_index', dtype: '<i8' }];
    const cols = [new BigInt64Array([5n, 9n, 2n ** 40n]), new BigInt64Array([0n, 2n, 1n]), new BigInt64Array([0n, 0n, 1n])];
    writeNpyStructured(file, fields, cols);
    const bytes = fs.readFileSync(file);
    expect(bytes.toString('latin1', 10, 10 + bytes.readUInt16LE(8))).toContain(
      "{'descr': [('sample_index', '<i8'), ('unit_index', '<i8'), ('segment_index', '<i8')], 'fortran_order': False, 'shape': (3,), }");
    expect(bytes.byteLength - (10 + bytes.readUInt16LE(8))).toBe(3 * 24);
    const back = readNpy(file);
    expect(back.shape).toEqual([3]);
    expect(back.dtype).toBe("[('sample_index', '<i8'), ('unit_index', '<i8'), ('segment_index', '<i8')]");
    expect(back.fields!.map((f) => [f.name, f.dtype, Array.from(f.data as BigInt64Array)])).toEqual(
      fields.map((f, k) => [f.name, f.dtype, Array.from(cols[k])]));
    expect(() => writeNpyStructured(file, fields, [cols[0], cols[1]])).toThrow(/3 fields and 2 columns/);
    expect(() => writeNpyStructured(file, fields.slice(0, 1), [new Float64Array(3)])).toThrow(/needs a BigInt64Array/);
  });

  it('reports malformed input clearly and writes atomically', () => {
    expect(() => decodeNpy(new Uint8Array(20), 'x.npy')).toThrow(/x\.npy: not a \.npy file/);
    const good = encodeNpy(new Float32Array(8));
    expect(() => decodeNpy(good.subarray(0, good.length - 4), 'y.npy')).toThrow(/y\.npy: file is truncated.*needs 32 data bytes, found 28/);
    expect(() => readNpy(path.join(dir, 'missing.npy'))).toThrow(/missing\.npy: cannot read \.npy file \(no such file\)/);
    writeNpy(path.join(dir, 'atomic.npy'), new Int16Array(4));
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
