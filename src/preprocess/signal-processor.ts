/**
 * Filtering front end (spec §3–§4): reads raw samples of a Recording, filters them with the
 * chosen backend and writes ms blocks in the (ms, channel, S) layout with per-ms minima.
 *
 * Backends:
 * - 'cpu': the TypeScript / WebAssembly SIMD path (filter.ts, filter-wasm.ts) on worker threads sharing memory.
 * - 'webgpu': shaders/dog_filter.wgsl + ms_minima.wgsl; throws GpuUnavailableError (what to
 *   install) when there is no adapter.
 * - 'auto': decided by measurement (see `decideBackend` and the README's "Backends" section):
 *   - no adapter, or the device cannot be created: the CPU, and the line says why;
 *   - a software adapter (lavapipe/llvmpipe, SwiftShader, WARP, fallback adapters): the CPU,
 *     without calibration. Rule from measurement on a 2-core x86 machine (bench/filter.ts, 384
 *     channels at 30 kHz): the CPU path filters at ~30x real time per thread while lavapipe
 *     manages ~0.8x, because the software "GPU" runs on the same cores with far more work per
 *     sample plus copies. A software adapter is therefore never worth it for speed;
 *   - a hardware adapter: both paths filter the same block (the first <= 500 ms of the
 *     recording given as `workload`, else a synthetic block of that shape; at most 16 MiB of raw
 *     data, each path warmed up and then timed twice, best run counts) and the faster one is
 *     used, provided both agree on the per-ms minima. A hardware GPU is not always faster: on an
 *     H100 machine with 16 cores the CPU path (4 workers) beat the GPU path at 384 channels
 *     (1440 vs 712 MB/s) but not at 32. The decision is cached in memory once per process (per
 *     thread) for each (channels, samples per ms, dtype, CPU set-up).
 */
import { promises as fsp } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import type { Recording } from '../io/recording.js';
import { decodeSamples, type DataType } from '../io/dtype.js';
import { GpuContext, GpuUnavailableError, getGpuContext, probeAdapter } from '../gpu/context.js';
import { filterHalo } from './constants.js';
import { FilterScratch, cpuGridMs, cpuInputRange, filterBlocksCpu, type SampleArray } from './filter.js';
import { GpuFilter, STAGED, rawEncoding, type PendingChunk } from './filter-gpu.js';
import { wasmSimdAvailable } from './filter-wasm.js';
import { CpuFilterPool, type FilterJob } from './cpu-pool.js';
import { autoDecision, calibrate, decideBackend, describeDecision, type Calibration } from './auto-backend.js';

/** Destination for filtered ms blocks, layout (ms, channel, S). Arrays sized capacityMs*C*S and capacityMs*C. */
export interface FilteredBuffer {
  numChannels: number;
  samplesPerMs: number;
  capacityMs: number;
  /** data[((m*C)+c)*S + s] */
  data: Float32Array;
  /** [m*C + c] */
  minVal: Float32Array;
  /** [m*C + c], first s attaining the minimum */
  minPos: Int32Array;
}

/**
 * Allocates a FilteredBuffer. The arrays live in SharedArrayBuffers so the CPU backend's
 * worker threads can write them in place (they behave like ordinary typed arrays otherwise).
 */
