import * as fs from 'node:fs';
import * as path from 'node:path';
import { type DataType, ParameterError, decodeSamples, describeValue, itemSize, parseDataType } from './dtype.js';
import type { RecordingOptions } from './recording-options.js';
import { spikeGLXRecordingOptions, type SpikeGLXOptions } from './spikeglx.js';
import { openEphysRecordingOptions, type OpenEphysOptions } from './openephys.js';
import { MAX_READ_CALL_BYTES, READ_CHUNK_BYTES, SubsetScratch, packColumns, readFully, readSampleBytes, truncatedFileError, type RawFileLayout } from './raw-file.js';

export { ParameterError } from './dtype.js';

export type { RecordingOptions } from './recording-options.js';

export interface SampleRange {
  start: number;
  numSamples: number;
}

function fail(parameter: string, value: unknown, message: string): never {
  throw new ParameterError(parameter, value, message);
}

function nonNegativeInteger(name: string, value: unknown, fallback: number, fix: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(name, value, `${name} must be a non-negative integer, got ${describeValue(value)}; ${fix}`);
  }
  return value;
}

/**
 * Validates geometry (C x 2 finite numbers) and rounds it to float32, the precision every later
 * stage uses, so that distances computed anywhere agree.
 */
export function validateGeometry(value: unknown, paramName = 'probeGeometry'): Float32Array {
  const fix = 'pass one [x, y] pair in µm per channel, in file channel order (e.g. [[0, 0], [0, 20], ...])';
  if (!Array.isArray(value)) fail(paramName, value, `${paramName} must be an array of [x, y] rows, got ${describeValue(value)}; ${fix}`);
  if (value.length < 1) fail(paramName, value, `${paramName} is empty; it needs at least one channel; ${fix}`);
  const out = new Float32Array(value.length * 2);
  for (let c = 0; c < value.length; c++) {
    const row: unknown = value[c];
    const isRow = Array.isArray(row) || (ArrayBuffer.isView(row) && !(row instanceof DataView));
    const len = isRow ? (row as ArrayLike<unknown>).length : -1;
    if (!isRow || len !== 2) {
      fail(paramName, value, `${paramName} must be C x 2 ([x, y] per channel), but row ${c} is ` +
        `${isRow ? `of length ${len}` : describeValue(row)}; ${fix}`);
    }
    for (let k = 0; k < 2; k++) {
      const v = (row as ArrayLike<unknown>)[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isFinite(Math.fround(v))) {
        fail(paramName, value, `${paramName}[${c}][${k}] must be a finite number (float32 range), got ${describeValue(v)}; ${fix}`);
      }
      out[2 * c + k] = v;
    }
  }
  return out;
}

/**
 * A raw multi-channel recording on disk. Construction validates every input rule (spec §1) and
 * opens the file read-only once to prove it is readable; reads open the file read-only, read just
 * the requested range in bounded chunks, and never write.
 */
export class Recording {
  readonly binaryFile: string;
  readonly dataType: DataType;
  readonly numSamples: number;
  readonly numChannels: number;
  readonly samplingFrequency: number;
  readonly samplesPerMs: number;
  readonly header: number;
  readonly sampleOffset: number;
  readonly recordingOffset: number;
  /** [x0, y0, x1, y1, ...] in float32. */
  readonly geometry: Float32Array;
  /** Bytes of one item. */
  readonly itemSize: number;
  /** Bytes of one sample of the sorted channels (what readBytes returns per sample). */
  readonly bytesPerSample: number;
  /** File position of sample 0: header + sampleOffset * fileBytesPerSample. */
  readonly dataStart: number;
  /** File size in bytes at construction. */
  readonly fileSize: number;
  /** Columns per sample in the file (>= numChannels). */
  readonly fileChannels: number;
  /** Bytes of one sample in the file (all fileChannels columns). */
  readonly fileBytesPerSample: number;
  /** File column of each sorted channel, or null when the file holds exactly the sorted channels in order. */
  readonly channelColumns: Int32Array | null;
  /** µV per stored unit per sorted channel, when the format says it (SpikeGLX, Open Ephys). */
  readonly gainToMicrovolts: Float64Array | null;

  private scratch: Uint8Array | null = null;
  private packed: Uint8Array | null = null;
  private readonly subsetScratch = new SubsetScratch();

