/**
 * The WebGPU engine. Host windows (filterBlocks; pass 1 and the sequential path): the filter
 * pipelined over chunks, results (minima, and filtered data only where the window holds
 * samples) copied into the caller's window. Device windows (`resident`, pass 2): each segment
 * is filtered into a DeviceSegment in GPU memory, its minima taken there, and sorted there by
 * the WGSL kernels (kernels.ts). One BufferPool owns every GPU buffer of the engine and one
 * Runner encodes and submits every device step of a segment.
 */
import { promises as fsp } from 'node:fs';
import type { Recording } from '../../formats/recording.js';
import { decodeSamples } from '../../formats/dtype.js';
import type { FilteredBuffer } from '../../core/window.js';
import { checkRequest, type ResidentWindows, type SignalProcessor } from '../engine.js';
import { filterHalo } from '../../stages/filter/taps.js';
import type { GpuContext } from './context.js';
import type { DeviceStage } from '../../result/info.js';
import type { SortKernels } from '../../stages/sort/kernels.js';
import { cpuSortKernels } from '../../stages/sort/kernels-cpu.js';
import { GpuFilter, STAGED, rawEncoding, type PendingChunk } from './filter.js';
import { BufferPool, STORAGE_INOUT } from './buffers.js';
import { DeviceSegment, planDeviceWindows, type ChannelGroup, type WindowLimits, type WindowPlan } from './device-window.js';
import { deviceSortKernels } from './kernels.js';
import { Runner } from './program.js';

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

export class GpuSignalProcessor implements SignalProcessor {
  readonly backend = 'webgpu' as const;
  readonly stagesOnDevice = new Set<DeviceStage>();
  private readonly filter: GpuFilter;
  private readonly raw = [new Uint8Array(0), new Uint8Array(0)];
  private disposed = false;
  /** Settles when the requests so far are done; dispose waits for it before freeing buffers a read may be filling. */
  private tail: Promise<void> = Promise.resolve();
  private file: { recording: Recording; handle: fsp.FileHandle } | null = null;
  readonly stats: GpuFilterStats = { chunks: 0, readMs: 0, readWaitMs: 0, decodeMs: 0, submitMs: 0, waitMs: 0, copyMs: 0 };

  /** The one owner of this engine's GPU buffers (filter chunks, kernel scratch, device windows). */
  readonly pool: BufferPool;
  readonly runner: Runner;
  readonly resident: DeviceWindows;

  constructor(readonly ctx: GpuContext, public description: string, private readonly chunkBytes: number) {
    this.pool = new BufferPool(ctx);
    this.runner = new Runner(ctx, this.pool, this.stagesOnDevice);
    this.filter = new GpuFilter(ctx, this.stagesOnDevice, this.pool, this.runner);
    this.resident = new DeviceWindows(this);
  }

