import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import type { DataType } from '../../src/formats/dtype.js';

/** A temp folder removed after the test file finishes. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-io-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Bytes of a typed array preceded by `pad` bytes of 0xAB (a header) in a file. */
export function writeRaw(file: string, data: ArrayBufferView, pad = 0): void {
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(pad + body.byteLength).fill(0xab, 0, pad);
  out.set(body, pad);
  fs.writeFileSync(file, out);
}

/** Correctly rounded (ties to even) float32 value of an integer, computed exactly with BigInt. */
export function bigIntToFloat32(b: bigint): number {
  const neg = b < 0n;
  let m = neg ? -b : b;
  const bits = m.toString(2).length;
  const shift = bits - 24;
  if (shift > 0) {
    const s = BigInt(shift);
    let q = m >> s;
    const r = m - (q << s);
    const half = 1n << (s - 1n);
    if (r > half || (r === half && (q & 1n) === 1n)) q += 1n;
    m = q << s;
  }
  const v = Number(m); // exact: at most 25 significant bits
  return Math.fround(neg ? -v : v);
}

// Known values per type, with the extremes of each range, as typed arrays in file (LE) layout.
const TWO53 = 2n ** 53n;
export const SAMPLES: Record<DataType, { data: ArrayBufferView & { length: number }; expected: number[] }> = (() => {
  const i64 = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 40n + 3n, -(2n ** 40n + 12345n), TWO53 + 2n ** 29n + 1n, -(TWO53 + 2n ** 29n + 1n)];
  const u64 = [0n, 2n ** 64n - 1n, 65535n, 2n ** 40n + 7n, TWO53 + 2n ** 29n + 1n, 2n ** 63n + 2n ** 39n];
  const num = (xs: number[], C: { new (a: number[]): ArrayBufferView & { length: number } }) => ({ data: new C(xs), expected: xs.map(Math.fround) });
  return {
    int8: num([-128, 127, 0, -1, 5], Int8Array),
    uint8: num([0, 255, 128, 1], Uint8Array),
    int16: num([-32768, 32767, 0, -1, 1234], Int16Array),
    uint16: num([0, 65535, 32768, 7], Uint16Array),
    int32: num([-(2 ** 31), 2 ** 31 - 1, 0, -1, 16777217], Int32Array),
    uint32: num([0, 2 ** 32 - 1, 16777217, 3], Uint32Array),
    float32: num([-1.5, 3.4e38, 1e-45, 0, -0.1], Float32Array),
    float64: num([1 / 3, -0.1, 1e-300, 123456.789, 1e300], Float64Array),
    int64: { data: new BigInt64Array(i64), expected: i64.map(bigIntToFloat32) },
    uint64: { data: new BigUint64Array(u64), expected: u64.map(bigIntToFloat32) },
  };
})();

