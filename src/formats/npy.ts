import * as fs from 'node:fs';
import * as path from 'node:path';
import { endianness } from 'node:os';

/** NPY format reference: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */

export type NpyTypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

export interface NpyField {
  name: string;
  /** numpy descr of the field, e.g. '<i8'. */
  dtype: string;
  /** One value per record. */
  data: NpyTypedArray;
}

export interface NpyArray {
  /** Element values; for structured arrays the raw record bytes (use `fields`). */
  data: NpyTypedArray;
  shape: number[];
  /** numpy descr: '<f4', '|u1', '|b1' ... or the list text of a structured dtype. */
  dtype: string;
  /** Layout of the returned `data`: false (C order) unless readNpy was asked to keep Fortran order. */
  fortranOrder: boolean;
  /** The file's own fortran_order flag. */
  fileFortranOrder: boolean;
  /** Columns of a structured array, in record order. */
  fields?: NpyField[];
}

export interface ReadNpyOptions {
  /** Return Fortran-ordered files as stored instead of converting them to C order. */
  keepFortranOrder?: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const HOST_LE = endianness() === 'LE';

type Ctor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): NpyTypedArray; new (length: number): NpyTypedArray; BYTES_PER_ELEMENT: number };

const KINDS: Record<string, Ctor> = {
  i1: Int8Array as unknown as Ctor, u1: Uint8Array as unknown as Ctor, b1: Uint8Array as unknown as Ctor,
  i2: Int16Array as unknown as Ctor, u2: Uint16Array as unknown as Ctor,
  i4: Int32Array as unknown as Ctor, u4: Uint32Array as unknown as Ctor,
  i8: BigInt64Array as unknown as Ctor, u8: BigUint64Array as unknown as Ctor,
  f4: Float32Array as unknown as Ctor, f8: Float64Array as unknown as Ctor,
};

/** The descr numpy writes for a typed array's element type. */
export function npyDescrOf(data: NpyTypedArray): string {
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return '|u1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof BigUint64Array) return '<u8';
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  throw new TypeError(`npy: unsupported array type ${describe(data)}; pass a typed array (Int8..Float64, BigInt64, BigUint64)`);
}

function describe(v: unknown): string {
  return v !== null && typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

interface SimpleDescr { code: string; bigEndian: boolean; size: number; ctor: Ctor }

function parseSimpleDescr(descr: string, where: string): SimpleDescr {
  const m = /^([<>|=]?)([iufb])([1248])$/.exec(descr);
  const ctor = m ? KINDS[m[2] + m[3]] : undefined;
  if (!m || !ctor || (m[2] === 'f' && m[3] === '1') || (m[2] === 'b' && m[3] !== '1') || (m[2] === 'f' && m[3] === '2')) {
    throw new Error(`${where}: unsupported dtype ${JSON.stringify(descr)}; supported: i1 u1 b1 i2 u2 i4 u4 i8 u8 f4 f8`);
  }
  const size = Number(m[3]);
  return { code: m[2] + m[3], bigEndian: m[1] === '>' && size > 1 || (m[1] === '=' && !HOST_LE && size > 1), size, ctor };
}

// ---------------------------------------------------------------------------------------------
// Header: a Python literal dict. A tiny recursive-descent parser covers everything numpy writes
// (strings, True/False, ints, tuples, lists, dicts) without eval.

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

function parsePyLiteral(text: string, where: string): PyValue {
  let i = 0;
  const err = (msg: string): never => { throw new Error(`${where}: malformed header (${msg} at ${i}): ${text.trim()}`); };
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const value = (): PyValue => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const obj: { [k: string]: PyValue } = {};
      for (;;) {
        ws();
        if (text[i] === '}') { i++; return obj; }
        const k = value();
        if (typeof k !== 'string') err('dict key is not a string');
        ws();
        if (text[i] !== ':') err("expected ':'");
        i++;
        obj[k as string] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') err("expected ',' or '}'");
      }
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const arr: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) { i++; return arr; }
        arr.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) err(`expected ',' or '${close}'`);
      }
    }
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) err('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) return err('unexpected token');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace('L', ''));
  };
  const v = value();
  ws();
  if (i !== text.length) err('trailing text');
  return v;
}

