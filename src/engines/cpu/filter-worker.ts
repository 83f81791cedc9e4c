/**
 * Worker thread body of the CPU backend: runs `filterBlocksCpu` on shared memory.
 * Destination arrays live in SharedArrayBuffers, so a job message carries only offsets and
 * each worker writes its own disjoint ms range. The input is either a shared buffer the
 * calling thread read or, for a plain file, the rows the worker reads itself.
 */
import { parentPort } from 'node:worker_threads';
import { FilterScratch, cpuGridMs, cpuInputRange, filterBlocksCpu, gridStartMs, type SampleArray } from './filter.js';
import type { FilterJob } from './pool.js';
import { SubsetScratch, readSampleBytes } from '../../formats/raw-file.js';
import { WasmFilterState, filterAreaBytes } from './filter-wasm.js';
import { copyMinimaOut, type FilteredBuffer } from '../../core/window.js';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The nice value of this thread (Linux; elsewhere threads keep their priority): on a machine
 * whose cores are all busy the threads that sort a segment (the calling thread, the sort
 * workers) then get the cores before the filter, whose requests are mostly filtered ahead of
 * need: pass 2's windows of later segments, pass 1 past the boundaries already known. The filter
 * still gets every core nothing else wants (pass 1's first window, where the sort waits for it).
 * Measured on 2 cores, alternating: np384 x 60 s 3.71/3.73/3.79 -> 3.63/3.59/3.60 s (the
 * segments' sorts 1.8 -> 1.35 s), np2-1536 20.04/19.67 -> 19.79/19.63 s (10.6 -> 9.5 s),
 * linear32 within noise.
 */
export const FILTER_THREAD_NICE = 10;

function lowerPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    // /proc/thread-self -> <pid>/task/<tid>; setpriority on a thread id sets that thread's nice value only.
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), FILTER_THREAD_NICE);
  } catch {
    // Not allowed or not available: the thread runs at its normal priority.
  }
}
lowerPriority();

const scratch = new FilterScratch();
const subset = new SubsetScratch();
/** The rows a `read` job reads, one piece at a time (FilterJob.read.pieceBytes), reused (grown as needed). */
let rowBytes = new Uint8Array(0);

/** Rows [start, start + rows) of the job's file, read here. */
function readInput(job: FilterJob, start: number, rows: number): SampleArray {
  const layout = job.read!.layout;
  const bytes = rows * layout.numChannels * layout.itemSize;
  if (rowBytes.byteLength < bytes) rowBytes = new Uint8Array(Math.max(bytes, Math.floor(rowBytes.byteLength * 1.25)));
  readSampleBytes(layout, start, rows, rowBytes, 0, subset);
  return view(job.kind, rowBytes.buffer, 0, rows * layout.numChannels);
}

/**
 * Byte offset of this worker's area in the job's window when the in-place kernels will run there
 * and it holds one grid block's rows (int16, uint16, float32 input into a window with samples);
 * else null.
 */
function areaInput(job: FilterJob): number | null {
  const a = job.filterAreas;
  if (!a || !job.wasm || job.area === undefined || job.area < 0 || job.area >= a.count || job.data.byteLength === 0) return null;
  if (job.kind !== 'int16' && job.kind !== 'uint16' && job.kind !== 'float32') return null;
  if (a.bytes < filterAreaBytes(job.numChannels, job.samplesPerMs)) return null;
  return a.offset + job.area * a.bytes;
}

/** Rows [start, start + rows) of the job's file, read straight into its window's memory at `base`. */
function readIntoArea(job: FilterJob, base: number, start: number, rows: number): SampleArray {
  const layout = job.read!.layout;
  const mem = job.filterAreas!.memory.buffer;
  readSampleBytes(layout, start, rows, new Uint8Array(mem, base, rows * layout.numChannels * layout.itemSize), 0, subset);
  return view(job.kind, mem, base, rows * layout.numChannels);
}

/**
 * The integer kernel's input region in its own memory, where a minima-only int16 / uint16 job
 * (pass 1) reads its rows one grid block at a time (saves a copy of every input byte: ~0.3 s
 * of each filter thread at 1536 channels x 60 s); else null.
 */
function kernelInput(job: FilterJob, dest: FilteredBuffer): Uint8Array | null {
  if (!job.wasm || (job.kind !== 'int16' && job.kind !== 'uint16')) return null;
  scratch.wasm ??= new WasmFilterState();
  return scratch.wasm.kernelInput(dest, job.kind === 'uint16');
}

