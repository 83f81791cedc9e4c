/**
 * GPU twin of filter.ts + minima.ts: shaders/dog_filter.wgsl and shaders/ms_minima.wgsl.
 * The host uploads one chunk of raw samples (int8/uint8/int16/uint16 as packed file bytes,
 * float32 as is, other types converted once to float32). Into a host window: both shaders run
 * in one submission and minima (plus first samples, or the filtered data, when the window
 * asks for them) come back in one mapping. Into a device window: the filter writes the
 * window's channel groups in place and nothing comes back (minimaOnDevice follows).
 * `submit` / `collect` split the two halves so a caller can keep two chunks in flight
 * (GpuSignalProcessor double-buffers).
 */
import type { DataType } from '../../formats/dtype.js';
import { BufferUsage, GpuContext, GpuError, MapModes } from './context.js';
import { BufferPool, STORAGE_IN, STORAGE_OUT, alignUp, dispatchSize, encodeCopies, maxItemsPerBinding, upload } from './buffers.js';
import { bindBuffers, getPipeline } from './pipelines.js';
import { dogTaps, filterHalo, filterWidths } from '../../stages/filter/taps.js';
import type { FilteredBuffer } from '../../core/window.js';
import type { DeviceStage } from '../../result/info.js';
import { DeviceSegment } from './device-window.js';
import { groupsFor, program, type Runner } from './program.js';

/** The filter and the minima as programs of the Runner (pass 2, into device windows). */
const DOG_INTO_WINDOW = program('dog_filter.wgsl', 'dog_filter', 256, 'filter');
const MINIMA_OF_WINDOW = program('ms_minima_rows.wgsl', 'ms_minima_rows', 64, 'minima');

/** How raw samples reach the shader: `mode` of dog_filter.wgsl and whether bytes go up as stored. */
export interface RawEncoding { mode: number; direct: boolean; bytesPerItem: number }

export function rawEncoding(t: DataType): RawEncoding {
  switch (t) {
    case 'int16': return { mode: 0, direct: true, bytesPerItem: 2 };
    case 'uint16': return { mode: 1, direct: true, bytesPerItem: 2 };
    case 'int8': return { mode: 2, direct: true, bytesPerItem: 1 };
    case 'uint8': return { mode: 3, direct: true, bytesPerItem: 1 };
    case 'float32': return { mode: 4, direct: true, bytesPerItem: 4 };
    // int32/uint32/int64/uint64/float64: decoded to float32 on the host (spec: signals are float32).
    default: return { mode: 4, direct: false, bytesPerItem: 4 };
  }
}

const TILE = 1024;          // dog_filter.wgsl TILE
const MAX_HALO2 = 1024;     // dog_filter.wgsl MAX_HALO2
/** Per-chunk budget for the filtered output on the device (the input is smaller). */
const OUTPUT_BUDGET_BYTES = 256 * 1024 * 1024;

/** Marker for `submit`: the input is in the slot's upload buffer (see `GpuFilter.stage`). */
export const STAGED: unique symbol = Symbol('staged upload');

function createMappedUpload(ctx: GpuContext, size: number, label: string): GPUBuffer {
  if (size > ctx.limits.maxBufferSize) {
    throw new GpuError(`${label}: ${size} bytes exceed the device's maxBufferSize ${ctx.limits.maxBufferSize}; the caller must chunk the work`);
  }
  return ctx.device.createBuffer({ size, usage: BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC, mappedAtCreation: true, label });
}

interface Upload { buffer: GPUBuffer; mapped: boolean; mapping: Promise<void> | null; staged: number; range: ArrayBuffer | null }

/** A submitted chunk: `collect()` waits for the GPU and copies the results into the destination. */
export interface PendingChunk { collect(): Promise<void> }

export class GpuFilter {
  private readonly pool: BufferPool;
  private readonly ownsPool: boolean;
  private readonly taps = new Map<string, GPUBuffer>();
  private readonly busy = new Set<number>();
  /** Per-slot MAP_WRITE | COPY_SRC upload buffers (see `stage`). */
  private readonly uploads = new Map<number, Upload>();
  /** Milliseconds spent copying mapped results into destinations (stage timing). */
  copyMs = 0;