  constructor(options: RecordingOptions) {
    if (options === null || typeof options !== 'object') {
      fail('options', options, `Recording needs an options object { binaryFile, dataType, probeGeometry, samplingFrequency }, got ${describeValue(options)}`);
    }
    const { binaryFile } = options;
    if (typeof binaryFile !== 'string' || binaryFile.length === 0) {
      fail('binaryFile', binaryFile, `binaryFile must be the path of the raw recording file, got ${describeValue(binaryFile)}`);
    }
    const resolved = path.resolve(binaryFile);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(resolved);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fail('binaryFile', binaryFile, code === 'ENOENT'
        ? `binaryFile ${describeValue(binaryFile)} does not exist (resolved to ${resolved}); check the path`
        : `binaryFile ${describeValue(binaryFile)} cannot be accessed (${code ?? String(e)}); check the path and its permissions`);
    }
    if (!stat.isFile()) {
      fail('binaryFile', binaryFile, `binaryFile ${describeValue(binaryFile)} is not a regular file; pass the path of the raw recording file`);
    }
    try {
      fs.closeSync(fs.openSync(resolved, 'r'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fail('binaryFile', binaryFile, `binaryFile ${describeValue(binaryFile)} cannot be opened for reading (${code ?? String(e)}); check its permissions`);
    }

    const dataType = parseDataType(options.dataType, 'dataType');
    const geometry = validateGeometry(options.probeGeometry, 'probeGeometry');
    const numChannels = geometry.length / 2;

    const fsHz = options.samplingFrequency;
    if (typeof fsHz !== 'number' || !Number.isFinite(fsHz) || fsHz < 1000) {
      fail('samplingFrequency', fsHz, `samplingFrequency must be a finite number >= 1000 (Hz), got ${describeValue(fsHz)}; pass the recording's sampling rate in Hz (e.g. 30000)`);
    }

    const header = nonNegativeInteger('header', options.header, 0, 'pass the number of bytes before the first sample (0 when the file has no header)');
    const sampleOffset = nonNegativeInteger('sampleOffset', options.sampleOffset, 0, 'pass the number of whole samples to skip after the header (0 to skip none)');
    const recordingOffset = options.recordingOffset ?? 0;
    if (typeof recordingOffset !== 'number' || !Number.isSafeInteger(recordingOffset)) {
      fail('recordingOffset', recordingOffset, `recordingOffset must be an integer number of samples (any sign), got ${describeValue(recordingOffset)}`);
    }

    const size = itemSize(dataType);
    const { fileChannels, columns } = checkChannelSubset(options.fileChannels, options.channels, numChannels);
    const gain = checkGain(options.gainToMicrovolts, numChannels);
    // Every file offset below is in whole file samples; bytesPerSample is what reads return.
    const bytesPerSample = size * fileChannels;
    const fileSize = stat.size;
    if (fileSize === 0) {
      fail('binaryFile', binaryFile, `binaryFile ${describeValue(binaryFile)} is empty (0 bytes): it holds no samples; pass the raw recording file (check the path, or whether the acquisition wrote any data)`);
    }
    const dataStart = header + sampleOffset * bytesPerSample;
    if (!(dataStart < fileSize)) {
      // Blame header when it alone reaches the end, otherwise the sample offset that pushes past it.
      const blameHeader = header >= fileSize || sampleOffset === 0;
      const which = sampleOffset > 0 ? 'header + sampleOffset * channels * itemsize' : 'header';
      fail(blameHeader ? 'header' : 'sampleOffset', blameHeader ? header : sampleOffset,
        `offset exceeds file size: ${which} = ${header} + ${sampleOffset} * ${fileChannels} * ${size} = ${dataStart} bytes, ` +
        `but ${describeValue(binaryFile)} has ${fileSize} bytes; the offset must be smaller than the file (check header, sampleOffset, the number of channels and dataType)`);
    }
    const available = fileSize - dataStart;
    const wholeSamples = Math.floor(available / bytesPerSample);
    let numSamples: number;
    if (options.numSamples === undefined) {
      if (available % bytesPerSample !== 0) {
        // The usual cause is a probe with fewer or more sites than the file has columns (or the
        // wrong dtype): name the probe, and the column counts the file size would allow.
        const fits = [16, 32, 64, 96, 128, 192, 256, 384, 385, 512, 768, 1024, 1536, fileChannels * 2].filter((c) => c !== fileChannels && available % (c * size) === 0);
        const hint = fits.length ? ` (${available} bytes are a whole number of ${dataType} samples for ${fits.slice(0, 4).join(', ')} columns)` : '';
        fail(options.fileChannels === undefined ? 'probeGeometry' : 'fileChannels', fileChannels,
          `the probe has ${fileChannels} sites but the ${available} bytes of ${describeValue(binaryFile)} after the offset are not a whole number of ` +
          `${fileChannels}-column samples (${fileChannels} x ${size} bytes of ${dataType} = ${bytesPerSample} bytes per sample; ${available % bytesPerSample} bytes left over)${hint}; ` +
          `pass a probe with one site per file column, or check dataType and header (or pass numSamples, at most ${wholeSamples}, to read only part of the file)`);
      }
      numSamples = wholeSamples;
    } else {
      numSamples = options.numSamples;
      if (typeof numSamples !== 'number' || !Number.isSafeInteger(numSamples) || numSamples <= 0) {
        fail('numSamples', numSamples, `numSamples must be a positive integer, got ${describeValue(numSamples)}; omit it to infer it from the file size`);
      }
      if (numSamples > wholeSamples) {
        fail('numSamples', numSamples,
          `numSamples ${numSamples} does not fit in the file: ${describeValue(binaryFile)} holds ${wholeSamples} whole samples ` +
          `of ${fileChannels} columns x ${dataType} after the offset of ${dataStart} bytes; pass numSamples <= ${wholeSamples}`);
      }
    }

    this.binaryFile = resolved;
    this.dataType = dataType;
    this.numSamples = numSamples;
    this.numChannels = numChannels;
    this.samplingFrequency = fsHz;
    this.samplesPerMs = Math.floor(fsHz / 1000);
    this.header = header;
    this.sampleOffset = sampleOffset;
    this.recordingOffset = recordingOffset;
    this.geometry = geometry;
    this.itemSize = size;
    this.bytesPerSample = size * numChannels;
    this.fileChannels = fileChannels;
    this.fileBytesPerSample = bytesPerSample;
    this.channelColumns = columns;
    this.gainToMicrovolts = gain;
    this.dataStart = dataStart;
    this.fileSize = fileSize;
  }

  /**
   * The AP channels of a SpikeGLX recording (.bin or .meta path): rate, channel count, saved
   * subset, geometry and gains come from the .meta; the sync column is read past, not sorted.
   */
  static fromSpikeGLX(binOrMetaPath: string, options: SpikeGLXOptions = {}): Recording {
    return new Recording(spikeGLXRecordingOptions(binOrMetaPath, options));
  }

  /**
   * One continuous stream of an Open Ephys binary recording (structure.oebin, or the folder
   * holding it); `stream` names it when there are several.
   */
  static fromOpenEphys(oebinOrFolder: string, options: OpenEphysOptions = {}): Recording {
    return new Recording(openEphysRecordingOptions(oebinOrFolder, options));
  }

  /** A fresh copy of the geometry as C rows of [x, y], rounded to float32. */
  get probeGeometry(): number[][] {
    const rows: number[][] = new Array(this.numChannels);
    for (let c = 0; c < this.numChannels; c++) rows[c] = [this.geometry[2 * c], this.geometry[2 * c + 1]];
    return rows;
  }

  /** Duration in seconds. */
  get durationSeconds(): number {
    return this.numSamples / this.samplingFrequency;
  }

  /** The same recording cut to its first `numSamples` samples (same file and layout, nothing copied or reopened). */
  prefix(numSamples: number): Recording {
    if (!Number.isSafeInteger(numSamples) || numSamples < 1 || numSamples > this.numSamples) {
      throw new RangeError(`Recording.prefix: numSamples must be an integer in 1..${this.numSamples}, got ${describeValue(numSamples)}`);
    }
    const r = Object.create(Recording.prototype) as Recording;
    Object.assign(r, this, { numSamples, scratch: null, packed: null, subsetScratch: new SubsetScratch() });
    return r;
  }

  private checkRange(start: unknown, numSamples: unknown, what: string): void {
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(`${what}: start must be a non-negative integer sample index, got ${describeValue(start)}`);
    }
    if (typeof numSamples !== 'number' || !Number.isSafeInteger(numSamples) || numSamples < 0) {
      throw new RangeError(`${what}: numSamples must be a non-negative integer, got ${describeValue(numSamples)}`);
    }
    if (start + numSamples > this.numSamples) {
      throw new RangeError(`${what}: samples [${start}, ${start + numSamples}) are past the end of the recording, ` +
        `which has ${this.numSamples} samples (valid start + numSamples <= ${this.numSamples})`);
    }
  }

