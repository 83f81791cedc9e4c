/**
 * Reading the raw bytes of a recording's samples from its file: the one implementation behind
 * Recording's reads on the calling thread and the CPU filter's worker threads, which read their
 * own input rows (pass 1 and 2 then do no file I/O on the calling thread; at 32 channels it is
 * the busiest thread of the sort). Reads open the file read-only and never write.
 */
import * as fs from 'node:fs';

/** Where a recording's samples lie in its file; plain data, so it can be posted to a worker. */
export interface RawFileLayout {
  binaryFile: string;
  /** File position of sample 0. */
  dataStart: number;
  /** File size in bytes when the recording was opened (for the truncation message). */
  fileSize: number;
  /** Bytes of one item. */
  itemSize: number;
  /** Sorted channels per sample. */
  numChannels: number;
  /** Bytes of one sample in the file (all its columns). */
  fileBytesPerSample: number;
  /** File column of each sorted channel, or null when the file holds exactly the sorted channels in order. */
  channelColumns: Int32Array | null;
}

/** Reads are split into chunks of about this many bytes so memory stays bounded for any range. */
export const READ_CHUNK_BYTES = 8 * 1024 * 1024;
/** fs.readSync refuses lengths above 2^31-1; stay well below. */
export const MAX_READ_CALL_BYTES = 1 << 30;

export function truncatedFileError(layout: RawFileLayout, position: number): Error {
  return new Error(`Recording: unexpected end of ${layout.binaryFile} at byte ${position} ` +
    `(the file had ${layout.fileSize} bytes when opened; was it truncated?)`);
}

/** Fills `target` from the file at `position`. */
export function readFully(layout: RawFileLayout, fd: number, target: Uint8Array, position: number): void {
  let got = 0;
  while (got < target.byteLength) {
    const len = Math.min(target.byteLength - got, MAX_READ_CALL_BYTES);
    const n = fs.readSync(fd, target, got, len, position + got);
    if (n === 0) throw truncatedFileError(layout, position + got);
    got += n;
  }
}

/** Copies the sorted channels' columns of n file samples in `src` into `dst` (packed, numChannels per sample). */
export function packColumns(layout: RawFileLayout, src: Uint8Array, n: number, dst: Uint8Array): Uint8Array {
  const cols = layout.channelColumns!;
  const size = layout.itemSize;
  const fileBps = layout.fileBytesPerSample;
  const C = layout.numChannels;
  for (let s = 0; s < n; s++) {
    const from = s * fileBps;
    const to = s * C * size;
    for (let c = 0; c < C; c++) {
      const a = from + cols[c] * size;
      const b = to + c * size;
      for (let k = 0; k < size; k++) dst[b + k] = src[a + k];
    }
  }
  return dst.subarray(0, n * C * size);
}

/** Reusable whole-file-sample buffer for channel subsets (at most READ_CHUNK_BYTES, at least one sample). */
export class SubsetScratch {
  private buf: Uint8Array | null = null;

  get(layout: RawFileLayout, numSamples: number): Uint8Array {
    const per = Math.max(1, Math.floor(READ_CHUNK_BYTES / layout.fileBytesPerSample));
    const bytes = Math.min(numSamples, per) * layout.fileBytesPerSample;
    if (this.buf === null || this.buf.byteLength < bytes) this.buf = new Uint8Array(bytes);
    return this.buf;
  }
}

/**
 * The sorted channels' raw bytes of samples [start, start + numSamples) into `out` at byte
 * `outOffset` (numSamples x numChannels x itemSize bytes). The caller checks the range.
 */
export function readSampleBytes(layout: RawFileLayout, start: number, numSamples: number, out: Uint8Array, outOffset: number, scratch: SubsetScratch): void {
  const bytesPerSample = layout.numChannels * layout.itemSize;
  const count = numSamples * bytesPerSample;
  if (count === 0) return;
  const fd = fs.openSync(layout.binaryFile, 'r');
  try {
    if (!layout.channelColumns) {
      readFully(layout, fd, out.subarray(outOffset, outOffset + count), layout.dataStart + start * bytesPerSample);
      return;
    }
    const buf = scratch.get(layout, numSamples);
    const per = Math.floor(buf.byteLength / layout.fileBytesPerSample);
    for (let done = 0; done < numSamples;) {
      const n = Math.min(per, numSamples - done);
      const bytes = buf.subarray(0, n * layout.fileBytesPerSample);
      readFully(layout, fd, bytes, layout.dataStart + (start + done) * layout.fileBytesPerSample);
      const o = outOffset + done * bytesPerSample;
      packColumns(layout, bytes, n, out.subarray(o, o + n * bytesPerSample));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}