  constructor(readonly ctx: GpuContext, private readonly stages: Set<DeviceStage> = new Set(), pool?: BufferPool, private readonly runner?: Runner) {
    this.ownsPool = pool === undefined;
    this.pool = pool ?? new BufferPool(ctx);
  }

  /** Largest number of ms blocks one `run` may take for C channels (device limits and budget). */
  maxChunkMs(numChannels: number, samplesPerMs: number, bytesPerItem: number): number {
    const halo = filterHalo(samplesPerMs);
    const outPerMs = numChannels * samplesPerMs * 4;
    const byOut = Math.floor(maxItemsPerBinding(this.ctx, 1, OUTPUT_BUDGET_BYTES) / outPerMs);
    const inPerMs = numChannels * samplesPerMs * bytesPerItem;
    const byIn = Math.floor((maxItemsPerBinding(this.ctx, 1) - 2 * halo * numChannels * bytesPerItem - 4) / inPerMs);
    // Index arithmetic in the shader is u32 over raw items.
    const byIndex = Math.floor((2 ** 32 - 1) / (numChannels * samplesPerMs * 4)) - 1;
    const n = Math.min(byOut, byIn, byIndex);
    if (n < 1) {
      throw new GpuError(`one ms of ${numChannels} channels does not fit the device's storage binding limit ${this.ctx.limits.maxStorageBufferBindingSize} bytes`);
    }
    return n;
  }

  private tapsBuffer(samplesPerMs: number, polarity: number): GPUBuffer {
    const key = `${samplesPerMs}:${polarity}`;
    let buf = this.taps.get(key);
    if (!buf) {
      const full = dogTaps(samplesPerMs);
      const h = filterHalo(samplesPerMs);
      const half = new Float32Array(h + 1);
      for (let j = 0; j <= h; j++) half[j] = polarity * full[h + j];
      buf = this.pool.get(`taps ${key}`, half.byteLength, STORAGE_IN());
      upload(this.ctx, buf, half);
      this.taps.set(key, buf);
    }
    return buf;
  }

  /**
   * Maps the upload buffer of `slot` (MAP_WRITE, reused from chunk to chunk, grown on demand)
   * and returns a writable view of its first `byteLength` bytes: the caller fills it (e.g. reads
   * the file straight into it) and then calls `submit(STAGED, ...)` on the same slot, which
   * unmaps it and copies it to the device in the same submission as the filter. This replaces
   * queue.writeBuffer, which for multi-MiB data allocates a fresh staging buffer per call and
   * measured 4-5x slower than a reused mapped buffer (lavapipe: 23 MB 14 ms vs 3 ms).
   * Resolves once the GPU has copied the slot's previous upload (its re-mapping is requested
   * right after that copy is submitted, so it does not wait for the filter). The caller must not touch
   * the view after `submit` (it is detached on unmap).
   */
  async stage(slot: number, byteLength: number): Promise<Uint8Array> {
    const need = Math.max(4, alignUp(byteLength, 4));
    let up = this.uploads.get(slot);
    if (up && up.mapping) {
      // Mapping was requested right after the slot's last submission (see submit).
      const ok = await up.mapping.then(() => true, () => false);
      up.mapping = null;
      if (ok) up.mapped = true;
      else this.ctx.assertAlive();   // otherwise a fresh buffer is made below
    }
    if (!up || up.buffer.size < need || (!up.mapped && up.mapping === null)) {
      up?.buffer.destroy();   // Dawn keeps it alive until a pending copy from it has run
      const buffer = await this.ctx.run('DoG filter upload buffer', async () => createMappedUpload(this.ctx, need, `upload ${slot}`));
      up = { buffer, mapped: true, mapping: null, staged: 0, range: null };
      this.uploads.set(slot, up);
    }
    up.staged = byteLength;
    // A mapping hands out its range once (a second getMappedRange would overlap): keep it
    // until unmap, since a failed request can leave the slot mapped for the next one.
    up.range ??= up.buffer.getMappedRange(0, up.buffer.size);
    return new Uint8Array(up.range, 0, byteLength);
  }