// ---------------------------------------------------------------------------------------------

/** Parses .npy bytes. `where` names the source in error messages. */
export function decodeNpy(bytes: Uint8Array, where = 'npy', opts: ReadNpyOptions = {}): NpyArray {
  if (bytes.byteLength < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw new Error(`${where}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) { headerLen = dv.getUint16(8, true); headerStart = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw new Error(`${where}: truncated .npy header`);
    headerLen = dv.getUint32(8, true); headerStart = 12;
  } else throw new Error(`${where}: unsupported .npy format version ${major}.${bytes[7]} (supported: 1.0, 2.0, 3.0)`);
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.byteLength) throw new Error(`${where}: truncated .npy header`);
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const header = parsePyLiteral(headerText, where);
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${where}: .npy header is not a dict`);
  const { descr, fortran_order: fortran, shape } = header as { [k: string]: PyValue };
  if (typeof fortran !== 'boolean') throw new Error(`${where}: .npy header lacks a boolean 'fortran_order'`);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new Error(`${where}: .npy header has an invalid 'shape'`);
  }
  const dims = shape as number[];
  const count = dims.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(dataStart);

  if (Array.isArray(descr)) {
    return decodeStructured(descr, dims, count, body, fortran, where);
  }
  if (typeof descr !== 'string') throw new Error(`${where}: .npy header lacks 'descr'`);
  const d = parseSimpleDescr(descr, where);
  const need = count * d.size;
  if (body.byteLength < need) {
    throw new Error(`${where}: file is truncated: shape (${dims.join(', ')}) of ${descr} needs ${need} data bytes, found ${body.byteLength}`);
  }
  // Copy into a fresh buffer: gives an aligned typed-array view and detaches from the file buffer.
  const raw = copyBytes(body, need);
  // Stored byte order differs from the host's: swap in place.
  if (d.size > 1 && d.bigEndian === HOST_LE) swapBytes(raw, d.size);
  let data = new d.ctor(raw.buffer, 0, count);
  const canonical = d.code === 'b1' ? '|b1' : (d.size === 1 ? '|' : '<') + d.code;
  let fortranOrder = fortran;
  if (fortran && !opts.keepFortranOrder && dims.length > 1) {
    data = fortranToC(data, dims, d.ctor);
    fortranOrder = false;
  }
  return { data, shape: dims, dtype: canonical, fortranOrder: dims.length > 1 ? fortranOrder : false, fileFortranOrder: fortran };
}

function swapBytes(raw: Uint8Array, size: number): void {
  for (let p = 0; p < raw.length; p += size) {
    for (let a = p, b = p + size - 1; a < b; a++, b--) { const t = raw[a]; raw[a] = raw[b]; raw[b] = t; }
  }
}

/** Reorders column-major data of the given shape into row-major. */
function fortranToC(src: NpyTypedArray, dims: number[], ctor: Ctor): NpyTypedArray {
  const n = src.length;
  const dst = new ctor(n);
  const nd = dims.length;
  // Strides of the Fortran layout, walked with an odometer over C-order indices (no per-element allocation).
  const fStride = new Array<number>(nd);
  let s = 1;
  for (let k = 0; k < nd; k++) { fStride[k] = s; s *= dims[k]; }
  const idx = new Array<number>(nd).fill(0);
  let fPos = 0;
  const d = dst as unknown as { [i: number]: number | bigint };
  const sv = src as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < n; i++) {
    d[i] = sv[fPos];
    for (let k = nd - 1; k >= 0; k--) {
      idx[k]++;
      fPos += fStride[k];
      if (idx[k] < dims[k]) break;
      fPos -= fStride[k] * dims[k];
      idx[k] = 0;
    }
  }
  return dst;
}