  /** Samples [start, start + numSamples) as float32, sample-major (numSamples x C). */
  read(range: SampleRange): Float32Array {
    const { start, numSamples } = range ?? ({} as SampleRange);
    this.checkRange(start, numSamples, 'Recording.read');
    const out = new Float32Array(numSamples * this.numChannels);
    this.readInto(start, numSamples, out, 0);
    return out;
  }

  /**
   * Decodes samples [start, start + numSamples) into out[outOffset .. outOffset + numSamples*C),
   * sample-major, without allocating per call (a reusable chunk buffer of at most 8 MiB is kept).
   */
  readInto(start: number, numSamples: number, out: Float32Array, outOffset = 0): void {
    this.checkRange(start, numSamples, 'Recording.readInto');
    const count = numSamples * this.numChannels;
    if (!(out instanceof Float32Array)) throw new TypeError(`Recording.readInto: out must be a Float32Array, got ${describeValue(out)}`);
    if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + count > out.length) {
      throw new RangeError(`Recording.readInto: out has ${out.length} values, cannot hold ${count} values at offset ${describeValue(outOffset)}`);
    }
    if (numSamples === 0) return;
    const fileBps = this.fileBytesPerSample;
    const samplesPerChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / fileBps));
    const chunkBytes = Math.min(numSamples, samplesPerChunk) * fileBps;
    if (this.scratch === null || this.scratch.byteLength < chunkBytes) {
      // Own ArrayBuffer at offset 0, so decodeSamples always gets aligned views.
      this.scratch = new Uint8Array(chunkBytes);
    }
    const scratch = this.scratch;
    const fd = fs.openSync(this.binaryFile, 'r');
    try {
      let done = 0;
      while (done < numSamples) {
        const n = Math.min(numSamples - done, Math.floor(scratch.byteLength / fileBps));
        const bytes = scratch.subarray(0, n * fileBps);
        readFully(this, fd, bytes, this.dataStart + (start + done) * fileBps);
        const packed = this.channelColumns ? packColumns(this, bytes, n, this.packedScratch(n)) : bytes;
        decodeSamples(packed, this.dataType, out, outOffset + done * this.numChannels);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Raw little-endian file bytes of samples [start, start + numSamples) (e.g. for GPU upload). */
  readBytes(range: SampleRange): Uint8Array {
    const { start, numSamples } = range ?? ({} as SampleRange);
    this.checkRange(start, numSamples, 'Recording.readBytes');
    const out = new Uint8Array(numSamples * this.bytesPerSample);
    this.readBytesInto(start, numSamples, out, 0);
    return out;
  }

  /** Raw file bytes of samples [start, start + numSamples) into out at byte offset outOffset. */
  readBytesInto(start: number, numSamples: number, out: Uint8Array, outOffset = 0): void {
    this.checkRange(start, numSamples, 'Recording.readBytesInto');
    const count = numSamples * this.bytesPerSample;
    if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + count > out.byteLength) {
      throw new RangeError(`Recording.readBytesInto: out has ${out.byteLength} bytes, cannot hold ${count} bytes at offset ${describeValue(outOffset)}`);
    }
    readSampleBytes(this, start, numSamples, out, outOffset, this.subsetScratch);
  }

  /** Where the samples lie in the file, as plain data (a worker thread reads with it: formats/raw-file.ts). */
  rawLayout(): RawFileLayout {
    const { binaryFile, dataStart, fileSize, itemSize, numChannels, fileBytesPerSample, channelColumns } = this;
    return { binaryFile, dataStart, fileSize, itemSize, numChannels, fileBytesPerSample, channelColumns };
  }

  /** A reusable buffer for n packed samples (decoding needs them contiguous). */
  private packedScratch(n: number): Uint8Array {
    const bytes = n * this.bytesPerSample;
    if (this.packed === null || this.packed.byteLength < bytes) this.packed = new Uint8Array(bytes);
    return this.packed;
  }

  /**
   * As readBytesInto, without blocking the calling thread: the read runs on libuv's thread
   * pool (so it overlaps GPU work and host computation). Reuse `handle` (from
   * `fs.promises.open(binaryFile, 'r')`) across calls to skip the open/close; without one the
   * file is opened and closed here.
   */
  async readBytesIntoAsync(start: number, numSamples: number, out: Uint8Array, outOffset = 0, handle?: fs.promises.FileHandle): Promise<void> {
    this.checkRange(start, numSamples, 'Recording.readBytesIntoAsync');
    const count = numSamples * this.bytesPerSample;
    if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + count > out.byteLength) {
      throw new RangeError(`Recording.readBytesIntoAsync: out has ${out.byteLength} bytes, cannot hold ${count} bytes at offset ${describeValue(outOffset)}`);
    }
    if (count === 0) return;
    const fh = handle ?? await fs.promises.open(this.binaryFile, 'r');
    try {
      if (this.channelColumns) {
        // Whole file samples are read into an own buffer per call (async reads may overlap,
        // so the shared scratch cannot be used), then the selected columns are packed.
        const per = Math.max(1, Math.floor(READ_CHUNK_BYTES / this.fileBytesPerSample));
        const tmp = new Uint8Array(Math.min(numSamples, per) * this.fileBytesPerSample);
        for (let done = 0; done < numSamples;) {
          const n = Math.min(per, numSamples - done);
          const want = n * this.fileBytesPerSample;
          const pos = this.dataStart + (start + done) * this.fileBytesPerSample;
          let got = 0;
          while (got < want) {
            const { bytesRead } = await fh.read(tmp, got, want - got, pos + got);
            if (bytesRead === 0) throw truncatedFileError(this, pos + got);
            got += bytesRead;
          }
          const o = outOffset + done * this.bytesPerSample;
          packColumns(this, tmp, n, out.subarray(o, o + n * this.bytesPerSample));
          done += n;
        }
        return;
      }
      const position = this.dataStart + start * this.bytesPerSample;
      let got = 0;
      while (got < count) {
        const len = Math.min(count - got, MAX_READ_CALL_BYTES);
        const { bytesRead } = await fh.read(out, outOffset + got, len, position + got);
        if (bytesRead === 0) throw truncatedFileError(this, position + got);
        got += bytesRead;
      }
    } finally {
      if (!handle) await fh.close();
    }
  }

  /** Plain options that reconstruct an equivalent Recording (e.g. in a worker thread). */
  toJSON(): RecordingOptions & { numSamples: number; header: number; sampleOffset: number; recordingOffset: number; dataType: DataType } {
    const subset = this.channelColumns
      ? { fileChannels: this.fileChannels, channels: Array.from(this.channelColumns) }
      : {};
    const gain = this.gainToMicrovolts ? { gainToMicrovolts: Array.from(this.gainToMicrovolts) } : {};
    return {
      ...subset,
      ...gain,
      binaryFile: this.binaryFile,
      dataType: this.dataType,
      probeGeometry: this.probeGeometry,
      samplingFrequency: this.samplingFrequency,
      numSamples: this.numSamples,
      header: this.header,
      sampleOffset: this.sampleOffset,
      recordingOffset: this.recordingOffset,
    };
  }
}