  /**
   * Filters `numMs` ms blocks from `raw` (sample-major, numMs*S + 2*halo rows, encoded as
   * `enc`: packed bytes for direct modes, a Float32Array otherwise) and writes data and minima
   * at ms slot `destMs` of `dest`. Serial: `submit` then `collect`.
   */
  async run(raw: ArrayBufferView, enc: RawEncoding, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void> {
    const chunk = await this.submit(raw, enc, numMs, polarity, dest, destMs, 0);
    await chunk.collect();
  }

  /**
   * Uploads `raw` and submits the filter, the minima and the copy of both into a staging
   * buffer, on buffer set `slot` (each slot has its own device, uniform and staging buffers, so
   * chunk k+1 can be submitted while chunk k is still being computed or read back). `raw` is
   * the data (uploaded with writeBuffer) or STAGED: what `stage(slot, ...)` returned was filled. Resolves
   * once submitted; `raw` may be reused then (writeBuffer copies it). The caller must
   * `collect()` a slot's chunk before submitting on that slot again. `collect` maps the
   * staging buffer and copies from the mapping straight into `dest` (one copy per array).
   */
  async submit(raw: ArrayBufferView | typeof STAGED, enc: RawEncoding, numMs: number, polarity: number, dest: FilteredBuffer | DeviceSegment, destMs: number, slot: number): Promise<PendingChunk> {
    const ctx = this.ctx;
    const C = dest.numChannels;
    const S = dest.samplesPerMs;
    const halo = filterHalo(S);
    if (2 * halo > MAX_HALO2) throw new GpuError(`sampling rate too high for dog_filter.wgsl: 8w = ${2 * halo} > ${MAX_HALO2}`);
    if (this.busy.has(slot)) throw new Error(`GpuFilter.submit: slot ${slot} still holds a chunk that was not collected`);
    const up = raw === STAGED ? this.uploads.get(slot) : undefined;
    if (raw === STAGED && !up?.mapped) throw new Error(`GpuFilter.submit: slot ${slot} has no staged upload (call stage first)`);
    if (dest instanceof DeviceSegment) return this.submitDevice(raw, up, enc, numMs, polarity, dest, destMs, slot);
    if (filterWidths(S).wide === 0) {
      // fs < 5 kHz: both kernels are the identity and y is exactly 0 (spec §3).
      if (up) {
        up.buffer.unmap();
        up.mapped = false;
        up.range = null;
      }
      return {
        collect: async () => {
          if (dest.data.length > 0) dest.data.fill(0, destMs * C * S, (destMs + numMs) * C * S);
          dest.firstSamples?.fill(0, destMs * C, (destMs + numMs) * C);
          dest.minVal.fill(0, destMs * C, (destMs + numMs) * C);
          dest.minPos.fill(0, destMs * C, (destMs + numMs) * C);
        },
      };
    }
    const outSamples = numMs * S;
    const outCount = numMs * C * S;
    const minCount = numMs * C;
    const tilesPerChannel = Math.ceil(outSamples / TILE);
    const withData = dest.data.length > 0;
    const withFirst = dest.firstSamples !== undefined;
    const total = (withData ? outCount * 4 : 0) + (withFirst ? 3 : 2) * minCount * 4;
    const sub = await ctx.run('DoG filter', async () => {
      const [dogPipe, minPipe] = await Promise.all([
        getPipeline(ctx, 'dog_filter.wgsl', 'dog_filter'),
        getPipeline(ctx, 'ms_minima.wgsl', 'ms_minima'),
      ]);
      const rawBytes = up ? up.staged : (raw as ArrayBufferView).byteLength;
      const rawBuf = this.pool.get(`raw ${slot}`, rawBytes, STORAGE_IN());
      if (!up) upload(ctx, rawBuf, raw as ArrayBufferView);
      const outBuf = this.pool.get(`filtered ${slot}`, outCount * 4, STORAGE_OUT());
      const minValBuf = this.pool.get(`minVal ${slot}`, minCount * 4, STORAGE_OUT());
      const minPosBuf = this.pool.get(`minPos ${slot}`, minCount * 4, STORAGE_OUT());
      // Uniforms are pooled per slot and written through the queue (ordered with the submissions).
      const dogParams = this.pool.get(`dog params ${slot}`, 48, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
      // Host window layout (ms, channel, S): ch_stride S, ms_stride C*S.
      upload(ctx, dogParams, new Uint32Array([C, S, outSamples, halo, enc.mode, tilesPerChannel, 0, C, S, C * S, 0, 0]));
      const firstBuf = this.pool.get(`first ${slot}`, minCount * 4, STORAGE_OUT());
      const minParams = this.pool.get(`minima params ${slot}`, 16, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
      upload(ctx, minParams, new Uint32Array([minCount, S, 0, 0]));
      if (up) this.copyStaged(up, rawBuf, rawBytes);
      const enc2 = ctx.device.createCommandEncoder();
      const pass = enc2.beginComputePass();
      pass.setPipeline(dogPipe);
      pass.setBindGroup(0, bindBuffers(ctx, dogPipe, [rawBuf, this.tapsBuffer(S, polarity), outBuf, dogParams]));
      const [dx, dy] = dispatchSize(ctx, C * tilesPerChannel);
      pass.dispatchWorkgroups(dx, dy);
      pass.setPipeline(minPipe);
      pass.setBindGroup(0, bindBuffers(ctx, minPipe, [{ buffer: outBuf, size: alignUp(outCount * 4, 4) }, minValBuf, minPosBuf, firstBuf, minParams]));
      const [mx, my] = dispatchSize(ctx, Math.ceil(minCount / 64));
      pass.dispatchWorkgroups(mx, my);
      pass.end();
      // Results go to the slot's staging buffer in the same submission: the filtered data only
      // when the destination holds samples (pass 1's minima-only windows read back 1/S of it).
      const staging = this.pool.get(`filter staging ${slot}`, total, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
      const at = encodeCopies(enc2, staging, [
        { buffer: outBuf, offset: 0, size: withData ? outCount * 4 : 0 },
        { buffer: minValBuf, offset: 0, size: minCount * 4 },
        { buffer: minPosBuf, offset: 0, size: minCount * 4 },
        { buffer: firstBuf, offset: 0, size: withFirst ? minCount * 4 : 0 },
      ]);
      ctx.device.queue.submit([enc2.finish()]);
      this.stages.add('filter');
      this.stages.add('minima');
      return { staging, at };
    });
    this.busy.add(slot);
    // Mapping starts now (it resolves when the GPU has finished this submission); it runs
    // outside ctx.run so the next chunk can be submitted meanwhile, and is tracked so that
    // releaseGpuContext waits for it.
    const mapped = ctx.track(sub.staging.mapAsync(MapModes.READ, 0, alignUp(total, 4)));
    mapped.catch(() => undefined);
    let collected: Promise<void> | null = null;
    return {
      collect: () => collected ??= (async () => {
        try {
          try {
            await mapped;
          } catch (e) {
            ctx.assertAlive();
            throw new GpuError(`DoG filter: reading the results back failed: ${(e as Error).message}`);
          }
          const t0 = performance.now();
          try {
            const bytes = sub.staging.getMappedRange(0, alignUp(total, 4));
            if (withData) dest.data.set(new Float32Array(bytes, sub.at[0], outCount), destMs * C * S);
            dest.minVal.set(new Float32Array(bytes, sub.at[1], minCount), destMs * C);
            dest.minPos.set(new Int32Array(bytes, sub.at[2], minCount), destMs * C);
            if (withFirst) dest.firstSamples!.set(new Float32Array(bytes, sub.at[3], minCount), destMs * C);
          } finally {
            sub.staging.unmap();
            this.copyMs += performance.now() - t0;
          }
        } finally {
          this.busy.delete(slot);
        }
      })(),
    };
  }

  /**
   * The upload goes in its own submission: a mapping resolves when the buffer's last
   * submission is done, so the upload buffer comes back as soon as it was copied, not after
   * the filter has run (this matters where the compute is slow).
   */
  private copyStaged(up: Upload, rawBuf: GPUBuffer, rawBytes: number): void {
    const ctx = this.ctx;
    up.buffer.unmap();
    up.mapped = false;
    up.range = null;
    const copy = ctx.device.createCommandEncoder();
    copy.copyBufferToBuffer(up.buffer, 0, rawBuf, 0, alignUp(rawBytes, 4));
    ctx.device.queue.submit([copy.finish()]);
    up.mapping = ctx.track(up.buffer.mapAsync(MapModes.WRITE, 0, up.buffer.size));
    up.mapping.catch(() => undefined);
  }

  /**
   * A chunk into a device-resident window: the filter writes each channel group's rows at ms
   * `destMs` straight into the window's group buffers (channel-major), through the engine's
   * Runner (one submission, no readback). The minima follow once the whole segment is
   * filtered (`minimaOnDevice`).
   */
  private async submitDevice(raw: ArrayBufferView | typeof STAGED, up: Upload | undefined, enc: RawEncoding, numMs: number,
    polarity: number, seg: DeviceSegment, destMs: number, slot: number): Promise<PendingChunk> {
    const runner = this.requireRunner();
    const C = seg.numChannels;
    const S = seg.samplesPerMs;
    const halo = filterHalo(S);
    const outSamples = numMs * S;
    const tilesPerChannel = Math.ceil(outSamples / TILE);
    await runner.run('DoG filter into a device window', () => {
      const rawBytes = up ? up.staged : (raw as ArrayBufferView).byteLength;
      const rawBuf = this.pool.get(`raw ${slot}`, rawBytes, STORAGE_IN());
      if (!up) upload(this.ctx, rawBuf, raw as ArrayBufferView);
      else this.copyStaged(up, rawBuf, rawBytes);
      // fs < 5 kHz: both kernels are the identity and y is exactly 0 (spec §3).
      if (filterWidths(S).wide === 0) return { steps: seg.groups.map((g) => ({ kind: 'clear' as const, buffer: g.data, size: g.data.size })) };
      const taps = this.tapsBuffer(S, polarity);
      return {
        steps: seg.groups.map((g) => ({
          kind: 'dispatch' as const,
          dispatch: {
            program: DOG_INTO_WINDOW,
            buffers: [rawBuf, taps, g.data],
            // Channel-major rows of the group: ch_stride = row length, ms_stride = S.
            uniforms: new Uint32Array([C, S, outSamples, halo, enc.mode, tilesPerChannel, g.c0, g.count, seg.rowLen, S, destMs * S, 0]),
            workgroups: g.count * tilesPerChannel,
          },
        })),
      };
    });
    return { collect: async () => undefined };
  }

  /** The per-ms minima of slots [0, seg.numMs) of a device window, computed where it lives. */
  async minimaOnDevice(seg: DeviceSegment): Promise<void> {
    await this.requireRunner().run('per-ms minima of a device window', () => ({
      steps: seg.groups.map((g) => ({
        kind: 'dispatch' as const,
        dispatch: {
          program: MINIMA_OF_WINDOW,
          buffers: [g.data, seg.minVal, seg.minPos],
          uniforms: new Uint32Array([seg.numMs, g.count, g.c0, seg.samplesPerMs, seg.rowLen, seg.capacityMs, 0, 0]),
          workgroups: groupsFor(MINIMA_OF_WINDOW, seg.numMs * g.count),
        },
      })),
    }));
  }

  private requireRunner(): Runner {
    if (!this.runner) throw new Error('GpuFilter: filtering into a device window needs the engine\'s Runner');
    return this.runner;
  }

  dispose(): void {
    for (const u of this.uploads.values()) u.buffer.destroy();
    this.uploads.clear();
    if (this.ownsPool) this.pool.destroy();
    this.taps.clear();
  }
}
