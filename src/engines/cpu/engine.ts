/**
 * The CPU engine's filter: the TypeScript / WebAssembly SIMD path (filter.ts, filter-wasm.ts)
 * on worker threads that write the caller's shared window in place.
 */
import type { Recording } from '../../formats/recording.js';
import { decodeSamples, type DataType } from '../../formats/dtype.js';
import { copyMinimaOut, type FilterAreaPlan, type FilteredBuffer } from '../../core/window.js';
import { filterAreaBytes, wasmSimdAvailable } from './filter-wasm.js';
import { checkRequest, type SignalProcessor } from '../engine.js';
import type { DeviceStage } from '../../result/info.js';
import type { SortKernels } from '../../stages/sort/kernels.js';
import { cpuSortKernels } from '../../stages/sort/kernels-cpu.js';
import { FilterScratch, cpuGridMs, cpuInputRange, filterBlocksCpu, type SampleArray } from './filter.js';
import { CpuFilterPool, type FilterJob } from './pool.js';
import type { RawFileLayout } from '../../formats/raw-file.js';

type DirectKind = FilterJob['kind'];
const DIRECT: Partial<Record<DataType, DirectKind>> = { int16: 'int16', uint16: 'uint16', int8: 'int8', uint8: 'uint8', float32: 'float32' };

