import { endianness } from 'node:os';
import { ParameterError, describeValue } from '../core/errors.js';

// Re-exported for callers of the dtype API (the classes live in core/errors.ts).
export { ParameterError, describeValue };

/** Sample data types of a raw recording file (all little-endian on disk). */
export type DataType =
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32'
  | 'int64' | 'uint64' | 'float32' | 'float64';

export const DATA_TYPES: readonly DataType[] = Object.freeze([
  'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64',
] as DataType[]);

const ITEM_SIZE: Record<DataType, number> = {
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4,
  int64: 8, uint64: 8, float32: 4, float64: 8,
};

export function itemSize(t: DataType): number {
  const size = ITEM_SIZE[t];
  if (size === undefined) throw new ParameterError('dataType', t, `unknown data type ${describeValue(t)}`);
  return size;
}

const NPY_CODE: Record<DataType, string> = {
  int8: 'i1', uint8: 'u1', int16: 'i2', uint16: 'u2', int32: 'i4', uint32: 'u4',
  int64: 'i8', uint64: 'u8', float32: 'f4', float64: 'f8',
};

const BY_CODE: Map<string, DataType> = new Map(
  (Object.entries(NPY_CODE) as [DataType, string][]).map(([t, code]) => [code, t]),
);

/** The numpy descr of a data type, e.g. '<i2' ('|i1' for one-byte types, as numpy writes them). */
export function npyDescr(t: DataType): string {
  return (itemSize(t) === 1 ? '|' : '<') + NPY_CODE[t];
}

/**
 * Accepts the canonical names ('int16', 'float32', ...) and numpy type codes with an optional
 * byte-order prefix ('i2', '<i2', '=i2', '|u1', '<f4'). Case and surrounding spaces are ignored.
 */
export function parseDataType(value: unknown, paramName = 'dataType'): DataType {
  const valid = `valid types: ${DATA_TYPES.join(', ')} (or numpy codes such as 'i2', '<i2', '<f4')`;
  if (typeof value !== 'string') {
    throw new ParameterError(paramName, value, `${paramName} must be a string, got ${describeValue(value)}; ${valid}`);
  }
  const s = value.trim().toLowerCase();
  if ((DATA_TYPES as readonly string[]).includes(s)) return s as DataType;
  const m = /^([<>=|]?)([iuf][1248])$/.exec(s);
  if (m) {
    const t = BY_CODE.get(m[2]);
    if (t !== undefined) {
      const order = m[1];
      // '>' only matters for multi-byte types; numpy itself writes '|i1' and accepts '>i1'.
      if (order === '>' && itemSize(t) > 1) {
        throw new ParameterError(paramName, value,
          `${paramName} ${describeValue(value)} is big-endian, which is not supported; ` +
          `convert the file to little-endian and pass '<${m[2]}' (${t})`);
      }
      if (order === '|' && itemSize(t) > 1) {
        throw new ParameterError(paramName, value,
          `${paramName} ${describeValue(value)} is not a valid numpy code ('|' is only for one-byte types); pass '<${m[2]}' (${t})`);
      }
      return t;
    }
  }
  throw new ParameterError(paramName, value, `${paramName} ${describeValue(value)} is not a known data type; ${valid}`);
}

// Typed-array views use the platform's byte order; on a big-endian host every dtype takes the DataView path.
const HOST_LITTLE_ENDIAN = endianness() === 'LE';

const TWO_32 = 4294967296;

/**
 * int64 from its two 32-bit halves, rounded once to float32 exactly as a direct int64->float32
 * conversion would (numpy's astype). Above 2^53 a plain Number() would round twice (to float64,
 * then float32) and can land on the wrong neighbour; folding the low 12 bits into one sticky bit
 * keeps the value exact in float64 (a multiple of 2^11 below 2^64) without changing which side
 * of any float32 rounding midpoint (all multiples of 2^29 there) it lies on.
 */