function decodeStructured(descr: PyValue[], dims: number[], count: number, body: Uint8Array,
  fortran: boolean, where: string): NpyArray {
  const layout: { name: string; dtype: string; d: SimpleDescr; offset: number }[] = [];
  let recordSize = 0;
  for (const f of descr) {
    if (!Array.isArray(f) || f.length !== 2 || typeof f[0] !== 'string' || typeof f[1] !== 'string') {
      throw new Error(`${where}: unsupported structured dtype field ${JSON.stringify(f)}; only (name, scalar dtype) fields are supported`);
    }
    const d = parseSimpleDescr(f[1], where);
    layout.push({ name: f[0], dtype: f[1], d, offset: recordSize });
    recordSize += d.size;
  }
  const need = count * recordSize;
  if (body.byteLength < need) throw new Error(`${where}: file is truncated: ${count} records of ${recordSize} bytes need ${need} data bytes, found ${body.byteLength}`);
  const raw = copyBytes(body, need);
  const dv = new DataView(raw.buffer);
  const fields: NpyField[] = layout.map(({ name, dtype, d, offset }) => {
    const col = new d.ctor(count);
    const le = !d.bigEndian;
    const c = col as unknown as { [i: number]: number | bigint };
    for (let r = 0; r < count; r++) {
      const p = r * recordSize + offset;
      switch (d.code) {
        case 'i1': c[r] = dv.getInt8(p); break;
        case 'u1': case 'b1': c[r] = dv.getUint8(p); break;
        case 'i2': c[r] = dv.getInt16(p, le); break;
        case 'u2': c[r] = dv.getUint16(p, le); break;
        case 'i4': c[r] = dv.getInt32(p, le); break;
        case 'u4': c[r] = dv.getUint32(p, le); break;
        case 'i8': c[r] = dv.getBigInt64(p, le); break;
        case 'u8': c[r] = dv.getBigUint64(p, le); break;
        case 'f4': c[r] = dv.getFloat32(p, le); break;
        case 'f8': c[r] = dv.getFloat64(p, le); break;
      }
    }
    return { name, dtype, data: col };
  });
  const dtype = `[${layout.map((f) => `('${f.name}', '${f.dtype}')`).join(', ')}]`;
  return { data: raw, shape: dims, dtype, fortranOrder: false, fileFortranOrder: fortran, fields };
}

export function readNpy(file: string, opts: ReadNpyOptions = {}): NpyArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read .npy file (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
  return decodeNpy(bytes, file, opts);
}

// ---------------------------------------------------------------------------------------------

function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Magic, version and a header dict padded with spaces and '\n' so the data starts on a 64-byte boundary. */
function encodeHeader(dictText: string): Uint8Array {
  const enc = new TextEncoder();
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dictText.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dictText.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const text = dictText + ' '.repeat(headerLen - dictText.length - 1) + '\n';
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, headerLen, true); else dv.setUint32(8, headerLen, true);
  out.set(enc.encode(text), prefix);
  return out;
}