export function allocateFilteredBuffer(numChannels: number, samplesPerMs: number, capacityMs: number): FilteredBuffer {
  for (const [name, v] of [['numChannels', numChannels], ['samplesPerMs', samplesPerMs], ['capacityMs', capacityMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`allocateFilteredBuffer: ${name} must be a positive integer, got ${v}`);
  }
  const n = capacityMs * numChannels;
  return {
    numChannels,
    samplesPerMs,
    capacityMs,
    data: new Float32Array(new SharedArrayBuffer(n * samplesPerMs * 4)),
    minVal: new Float32Array(new SharedArrayBuffer(n * 4)),
    minPos: new Int32Array(new SharedArrayBuffer(n * 4)),
  };
}

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

export interface SignalProcessor {
  readonly backend: 'webgpu' | 'cpu';
  /** One line, e.g. "webgpu on NVIDIA H100 (hardware)" / "cpu (no WebGPU adapter: ...)". */
  readonly description: string;
  /**
   * Filter ms blocks [firstMs, firstMs+numMs) of `recording` (absolute ms index; needs
   * 1 <= firstMs and (firstMs+numMs)*S + halo <= numSamples; reads the halo from the file),
   * write them at ms slot `destMs` of `dest` with minima. polarity = detectionPolarity.
   */
  filterBlocks(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void>;
  dispose(): void;
}

export interface SignalProcessorOptions {
  log?: (line: string) => void;
  /** CPU backend worker threads (0 = filter on the calling thread). Default: min(4, cores) on the main thread, 0 inside a worker thread. */
  cpuWorkers?: number;
  /** Upper bound on the raw bytes read per chunk (bounded memory; webgpu: per two chunks in flight). Default 32 MiB. */
  chunkBytes?: number;
  /** CPU backend: use the WebAssembly SIMD kernel for int16/uint16 data (default true; false = TypeScript only, same output). */
  cpuSimd?: boolean;
  /**
   * 'auto' on a hardware GPU: what to calibrate on. A Recording: its first <= 500 ms (real
   * work, read from its file). A shape: a synthetic block of that shape in a temp file.
   * Default: 384 channels, 30 samples/ms, int16.
   */
  workload?: Recording | AutoWorkload;
}

/** The shape of the data 'auto' calibrates on (a Recording has these properties). */
export interface AutoWorkload { numChannels: number; samplesPerMs: number; dataType: DataType }

const DEFAULT_WORKLOAD: AutoWorkload = { numChannels: 384, samplesPerMs: 30, dataType: 'int16' };

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'cpu'];

export async function createSignalProcessor(choice: BackendChoice, opts: SignalProcessorOptions = {}): Promise<SignalProcessor> {
  if (!BACKENDS.includes(choice)) {
    throw new RangeError(`backend must be one of 'auto', 'webgpu', 'cpu', got ${JSON.stringify(choice)}`);
  }
  const log = opts.log ?? (() => undefined);
  // Filtering threads: up to 4 on the main thread (2 on a 2-core machine, where the host's
  // sorting shares the cores), none inside a worker thread (parallel sorts already fill the cores).
  const workers = opts.cpuWorkers ?? (isMainThread ? Math.min(4, Math.max(1, availableParallelism())) : 0);
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`cpuWorkers must be a non-negative integer, got ${opts.cpuWorkers}`);
  const chunkBytes = opts.chunkBytes ?? 32 * 1024 * 1024;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${opts.chunkBytes}`);
  const simd = opts.cpuSimd ?? true;
  const kernel = simd && wasmSimdAvailable() ? 'WebAssembly SIMD + TypeScript' : 'TypeScript';
  const cpuLabel = `${kernel}, ${workers === 0 ? 'calling thread' : `${workers} worker thread${workers > 1 ? 's' : ''}`}`;

  if (choice === 'cpu') {
    const p = new CpuSignalProcessor(`cpu (${cpuLabel})`, workers, chunkBytes, simd);
    log(`spikesift: backend ${p.description}`);
    return p;
  }
  if (choice === 'webgpu') {
    const ctx = await getGpuContext();  // throws GpuUnavailableError with what to install
    const p = new GpuSignalProcessor(ctx, `webgpu on ${ctx.adapterName} (${ctx.isSoftware ? 'software' : 'hardware'})`, chunkBytes);
    log(`spikesift: backend ${p.description}`);
    return p;
  }
  // auto
  const probe = await probeAdapter();
  let p: SignalProcessor;
  if (!probe.adapter) {
    p = new CpuSignalProcessor(`cpu (${cpuLabel}; ${probe.reason})`, workers, chunkBytes, simd);
  } else if (probe.isSoftware) {
    p = new CpuSignalProcessor(`cpu (${cpuLabel}; WebGPU adapter "${probe.name}" is a software renderer, measured slower than the CPU path)`, workers, chunkBytes, simd);
  } else {
    p = await autoOnHardware(probe.name, opts.workload ?? DEFAULT_WORKLOAD, cpuLabel, workers, chunkBytes, simd);
  }
  log(`spikesift: backend ${p.description}`);
  return p;
}

/**
 * 'auto' with a hardware adapter: calibrate both paths once per process for this shape (see
 * auto-backend.ts for the rule) and return the faster one, with the rates in its description.
 */
async function autoOnHardware(adapterName: string, workload: Recording | AutoWorkload, cpuLabel: string,
  workers: number, chunkBytes: number, simd: boolean): Promise<SignalProcessor> {
  let ctx: GpuContext;
  try {
    ctx = await getGpuContext();
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return new CpuSignalProcessor(`cpu (${cpuLabel}; WebGPU device on "${adapterName}" failed: ${e.message})`, workers, chunkBytes, simd);
  }
  const gpuLabel = `webgpu on ${ctx.adapterName} (hardware)`;
  const key = `${workload.numChannels}x${workload.samplesPerMs} ${workload.dataType} | ${cpuLabel} | ${chunkBytes}`;
  let cpu: CpuSignalProcessor | null = null;
  let gpu: GpuSignalProcessor | null = null;
  let decision: { calibration: Calibration; cached: boolean };
  try {
    decision = await autoDecision(key, () => {
      cpu = new CpuSignalProcessor(`cpu (${cpuLabel})`, workers, chunkBytes, simd);
      gpu = new GpuSignalProcessor(ctx, gpuLabel, chunkBytes);
      return calibrate(cpu, gpu, workload);
    });
  } catch (e) {
    (cpu as CpuSignalProcessor | null)?.dispose();
    (gpu as GpuSignalProcessor | null)?.dispose();
    if (!(e instanceof Error)) throw e;
    return new CpuSignalProcessor(`cpu (${cpuLabel}; calibrating WebGPU on "${adapterName}" failed: ${e.message})`, workers, chunkBytes, simd);
  }
  const choice = decideBackend(decision.calibration);
  const description = describeDecision(choice, decision.calibration, cpuLabel, gpuLabel, decision.cached);
  // Keep the processor that was warmed up by the calibration; drop the other.
  const c = cpu as CpuSignalProcessor | null;
  const g = gpu as GpuSignalProcessor | null;
  if (choice === 'webgpu') {
    c?.dispose();
    const p = g ?? new GpuSignalProcessor(ctx, description, chunkBytes);
    p.description = description;
    return p;
  }
  g?.dispose();
  const p = c ?? new CpuSignalProcessor(description, workers, chunkBytes, simd);
  p.description = description;
  return p;
}

/** Checks a filterBlocks request; errors name the argument, the value and the valid range. */
function checkRequest(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): void {
  const S = recording.samplesPerMs;
  const C = recording.numChannels;
  const halo = filterHalo(S);
  if (dest.numChannels !== C || dest.samplesPerMs !== S) {
    throw new RangeError(`filterBlocks: dest is for ${dest.numChannels} channels x ${dest.samplesPerMs} samples/ms, the recording has ${C} x ${S}`);
  }
  if (!Number.isSafeInteger(firstMs) || firstMs < 1) throw new RangeError(`filterBlocks: firstMs must be an integer >= 1 (block 0 is filter padding), got ${firstMs}`);
  if (!Number.isSafeInteger(numMs) || numMs < 0) throw new RangeError(`filterBlocks: numMs must be a non-negative integer, got ${numMs}`);
  if ((firstMs + numMs) * S + halo > recording.numSamples) {
    throw new RangeError(`filterBlocks: ms blocks [${firstMs}, ${firstMs + numMs}) need samples up to ${(firstMs + numMs) * S + halo} (with the ${halo}-sample filter halo), the recording has ${recording.numSamples}`);
  }
  if (!Number.isSafeInteger(destMs) || destMs < 0 || destMs + numMs > dest.capacityMs) {
    throw new RangeError(`filterBlocks: destMs ${destMs} + numMs ${numMs} exceeds dest.capacityMs ${dest.capacityMs}`);
  }
  if (typeof polarity !== 'number' || !Number.isFinite(polarity) || polarity === 0) {
    throw new RangeError(`filterBlocks: polarity (detectionPolarity) must be a finite non-zero number, got ${polarity}`);
  }
}

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

class CpuSignalProcessor implements SignalProcessor {
  readonly backend = 'cpu' as const;
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

  async filterBlocks(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
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
    const sharedDest = isShared(dest.data) && isShared(dest.minVal) && isShared(dest.minPos);
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
    if (!this.pool || !sharedDest || n * C * S < 100_000) {
      filterBlocksCpu(input, inputStart, m0, n, polarity, dest, destMs, 0, C, this.scratch);
      return Promise.resolve();
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
      destMs: destMs + (s - m0),
      wasm: this.simd,
    })));
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

/** Stage timings of the webgpu path, in milliseconds summed over chunks (see GpuSignalProcessor.stats). */
export interface GpuFilterStats {
  chunks: number;
  /** Duration of the asynchronous file reads (thread pool; overlaps the other stages). */
  readMs: number;
  /** Time the filter loop waited for a read to finish. */
  readWaitMs: number;
  /** Host decode of non-direct dtypes to float32. */
  decodeMs: number;
  /** Upload (writeBuffer) + encoding + submission. */
  submitMs: number;
  /** Time waiting for the GPU to finish a chunk and map its results. */
  waitMs: number;
  /** Copy from the mapped staging buffer into the FilteredBuffer. */
  copyMs: number;
}

/** Raw bytes per GPU chunk: at least this much, so per-submission costs (~0.1-1 ms) stay small. */
const GPU_MIN_CHUNK_BYTES = 2 * 1024 * 1024;
/** A request is split into at least this many chunks (when each stays >= GPU_MIN_CHUNK_BYTES), so its stages overlap. */
const GPU_PIPELINE_CHUNKS = 4;

class GpuSignalProcessor implements SignalProcessor {
  readonly backend = 'webgpu' as const;
  private readonly filter: GpuFilter;
  private readonly raw = [new Uint8Array(0), new Uint8Array(0)];
  private disposed = false;
  /** Settles when the requests so far are done; dispose waits for it before freeing buffers a read may be filling. */
  private tail: Promise<void> = Promise.resolve();
  private file: { recording: Recording; handle: fsp.FileHandle } | null = null;
  readonly stats: GpuFilterStats = { chunks: 0, readMs: 0, readWaitMs: 0, decodeMs: 0, submitMs: 0, waitMs: 0, copyMs: 0 };

  constructor(readonly ctx: GpuContext, public description: string, private readonly chunkBytes: number) {
    this.filter = new GpuFilter(ctx);
  }

  /**
   * Pipeline over chunks k = 0, 1, ... on two slots (GpuFilter: upload, device and staging
   * buffers per slot): the file read of chunk k+1 (asynchronous, on the thread pool, straight
   * into slot (k+1)%2's mapped upload buffer) runs while the GPU filters chunk k and the host
   * copies chunk k-1's results out; chunk k's results are copied out only after chunk k+1 was
   * submitted. Main-thread work per chunk: encode + submit, and one copy from the mapped
   * results into `dest`. Each output sample is a fixed-order FIR of its own window, so the
   * chunking never changes results.
   */
  filterBlocks(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('filterBlocks: this signal processor was disposed'));
    // One request at a time: requests share the two slots and their mapped upload buffers.
    const next = this.tail.then(() => this.filterSerial(recording, firstMs, numMs, polarity, dest, destMs));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async filterSerial(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
    checkRequest(recording, firstMs, numMs, polarity, dest, destMs);
    if (numMs === 0) return;
    const S = recording.samplesPerMs;
    const C = recording.numChannels;
    const halo = filterHalo(S);
    const enc = rawEncoding(recording.dataType);
    const bytesPerMs = S * C * Math.max(recording.itemSize, enc.bytesPerItem);
    // Chunks of max(2 MiB, request / 4) raw bytes, at most chunkBytes / 2: two chunks are in
    // flight, so memory stays within the chunkBytes budget (a small chunkBytes is honoured;
    // tests use it to run many chunks through the pipeline).
    const perSlot = Math.max(1, Math.floor(this.chunkBytes / 2));
    const targetBytes = Math.min(perSlot, Math.max(GPU_MIN_CHUNK_BYTES, Math.ceil((numMs * bytesPerMs) / GPU_PIPELINE_CHUNKS)));
    const chunkMs = Math.max(1, Math.min(this.filter.maxChunkMs(C, S, enc.bytesPerItem), Math.floor(targetBytes / bytesPerMs)));
    const chunks: [number, number][] = [];
    for (let m0 = firstMs; m0 < firstMs + numMs; m0 += chunkMs) chunks.push([m0, Math.min(chunkMs, firstMs + numMs - m0)]);
    const st = this.stats;
    const copy0 = this.filter.copyMs;
    const fh = await this.openFile(recording);
    // Chunk k's input goes into the mapped upload buffer of slot k%2: direct dtypes are read
    // from the file straight into it; others are read into a host buffer and decoded into it.
    const read = async (k: number): Promise<void> => {
      const [m0, n] = chunks[k];
      const which = k & 1;
      const rows = n * S + 2 * halo;
      const byteLen = rows * recording.bytesPerSample;
      let t0 = performance.now();
      if (enc.direct) {
        const view = await this.filter.stage(which, byteLen);
        t0 = performance.now();
        await recording.readBytesIntoAsync(m0 * S - halo, rows, view, 0, fh);
        st.readMs += performance.now() - t0;
        return;
      }
      if (this.raw[which].byteLength < byteLen) this.raw[which] = new Uint8Array(byteLen);
      const bytes = this.raw[which].subarray(0, byteLen);
      await recording.readBytesIntoAsync(m0 * S - halo, rows, bytes, 0, fh);
      st.readMs += performance.now() - t0;
      const view = await this.filter.stage(which, rows * C * 4);
      t0 = performance.now();
      decodeSamples(bytes, recording.dataType, new Float32Array(view.buffer, view.byteOffset, rows * C), 0);
      st.decodeMs += performance.now() - t0;
    };
    let reading: Promise<void> | null = read(0);
    reading.catch(() => undefined);
    const inFlight: PendingChunk[] = [];   // submitted, not yet collected (at most 2)
    try {
      for (let k = 0; k < chunks.length; k++) {
        const [m0, n] = chunks[k];
        let t0 = performance.now();
        await reading;
        reading = null;
        st.readWaitMs += performance.now() - t0;
        t0 = performance.now();
        // Slot k%2 was freed when chunk k-2 was collected (previous iteration).
        inFlight.push(await this.filter.submit(STAGED, enc, n, polarity, dest, destMs + (m0 - firstMs), k & 1));
        st.submitMs += performance.now() - t0;
        st.chunks++;
        // Chunk k+1 is read (into slot (k+1)%2's upload buffer, once the GPU has copied chunk
        // k-1 out of it) while the GPU works on chunk k and chunk k-1 is copied out.
        if (k + 1 < chunks.length) {
          reading = read(k + 1);
          reading.catch(() => undefined);
        }
        if (inFlight.length > 1) await this.collect(inFlight.shift()!);
      }
      while (inFlight.length > 0) await this.collect(inFlight.shift()!);
    } catch (e) {
      // Leave nothing in flight: a read into a mapped buffer must finish before anything unmaps
      // or destroys it, and every submitted chunk is collected (frees its slot, no unhandled mapping).
      if (reading) await reading.catch(() => undefined);
      for (const p of inFlight) await p.collect().catch(() => undefined);
      throw e;
    } finally {
      st.copyMs += this.filter.copyMs - copy0;
    }
  }

  /** The recording's file, opened once and kept open between requests for the same Recording (closed on dispose). */
  private async openFile(recording: Recording): Promise<fsp.FileHandle> {
    if (this.file?.recording === recording) return this.file.handle;
    const old = this.file;
    this.file = null;
    await old?.handle.close().catch(() => undefined);
    const handle = await fsp.open(recording.binaryFile, 'r');
    this.file = { recording, handle };
    return handle;
  }

  /** Waits for a chunk's mapping and copies it out; wait time excludes the copy. */
  private async collect(p: PendingChunk): Promise<void> {
    const t0 = performance.now();
    const c0 = this.filter.copyMs;
    await p.collect();
    this.stats.waitMs += performance.now() - t0 - (this.filter.copyMs - c0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.tail.then(() => {
      this.filter.dispose();
      const f = this.file;
      this.file = null;
      return f?.handle.close().catch(() => undefined);
    });
  }
}

export { GpuUnavailableError };