function isShared(a: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** A growable SharedArrayBuffer for raw input. */
class SharedBytes {
  buf = new SharedArrayBuffer(0);
  bytes(n: number): Uint8Array {
    if (this.buf.byteLength < n) this.buf = new SharedArrayBuffer(Math.max(n, Math.floor(this.buf.byteLength * 1.25)));
    return new Uint8Array(this.buf, 0, n);
  }
}

/**
 * Raw-input slots of the request pipeline: the calling thread reads (and decodes) a chunk into
 * one slot while the workers filter the chunks in the others.
 */
const INPUT_SLOTS = 3;

/** Output samples the calling thread filters between looks at the starting workers (~2-4 ms of work). */
const STARTUP_PIECE_SAMPLES = 1 << 20;

interface InputSlot {
  raw: SharedBytes;
  decoded: SharedBytes;
  /** Settles when the job that last read this slot's buffers is done. */
  free: Promise<void>;
}

export class CpuSignalProcessor implements SignalProcessor {
  readonly backend = 'cpu' as const;
  /** dest.minimaCopy is written by the thread that filters each range (a worker, or the calling thread). */
  readonly copiesMinima = true;
  readonly adapter = null;
  /** Always empty: nothing of this engine runs on a GPU. */
  readonly stagesOnDevice = new Set<DeviceStage>();
  private readonly pool: CpuFilterPool | null;
  private readonly scratch = new FilterScratch();
  private readonly slots: InputSlot[] = Array.from({ length: INPUT_SLOTS }, () => ({ raw: new SharedBytes(), decoded: new SharedBytes(), free: Promise.resolve() }));
  private nextSlot = 0;
  private disposed = false;
  /**
   * Raw bytes a filter worker reads from the file at once (whole grid blocks, at least one). A
   * worker used to read a whole job (up to half a 32-MiB chunk) and faulted in a buffer that
   * large; pieces give the same bits, since the grid fixes where the running sums restart.
   * (Into a window with filter areas a worker reads one grid block at a time into its area,
   * where the kernels read it: filter-worker.ts.)
   */
  readPieceBytes = 8 << 20;

  constructor(public description: string, workers: number, private readonly chunkBytes: number, private readonly simd: boolean) {
    this.scratch.useWasm = simd;
    this.pool = workers > 0 ? new CpuFilterPool(workers) : null;
    // Workers take areas 0 .. workers-1 (their index), the calling thread the last.
    this.scratch.area = workers;
    // Start the workers now (unref'd): their start-up overlaps with the caller's own set-up.
    this.pool?.warm();
  }

  /** Settles when the requests so far have queued all their chunks on the workers. */
  private tail: Promise<void> = Promise.resolve();

  /**
   * Requests are submitted one at a time, in order, but a request does not wait for the one
   * before it to finish: its first chunk is read while the workers still filter the previous
   * request's last ones. Before, each request waited for the previous one's result, so the
   * workers sat idle while the calling thread read the next chunk and, when it was busy
   * sorting a segment, until it next looked (pass 1 at 384 channels: ~12 ms of filtering per
   * worker per request, ~6 ms of reading between them).
   */
  filterBlocks(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('filterBlocks: this signal processor was disposed'));
    const submitted = this.tail.then(() => this.submit(recording, firstMs, numMs, polarity, dest, destMs));
    this.tail = submitted.then(() => undefined, () => undefined);
    return submitted.then((r) => r.done);
  }

  /** Reads the request's chunks into free input slots and queues them; `done` settles when all are filtered. */
  private async submit(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<{ done: Promise<void> }> {
    if (this.disposed) throw new Error('filterBlocks: this signal processor was disposed');
    checkRequest(recording, firstMs, numMs, polarity, dest, destMs);
    const jobs: Promise<void>[] = [];
    if (numMs === 0) return { done: Promise.resolve() };
    const S = recording.samplesPerMs;
    const C = recording.numChannels;
    const G = cpuGridMs(S);
    const direct = DIRECT[recording.dataType];
    const bytesPerMs = S * C * Math.max(recording.itemSize, direct ? 0 : 4);
    // Chunks end on grid-block boundaries so no block is computed twice.
    const chunkMs = Math.max(G, Math.floor(this.chunkBytes / bytesPerMs / G) * G);
    const sharedDest = isShared(dest.data) && isShared(dest.minVal) && isShared(dest.minPos) && (!dest.firstSamples || isShared(dest.firstSamples))
      && (!dest.minimaCopy || (isShared(dest.minimaCopy.minVal) && isShared(dest.minimaCopy.minPos)));
    const end = firstMs + numMs;
    try {
      for (let m0 = firstMs; m0 < end;) {
        const gridEnd = 1 + (Math.floor((m0 - 1) / G) + 1) * G;   // end of m0's grid block
        const m1 = Math.min(end, gridEnd + Math.max(0, chunkMs - G));
        // Once the workers are online they read their own rows of the file: the calling thread
        // (at 32 channels the busiest of the sort) then does no file I/O here.
        if (direct && sharedDest && this.pool !== null && this.pool.ready && this.worthWorkers(m1 - m0, C, S)) {
          const job = this.dispatch(null, direct, recording.rawLayout(), m0, m1 - m0, polarity, dest, destMs + (m0 - firstMs), true);
          job.catch(() => undefined);
          jobs.push(job);
          m0 = m1;
          continue;
        }
        const range = cpuInputRange(m0, m1 - m0, S);
        const rows = range.end - range.start;
        const slot = this.slots[this.nextSlot];
        this.nextSlot = (this.nextSlot + 1) % INPUT_SLOTS;
        await slot.free;
        const bytes = slot.raw.bytes(rows * recording.bytesPerSample);
        recording.readBytesInto(range.start, rows, bytes, 0);
        let input: SampleArray;
        let kind: DirectKind;
        if (direct) {
          kind = direct;
          input = typedView(direct, bytes.buffer as SharedArrayBuffer, rows * C);
        } else {
          kind = 'float32';
          const f = new Float32Array(slot.decoded.bytes(rows * C * 4).buffer, 0, rows * C);
          decodeSamples(bytes, recording.dataType, f, 0);
          input = f;
        }
        const job = this.dispatch({ input, inputStart: range.start }, kind, null, m0, m1 - m0, polarity, dest, destMs + (m0 - firstMs), sharedDest);
        // Observed through `done`; never an unhandled rejection meanwhile.
        job.catch(() => undefined);
        slot.free = job.then(() => undefined, () => undefined);
        jobs.push(job);
        m0 = m1;
      }
    } catch (e) {
      // Never leave a worker job's rejection unhandled when the read itself failed.
      await Promise.allSettled(jobs);
      throw e;
    }
    return { done: Promise.all(jobs).then(() => undefined) };
  }

  /** Below ~100k output samples the message round trip costs more than a worker saves. */
  private worthWorkers(n: number, C: number, S: number): boolean {
    return n * C * S >= 100_000;
  }

  /**
   * Filters ms blocks [m0, m0 + n) from `given` (raw input the calling thread read: samples from
   * inputStart on) or, when it is null, on the workers from the rows each reads of `file`.
   */
  private dispatch(given: { input: SampleArray; inputStart: number } | null, kind: DirectKind, file: RawFileLayout | null,
    m0: number, n: number, polarity: number, dest: FilteredBuffer, destMs: number, sharedDest: boolean): Promise<void> {
    const C = dest.numChannels;
    const S = dest.samplesPerMs;
    const G = cpuGridMs(S);
    if (given && (!this.pool || !sharedDest || !this.worthWorkers(n, C, S))) {
      filterBlocksCpu(given.input, given.inputStart, m0, n, polarity, dest, destMs, 0, C, this.scratch);
      copyMinimaOut(dest, destMs, destMs + n);
      return Promise.resolve();
    }
    if (!this.pool) throw new Error('internal error: a file-reading filter job without worker threads');
    if (given && !this.pool.ready) return this.whileStarting(given.input, kind, given.inputStart, m0, n, polarity, dest, destMs);
    // Split in time at grid-block boundaries: each worker owns whole grid blocks.
    const blocks: [number, number][] = [];
    const first = Math.floor((m0 - 1) / G);
    const last = Math.floor((m0 + n - 2) / G);
    const nBlocks = last - first + 1;
    const parts = Math.min(this.pool.size, nBlocks);
    let a = m0;
    for (let i = 1; i <= parts; i++) {
      const b = i === parts ? m0 + n : Math.max(a, Math.min(m0 + n, 1 + (first + Math.round((nBlocks * i) / parts)) * G));
      if (b > a) blocks.push([a, b]);
      a = b;
    }
    return this.pool.run(blocks.map(([s, e], i) => ({
      kind,
      ...(given
        ? { input: given.input.buffer as SharedArrayBuffer, inputByteOffset: given.input.byteOffset, inputLength: given.input.length, inputStart: given.inputStart }
        : { read: { layout: file!, pieceBytes: this.readPieceBytes }, inputStart: cpuInputRange(s, e - s, S).start }),
      firstMs: s,
      numMs: e - s,
      polarity,
      numChannels: C,
      samplesPerMs: S,
      capacityMs: dest.capacityMs,
      data: dest.data.buffer as SharedArrayBuffer,
      dataByteOffset: dest.data.byteOffset,
      minVal: dest.minVal.buffer as SharedArrayBuffer,
      minValByteOffset: dest.minVal.byteOffset,
      minPos: dest.minPos.buffer as SharedArrayBuffer,
      minPosByteOffset: dest.minPos.byteOffset,
      ...(dest.firstSamples ? { firstSamples: dest.firstSamples.buffer as SharedArrayBuffer, firstSamplesByteOffset: dest.firstSamples.byteOffset } : {}),
      ...(dest.exactBelow ? { exactBelow: dest.exactBelow } : {}),
      ...(dest.minimaCopy ? { minimaCopy: {
        minVal: dest.minimaCopy.minVal.buffer as SharedArrayBuffer, minValByteOffset: dest.minimaCopy.minVal.byteOffset,
        minPos: dest.minimaCopy.minPos.buffer as SharedArrayBuffer, minPosByteOffset: dest.minimaCopy.minPos.byteOffset,
        minPosBytes: dest.minimaCopy.minPos.BYTES_PER_ELEMENT as 1 | 4, length: dest.minimaCopy.minVal.length,
      } } : {}),
      ...(dest.filterAreas ? { filterAreas: dest.filterAreas, area: i } : {}),
      destMs: destMs + (s - m0),
      wasm: this.simd,
    })));
  }

  /**
   * While the workers are still starting (~50-150 ms), the calling thread filters the chunk
   * itself, a few grid blocks at a time, and hands the rest to the workers as soon as they are
   * online (same grid blocks, same bits). Between pieces it lets the event loop run: the
   * workers' start-up is only noticed there (a whole chunk inline took ~90 ms at 32 channels,
   * and the next chunk went inline too).
   */
  private async whileStarting(input: SampleArray, kind: DirectKind, inputStart: number, m0: number, n: number, polarity: number,
    dest: FilteredBuffer, destMs: number): Promise<void> {
    const C = dest.numChannels;
    const S = dest.samplesPerMs;
    const G = cpuGridMs(S);
    const pieceMs = Math.max(1, Math.round(STARTUP_PIECE_SAMPLES / (C * S * G))) * G;
    const end = m0 + n;
    let a = m0;
    while (a < end && this.pool !== null && !this.pool.ready) {
      const b = Math.min(end, 1 + (Math.floor((a - 1) / G) * G) + pieceMs);
      filterBlocksCpu(input, inputStart, a, b - a, polarity, dest, destMs + (a - m0), 0, C, this.scratch);
      copyMinimaOut(dest, destMs + (a - m0), destMs + (b - m0));
      a = b;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (a < end) await this.dispatch({ input, inputStart }, kind, null, a, end - a, polarity, dest, destMs + (a - m0), true);
  }

  /** Settles when the filter workers are online (tests); at once without workers. */
  workersOnline(): Promise<void> {
    return this.pool ? this.pool.whenOnline() : Promise.resolve();
  }

  filterGridMs(samplesPerMs: number): number {
    return cpuGridMs(samplesPerMs);
  }

  /** One area per filter worker and one for the calling thread, where the SIMD kernels run. */
  filterAreas(numChannels: number, samplesPerMs: number): FilterAreaPlan | null {
    return this.simd && wasmSimdAvailable() ? { count: (this.pool?.size ?? 0) + 1, bytes: filterAreaBytes(numChannels, samplesPerMs) } : null;
  }

  sortKernels(): SortKernels {
    return cpuSortKernels();
  }

  dispose(): void {
    this.disposed = true;
    this.pool?.terminate();
  }
}


function typedView(kind: DirectKind, buf: SharedArrayBuffer, length: number): SampleArray {
  switch (kind) {
    case 'int16': return new Int16Array(buf, 0, length);
    case 'uint16': return new Uint16Array(buf, 0, length);
    case 'int8': return new Int8Array(buf, 0, length);
    case 'uint8': return new Uint8Array(buf, 0, length);
    default: return new Float32Array(buf, 0, length);
  }
}