function minimaCopyViews(k: NonNullable<FilterJob['minimaCopy']>): NonNullable<FilteredBuffer['minimaCopy']> {
  return {
    minVal: new Float32Array(k.minVal, k.minValByteOffset, k.length),
    minPos: k.minPosBytes === 1 ? new Uint8Array(k.minPos, k.minPosByteOffset, k.length) : new Int32Array(k.minPos, k.minPosByteOffset, k.length),
  };
}

function view(kind: FilterJob['kind'], buf: ArrayBufferLike, offset: number, length: number): SampleArray {
  switch (kind) {
    case 'int16': return new Int16Array(buf, offset, length);
    case 'uint16': return new Uint16Array(buf, offset, length);
    case 'int8': return new Int8Array(buf, offset, length);
    case 'uint8': return new Uint8Array(buf, offset, length);
    default: return new Float32Array(buf, offset, length);
  }
}

parentPort!.on('message', (job: FilterJob) => {
  try {
    const dest: FilteredBuffer = {
      numChannels: job.numChannels,
      samplesPerMs: job.samplesPerMs,
      capacityMs: job.capacityMs,
      // An empty data buffer is a minima-only window (core/window.ts allocateMinimaBuffer).
      data: new Float32Array(job.data, job.dataByteOffset, job.data.byteLength === 0 ? 0 : job.capacityMs * job.numChannels * job.samplesPerMs),
      minVal: new Float32Array(job.minVal, job.minValByteOffset, job.capacityMs * job.numChannels),
      minPos: new Int32Array(job.minPos, job.minPosByteOffset, job.capacityMs * job.numChannels),
      ...(job.firstSamples ? { firstSamples: new Float32Array(job.firstSamples, job.firstSamplesByteOffset, job.capacityMs * job.numChannels) } : {}),
      ...(job.exactBelow ? { exactBelow: job.exactBelow } : {}),
      ...(job.filterAreas ? { filterAreas: job.filterAreas } : {}),
      ...(job.minimaCopy ? { minimaCopy: minimaCopyViews(job.minimaCopy) } : {}),
    };
    scratch.useWasm = job.wasm;
    scratch.area = job.area ?? -1;
    if (!job.read) {
      const input = view(job.kind, job.input!, job.inputByteOffset!, job.inputLength!);
      filterBlocksCpu(input, job.inputStart, job.firstMs, job.numMs, job.polarity, dest, job.destMs, 0, job.numChannels, scratch);
      copyMinimaOut(dest, job.destMs, job.destMs + job.numMs);
    } else {
      // Whole grid blocks per piece, at least one; into this thread's area of the window, one
      // grid block at a time, where the in-place kernels read them (saves a copy of every input
      // byte: 0.3 s of the filter threads at 384 channels x 60 s).
      const S = job.samplesPerMs;
      const G = cpuGridMs(S);
      const layout = job.read.layout;
      const inArea = areaInput(job);
      const inKernel = inArea === null ? kernelInput(job, dest) : null;
      const pieceMs = inArea !== null || inKernel !== null ? G : G * Math.max(1, Math.floor(job.read.pieceBytes / (G * S * layout.numChannels * layout.itemSize)));
      const end = job.firstMs + job.numMs;
      for (let a = job.firstMs; a < end;) {
        const b = Math.min(end, gridStartMs(a, S) + pieceMs);
        const range = cpuInputRange(a, b - a, S);
        const rows = range.end - range.start;
        let input: SampleArray;
        if (inArea !== null) input = readIntoArea(job, inArea, range.start, rows);
        else if (inKernel !== null) {
          readSampleBytes(layout, range.start, rows, inKernel.subarray(0, rows * layout.numChannels * layout.itemSize), 0, subset);
          input = view(job.kind, inKernel.buffer, inKernel.byteOffset, rows * layout.numChannels);
        } else input = readInput(job, range.start, rows);
        scratch.inputInArea = inArea !== null;
        scratch.inputInKernel = inKernel !== null;
        try {
          filterBlocksCpu(input, range.start, a, b - a, job.polarity, dest, job.destMs + (a - job.firstMs), 0, job.numChannels, scratch);
        } finally {
          scratch.inputInArea = false;
          scratch.inputInKernel = false;
        }
        copyMinimaOut(dest, job.destMs + (a - job.firstMs), job.destMs + (b - job.firstMs));
        a = b;
      }
    }
    parentPort!.postMessage({ id: job.id });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).stack ?? String(e) });
  }
});