  /** Fills a device window: the filter writes into its group buffers, then its minima are taken on the device. */
  fillDevice(recording: Recording, firstMs: number, numMs: number, polarity: number, seg: DeviceSegment): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('fill: this engine was disposed'));
    const next = this.tail.then(async () => {
      checkDeviceRequest(recording, firstMs, numMs, polarity, seg);
      seg.numMs = numMs;
      await this.filterSerial(recording, firstMs, numMs, polarity, seg, 0);
      await this.filter.minimaOnDevice(seg);
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  get adapter(): string {
    return this.ctx.adapterName;
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

  private async filterSerial(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer | DeviceSegment, destMs: number): Promise<void> {
    if (!(dest instanceof DeviceSegment)) checkRequest(recording, firstMs, numMs, polarity, dest, destMs);
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

  /**
   * Kernels for a host window (the sequential path and the recovery pass): the CPU
   * definitions, except the recovery's template scores, which run as their WGSL twin (every
   * template over every ms block: the one step there that is bulk work on the GPU).
   */
  sortKernels(): SortKernels {
    const device = deviceSortKernels(this.runner);
    return { ...cpuSortKernels(), templateScores: (...a) => device.templateScores(...a) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.tail.then(() => {
      this.filter.dispose();
      this.resident.clear();
      this.runner.dispose();
      this.pool.destroy();
      const f = this.file;
      this.file = null;
      return f?.handle.close().catch(() => undefined);
    });
  }
}


/** checkRequest for a device window (same rules, the window's capacity instead of a FilteredBuffer's). */
function checkDeviceRequest(recording: Recording, firstMs: number, numMs: number, polarity: number, seg: DeviceSegment): void {
  if (seg.numChannels !== recording.numChannels || seg.samplesPerMs !== recording.samplesPerMs) {
    throw new RangeError(`fill: the window is for ${seg.numChannels} channels x ${seg.samplesPerMs} samples/ms, the recording has ${recording.numChannels} x ${recording.samplesPerMs}`);
  }
  if (!Number.isSafeInteger(numMs) || numMs < 1 || numMs > seg.capacityMs) throw new RangeError(`fill: numMs ${numMs} must be in 1..${seg.capacityMs} (the window's capacity)`);
  const S = recording.samplesPerMs;
  if (!Number.isSafeInteger(firstMs) || firstMs < 1) throw new RangeError(`fill: firstMs must be an integer >= 1 (block 0 is filter padding), got ${firstMs}`);
  if ((firstMs + numMs) * S + filterHalo(S) > recording.numSamples) {
    throw new RangeError(`fill: ms blocks [${firstMs}, ${firstMs + numMs}) need samples up to ${(firstMs + numMs) * S + filterHalo(S)}, the recording has ${recording.numSamples}`);
  }
  if (typeof polarity !== 'number' || !Number.isFinite(polarity) || polarity === 0) {
    throw new RangeError(`fill: polarity (detectionPolarity) must be a finite non-zero number, got ${polarity}`);
  }
}

/** The WebGPU engine's resident windows: planned from the GPU memory budget, allocated once, reused. */
export class DeviceWindows implements ResidentWindows<DeviceSegment> {
  readonly kernels: SortKernels<DeviceSegment>;
  private plan_: (WindowPlan & { C: number; S: number }) | null = null;
  private readonly all: DeviceSegment[] = [];
  private readonly free: DeviceSegment[] = [];
  private readonly waiting: ((s: DeviceSegment) => void)[] = [];

  constructor(private readonly engine: GpuSignalProcessor) {
    this.kernels = deviceSortKernels(engine.runner);
  }

  /** Tests: plan with smaller binding limits than the device's (more channel groups). */
  limits: WindowLimits | null = null;

  plan(numChannels: number, samplesPerMs: number, capacityMs: number, budgetBytes: number): number {
    const p = planDeviceWindows(numChannels, samplesPerMs, capacityMs, this.limits ?? this.engine.ctx.limits, budgetBytes);
    const cur = this.plan_;
    if (!cur || cur.C !== numChannels || cur.S !== samplesPerMs || cur.capacityMs !== capacityMs || cur.groupChannels !== p.groupChannels) {
      this.clear();
    }
    this.plan_ = { ...p, C: numChannels, S: samplesPerMs };
    return p.windows;
  }

  async acquire(): Promise<DeviceSegment> {
    const p = this.plan_;
    if (!p) throw new Error('ResidentWindows.acquire: call plan() first');
    const f = this.free.pop();
    if (f) return f;
    if (this.all.length < p.windows) {
      const seg = await this.engine.ctx.run('allocating a device window', async () => this.allocate(p));
      this.all.push(seg);
      return seg;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private allocate(p: WindowPlan & { C: number; S: number }): DeviceSegment {
    const pool = this.engine.pool;
    const rowBytes = p.capacityMs * p.S * 4;
    const groups: ChannelGroup[] = [];
    for (let c0 = 0; c0 < p.C; c0 += p.groupChannels) {
      const count = Math.min(p.groupChannels, p.C - c0);
      groups.push({ c0, count, data: pool.allocate(`window data ${c0}..${c0 + count - 1}`, count * rowBytes, STORAGE_INOUT()) });
    }
    const minVal = pool.allocate('window minVal', p.C * p.capacityMs * 4, STORAGE_INOUT());
    const minPos = pool.allocate('window minPos', p.C * p.capacityMs * 4, STORAGE_INOUT());
    return new DeviceSegment(p.C, p.S, p.capacityMs, groups, minVal, minPos);
  }

  fill(recording: Recording, firstMs: number, numMs: number, polarity: number, seg: DeviceSegment): Promise<void> {
    return this.engine.fillDevice(recording, firstMs, numMs, polarity, seg);
  }

  release(seg: DeviceSegment): void {
    const w = this.waiting.shift();
    if (w) w(seg);
    else this.free.push(seg);
  }

  memory(): { bytes: number; peakBytes: number } {
    return { bytes: this.engine.pool.bytes, peakBytes: this.engine.pool.peakBytes };
  }

  submissions(): { submits: number; dispatches: number; largestBatch: number } {
    const r = this.engine.runner;
    return { submits: r.submits, dispatches: r.dispatches, largestBatch: r.largestBatch };
  }

  deviceTimes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, ns] of this.engine.runner.gpuNs) out[k] = ns / 1e6;
    return out;
  }

  clear(): void {
    for (const seg of this.all) {
      for (const g of seg.groups) this.engine.pool.free(g.data);
      this.engine.pool.free(seg.minVal);
      this.engine.pool.free(seg.minPos);
    }
    this.all.length = 0;
    this.free.length = 0;
  }
}