function checkShape(shape: readonly number[], length: number, what: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new Error(`${what}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) {
    throw new Error(`${what}: shape (${shape.join(', ')}) holds ${count} values but the data has ${length}`);
  }
}

/** Little-endian bytes of a typed array, without copying on little-endian hosts. */
function leBytes(data: NpyTypedArray): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LE || data.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

export interface EncodeNpyOptions {
  /** Only sets the header flag: `data` must already be in column-major order. */
  fortranOrder?: boolean;
  /** Write a Uint8Array as numpy bool ('|b1'). */
  bool?: boolean;
}

/** Encodes a typed array as .npy bytes; `shape` defaults to 1-D. */
export function encodeNpy(data: NpyTypedArray, shape: readonly number[] = [data.length], opts: EncodeNpyOptions = {}): Uint8Array {
  const descr = opts.bool ? '|b1' : npyDescrOf(data);
  if (opts.bool && !(data instanceof Uint8Array)) throw new TypeError('encodeNpy: bool output needs a Uint8Array of 0/1 values');
  checkShape(shape, data.length, 'encodeNpy');
  const header = encodeHeader(`{'descr': '${descr}', 'fortran_order': ${opts.fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText(shape)}, }`);
  const body = leBytes(data);
  const out = new Uint8Array(header.byteLength + body.byteLength);
  out.set(header, 0);
  out.set(body, header.byteLength);
  return out;
}

/** Writes `bytes` to `file` through a temporary file in the same folder and a rename, so readers never see a partial file. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* temp file may not exist */ }
    throw e;
  }
}

export function writeNpy(file: string, data: NpyTypedArray, shape: readonly number[] = [data.length], opts: EncodeNpyOptions = {}): void {
  writeFileAtomic(file, encodeNpy(data, shape, opts));
}

export interface StructuredFieldSpec {
  name: string;
  dtype: '<i8' | string;
}

/**
 * A 1-D structured array (numpy record array), e.g. SpikeInterface's spikes.npy with fields
 * sample_index, unit_index, segment_index ('<i8' each). Records are packed in field order.
 */
export function encodeNpyStructured(fields: readonly StructuredFieldSpec[], columns: readonly NpyTypedArray[]): Uint8Array {
  if (fields.length === 0 || fields.length !== columns.length) {
    throw new Error(`encodeNpyStructured: need one column per field, got ${fields.length} fields and ${columns.length} columns`);
  }
  const n = columns[0].length;
  const specs = fields.map((f, k) => {
    if (typeof f.name !== 'string' || f.name.length === 0 || /['"\\]/.test(f.name)) {
      throw new Error(`encodeNpyStructured: field ${k} has an invalid name ${JSON.stringify(f.name)}`);
    }
    const d = parseSimpleDescr(f.dtype, 'encodeNpyStructured');
    const col = columns[k];
    if (!(col instanceof d.ctor)) {
      throw new TypeError(`encodeNpyStructured: column '${f.name}' is a ${describe(col)} but its dtype ${f.dtype} needs a ${d.ctor.name ?? 'matching typed array'}`);
    }
    if (col.length !== n) throw new Error(`encodeNpyStructured: column '${f.name}' has ${col.length} values, column '${fields[0].name}' has ${n}`);
    return { name: f.name, descr: d.code === 'b1' ? '|b1' : (d.size === 1 ? '|' : '<') + d.code, d, col };
  });
  const recordSize = specs.reduce((a, s) => a + s.d.size, 0);
  const descrText = `[${specs.map((s) => `('${s.name}', '${s.descr}')`).join(', ')}]`;
  const header = encodeHeader(`{'descr': ${descrText}, 'fortran_order': False, 'shape': ${shapeText([n])}, }`);
  const out = new Uint8Array(header.byteLength + n * recordSize);
  out.set(header, 0);
  const dv = new DataView(out.buffer, header.byteLength);
  let offset = 0;
  for (const { d, col } of specs) {
    const c = col as unknown as { [i: number]: number & bigint };
    for (let r = 0; r < n; r++) {
      const p = r * recordSize + offset;
      switch (d.code) {
        case 'i1': dv.setInt8(p, c[r]); break;
        case 'u1': case 'b1': dv.setUint8(p, c[r]); break;
        case 'i2': dv.setInt16(p, c[r], true); break;
        case 'u2': dv.setUint16(p, c[r], true); break;
        case 'i4': dv.setInt32(p, c[r], true); break;
        case 'u4': dv.setUint32(p, c[r], true); break;
        case 'i8': dv.setBigInt64(p, c[r], true); break;
        case 'u8': dv.setBigUint64(p, c[r], true); break;
        case 'f4': dv.setFloat32(p, c[r], true); break;
        case 'f8': dv.setFloat64(p, c[r], true); break;
      }
    }
    offset += d.size;
  }
  return out;
}

export function writeNpyStructured(file: string, fields: readonly StructuredFieldSpec[], columns: readonly NpyTypedArray[]): void {
  writeFileAtomic(file, encodeNpyStructured(fields, columns));
}

/** A copy in a fresh ArrayBuffer at offset 0 (Buffer#slice would return a view into the file buffer). */
function copyBytes(src: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(src.subarray(0, length));
  return out;
}