/**
 * Validates fileChannels/channels. Returns null columns when the file holds exactly the
 * sorted channels in order, so the common case keeps its direct reads.
 */
function checkChannelSubset(fileChannels: unknown, channels: unknown, numChannels: number): { fileChannels: number; columns: Int32Array | null } {
  if (fileChannels === undefined && channels === undefined) return { fileChannels: numChannels, columns: null };
  const total = fileChannels ?? numChannels;
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 1) {
    fail('fileChannels', fileChannels, `fileChannels must be a positive integer (the columns per sample in the file), got ${describeValue(fileChannels)}`);
  }
  let cols: number[];
  if (channels === undefined) {
    if (total < numChannels) {
      fail('fileChannels', total, `fileChannels ${total} is less than the ${numChannels} channels of probeGeometry; pass the file's column count, or channels to pick columns`);
    }
    cols = Array.from({ length: numChannels }, (_, c) => c);
  } else {
    if (!Array.isArray(channels) || channels.length !== numChannels) {
      fail('channels', channels, `channels must list the file column of each of the ${numChannels} probeGeometry rows, got ${Array.isArray(channels) ? `${channels.length} entries` : describeValue(channels)}`);
    }
    cols = channels as number[];
  }
  const seen = new Uint8Array(total);
  cols.forEach((c, k) => {
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0 || c >= total) {
      fail('channels', channels, `channels[${k}] is ${describeValue(c)}; each must be a file column in 0..${total - 1} (fileChannels = ${total})`);
    }
    if (seen[c]) fail('channels', channels, `channels lists column ${c} twice; each sorted channel needs its own column`);
    seen[c] = 1;
  });
  const identity = total === numChannels && cols.every((c, k) => c === k);
  return { fileChannels: total, columns: identity ? null : Int32Array.from(cols) };
}

function checkGain(gain: unknown, numChannels: number): Float64Array | null {
  if (gain === undefined) return null;
  const values = typeof gain === 'number' ? new Array<number>(numChannels).fill(gain) : gain;
  if (!Array.isArray(values) || values.length !== numChannels || values.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
    fail('gainToMicrovolts', gain, `gainToMicrovolts must be a positive number or one positive number per channel (${numChannels}), got ${describeValue(gain)}`);
  }
  return Float64Array.from(values as number[]);
}
