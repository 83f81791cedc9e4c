/**
 * The CPU engine's filter: the TypeScript / WebAssembly SIMD path (filter.ts, filter-wasm.ts)
 * on worker threads that write the caller's shared window in place.
 */
import type { Recording } from '../../formats/recording.js';
import { decodeSamples, type DataType } from '../../formats/dtype.js';
import type { FilteredBuffer } from '../../core/window.js';
import { checkRequest, type SignalProcessor } from '../engine.js';
import type { DeviceStage } from '../../result/info.js';
import type { SortKernels } from '../../stages/sort/kernels.js';
import { cpuSortKernels } from '../../stages/sort/kernels-cpu.js';
import { FilterScratch, cpuGridMs, cpuInputRange, filterBlocksCpu, type SampleArray } from './filter.js';
import { CpuFilterPool, type FilterJob } from './pool.js';

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

export class CpuSignalProcessor implements SignalProcessor {
  readonly backend = 'cpu' as const;
  readonly adapter = null;
  /** Always empty: nothing of this engine runs on a GPU. */
  readonly stagesOnDevice = new Set<DeviceStage>();
  private readonly pool: CpuFilterPool | null;
  private readonly scratch = new FilterScratch();
  private readonly raw = [new SharedBytes(), new SharedBytes()];
  private readonly decoded = [new SharedBytes(), new SharedBytes()];
  private disposed = false;

  constructor(public description: string, workers: number, private readonly chunkBytes: number, private readonly simd: boolean) {
    this.scratch.useWasm = simd;
    this.pool = workers > 0 ? new CpuFilterPool(workers) : null;
    // Start the workers now (unref'd): their start-up overlaps with the caller's own set-up.
    this.pool?.warm();
  }

  /** Settles when the requests so far are done: requests run one at a time (they share the raw buffers). */
  private tail: Promise<void> = Promise.resolve();

  filterBlocks(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('filterBlocks: this signal processor was disposed'));
    const next = this.tail.then(() => this.filterSerial(recording, firstMs, numMs, polarity, dest, destMs));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async filterSerial(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
    if (this.disposed) throw new Error('filterBlocks: this signal processor was disposed');
    checkRequest(recording, firstMs, numMs, polarity, dest, destMs);
    if (numMs === 0) return;
    const S = recording.samplesPerMs;
    const C = recording.numChannels;
    const G = cpuGridMs(S);
    const direct = DIRECT[recording.dataType];
    const bytesPerMs = S * C * Math.max(recording.itemSize, direct ? 0 : 4);
    // Chunks end on grid-block boundaries so no block is computed twice.
    const chunkMs = Math.max(G, Math.floor(this.chunkBytes / bytesPerMs / G) * G);
    const sharedDest = isShared(dest.data) && isShared(dest.minVal) && isShared(dest.minPos) && (!dest.firstSamples || isShared(dest.firstSamples));
    let pending: Promise<void> | null = null;
    let which = 0;
    const end = firstMs + numMs;
    try {
      for (let m0 = firstMs; m0 < end;) {
        const gridEnd = 1 + (Math.floor((m0 - 1) / G) + 1) * G;   // end of m0's grid block
        const m1 = Math.min(end, gridEnd + Math.max(0, chunkMs - G));
        const range = cpuInputRange(m0, m1 - m0, S);
        const rows = range.end - range.start;
        // Read (and decode) the next chunk while the workers filter the previous one.
        const bytes = this.raw[which].bytes(rows * recording.bytesPerSample);
        recording.readBytesInto(range.start, rows, bytes, 0);
        let input: SampleArray;
        let kind: DirectKind;
        if (direct) {
          kind = direct;
          input = typedView(direct, bytes.buffer as SharedArrayBuffer, rows * C);
        } else {
          kind = 'float32';
          const f = new Float32Array(this.decoded[which].bytes(rows * C * 4).buffer, 0, rows * C);
          decodeSamples(bytes, recording.dataType, f, 0);
          input = f;
        }
        which ^= 1;
        if (pending) await pending;
        pending = this.dispatch(input, kind, range.start, m0, m1 - m0, polarity, dest, destMs + (m0 - firstMs), sharedDest);
        m0 = m1;
      }
    } catch (e) {
      // Never leave a worker job's rejection unhandled when the read itself failed.
      if (pending) await pending.catch(() => undefined);
      throw e;
    }
    if (pending) await pending;
  }

  private dispatch(input: SampleArray, kind: DirectKind, inputStart: number, m0: number, n: number, polarity: number,
    dest: FilteredBuffer, destMs: number, sharedDest: boolean): Promise<void> {
    const C = dest.numChannels;
    const S = dest.samplesPerMs;
    const G = cpuGridMs(S);
    // Below ~100k output samples the message round trip costs more than it saves.
    // While the workers are still starting (the first ~100 ms), the calling thread filters
    // instead of waiting for them: same grid blocks, same bits.
    const starting = this.pool !== null && !this.pool.ready;
    if (!this.pool || !sharedDest || n * C * S < 100_000 || starting) {
      filterBlocksCpu(input, inputStart, m0, n, polarity, dest, destMs, 0, C, this.scratch);
      // Let the event loop run, so that the workers' start-up is noticed and the next chunk
      // goes to them (a synchronous loop of inline chunks would never see them come online).
      return starting ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve();
    }
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
    return this.pool.run(blocks.map(([s, e]) => ({
      kind,
      input: input.buffer as SharedArrayBuffer,
      inputByteOffset: input.byteOffset,
      inputLength: input.length,
      inputStart,
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
      destMs: destMs + (s - m0),
      wasm: this.simd,
    })));
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