function int64ToNumber(lo: number, hi: number): number {
  if (hi >= -2097152 && hi < 2097152) return hi * TWO_32 + lo;
  const low12 = lo & 0xfff;
  const sticky = (lo - low12) + (low12 !== 0 ? 0x800 : 0);
  return hi * TWO_32 + sticky;
}

function uint64ToNumber(lo: number, hi: number): number {
  if (hi < 2097152) return hi * TWO_32 + lo;
  const low12 = lo & 0xfff;
  return hi * TWO_32 + (lo - low12) + (low12 !== 0 ? 0x800 : 0);
}

/**
 * Decodes little-endian samples of type `t` from `bytes` into `out` starting at `outOffset`
 * (values rounded to float32). bytes.byteLength must be a whole number of items and `out` must
 * have room for them. Uses aligned typed-array views when the byte offset allows, otherwise a
 * DataView; allocates nothing per sample.
 */
export function decodeSamples(bytes: Uint8Array, t: DataType, out: Float32Array, outOffset = 0): void {
  const size = itemSize(t);
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`decodeSamples: ${bytes.byteLength} bytes is not a whole number of ${t} items (${size} bytes each)`);
  }
  const n = bytes.byteLength / size;
  if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + n > out.length) {
    throw new RangeError(`decodeSamples: output has ${out.length} values, cannot hold ${n} values at offset ${outOffset}`);
  }
  if (n === 0) return;
  const buf = bytes.buffer;
  const off = bytes.byteOffset;
  if (HOST_LITTLE_ENDIAN && off % size === 0) {
    switch (t) {
      case 'int8': copyInto(new Int8Array(buf, off, n), out, outOffset); return;
      case 'uint8': copyInto(bytes, out, outOffset); return;
      case 'int16': copyInto(new Int16Array(buf, off, n), out, outOffset); return;
      case 'uint16': copyInto(new Uint16Array(buf, off, n), out, outOffset); return;
      case 'int32': copyInto(new Int32Array(buf, off, n), out, outOffset); return;
      case 'uint32': copyInto(new Uint32Array(buf, off, n), out, outOffset); return;
      case 'float32': out.set(new Float32Array(buf, off, n), outOffset); return;
      case 'float64': copyInto(new Float64Array(buf, off, n), out, outOffset); return;
      case 'int64': {
        // Two 32-bit reads per item are far cheaper than materialising a BigInt per sample.
        const u = new Uint32Array(buf, off, 2 * n);
        const s = new Int32Array(buf, off, 2 * n);
        for (let i = 0; i < n; i++) out[outOffset + i] = int64ToNumber(u[2 * i], s[2 * i + 1]);
        return;
      }
      case 'uint64': {
        const u = new Uint32Array(buf, off, 2 * n);
        for (let i = 0; i < n; i++) out[outOffset + i] = uint64ToNumber(u[2 * i], u[2 * i + 1]);
        return;
      }
    }
  }
  const dv = new DataView(buf, off, bytes.byteLength);
  switch (t) {
    case 'int8': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getInt8(i); return;
    case 'uint8': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getUint8(i); return;
    case 'int16': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getInt16(2 * i, true); return;
    case 'uint16': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getUint16(2 * i, true); return;
    case 'int32': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getInt32(4 * i, true); return;
    case 'uint32': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getUint32(4 * i, true); return;
    case 'float32': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getFloat32(4 * i, true); return;
    case 'float64': for (let i = 0; i < n; i++) out[outOffset + i] = dv.getFloat64(8 * i, true); return;
    case 'int64':
      for (let i = 0; i < n; i++) out[outOffset + i] = int64ToNumber(dv.getUint32(8 * i, true), dv.getInt32(8 * i + 4, true));
      return;
    case 'uint64':
      for (let i = 0; i < n; i++) out[outOffset + i] = uint64ToNumber(dv.getUint32(8 * i, true), dv.getUint32(8 * i + 4, true));
      return;
  }
}

function copyInto(src: ArrayLike<number>, out: Float32Array, outOffset: number): void {
  const n = src.length;
  for (let i = 0; i < n; i++) out[outOffset + i] = src[i];
}
