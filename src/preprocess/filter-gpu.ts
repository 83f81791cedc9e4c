/**
 * GPU twin of filter.ts + minima.ts: shaders/dog_filter.wgsl and shaders/ms_minima.wgsl.
 * The host uploads one chunk of raw samples (int8/uint8/int16/uint16 as packed file bytes,
 * float32 as is, other types converted once to float32), runs both shaders in one submission
 * and reads filtered data and minima back in one mapping.
 */
import type { DataType } from '../io/dtype.js';
import { BufferUsage, GpuContext, GpuError } from '../gpu/context.js';
import { BufferPool, STORAGE_IN, STORAGE_OUT, alignUp, dispatchSize, encodeCopies, mapStaging, maxItemsPerBinding, uniformBuffer, upload } from '../gpu/buffers.js';
import { bindBuffers, getPipeline } from '../gpu/pipelines.js';
import { dogTaps, filterHalo, filterWidths } from './constants.js';
import type { BlockDestination } from './filter.js';

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

export class GpuFilter {
  private readonly pool: BufferPool;
  private readonly taps = new Map<string, GPUBuffer>();

  constructor(readonly ctx: GpuContext) {
    this.pool = new BufferPool(ctx);
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
   * Filters `numMs` ms blocks from `raw` (sample-major, numMs*S + 2*halo rows, encoded as
   * `enc`: packed bytes for direct modes, a Float32Array otherwise) and writes data and minima
   * at ms slot `destMs` of `dest`.
   */
  async run(raw: ArrayBufferView, enc: RawEncoding, numMs: number, polarity: number, dest: BlockDestination, destMs: number): Promise<void> {
    const ctx = this.ctx;
    const C = dest.numChannels;
    const S = dest.samplesPerMs;
    const halo = filterHalo(S);
    if (2 * halo > MAX_HALO2) throw new GpuError(`sampling rate too high for dog_filter.wgsl: 8w = ${2 * halo} > ${MAX_HALO2}`);
    if (filterWidths(S).wide === 0) {
      // fs < 5 kHz: both kernels are the identity and y is exactly 0 (spec §3).
      dest.data.fill(0, destMs * C * S, (destMs + numMs) * C * S);
      dest.minVal.fill(0, destMs * C, (destMs + numMs) * C);
      dest.minPos.fill(0, destMs * C, (destMs + numMs) * C);
      return;
    }
    const outSamples = numMs * S;
    const outCount = numMs * C * S;
    const minCount = numMs * C;
    const tilesPerChannel = Math.ceil(outSamples / TILE);
    await ctx.run('DoG filter', async () => {
      const [dogPipe, minPipe] = await Promise.all([
        getPipeline(ctx, 'dog_filter.wgsl', 'dog_filter'),
        getPipeline(ctx, 'ms_minima.wgsl', 'ms_minima'),
      ]);
      const rawBuf = this.pool.get('raw', raw.byteLength, STORAGE_IN());
      upload(ctx, rawBuf, raw);
      const outBuf = this.pool.get('filtered', outCount * 4, STORAGE_OUT());
      const minValBuf = this.pool.get('minVal', minCount * 4, STORAGE_OUT());
      const minPosBuf = this.pool.get('minPos', minCount * 4, STORAGE_OUT());
      const dogParams = uniformBuffer(ctx, new Uint32Array([C, S, outSamples, halo, enc.mode, tilesPerChannel, 0, 0]), 'dog params');
      const minParams = uniformBuffer(ctx, new Uint32Array([minCount, S, 0, 0]), 'minima params');
      try {
        const enc2 = ctx.device.createCommandEncoder();
        const pass = enc2.beginComputePass();
        pass.setPipeline(dogPipe);
        pass.setBindGroup(0, bindBuffers(ctx, dogPipe, [rawBuf, this.tapsBuffer(S, polarity), outBuf, dogParams]));
        const [dx, dy] = dispatchSize(ctx, C * tilesPerChannel);
        pass.dispatchWorkgroups(dx, dy);
        pass.setPipeline(minPipe);
        pass.setBindGroup(0, bindBuffers(ctx, minPipe, [{ buffer: outBuf, size: alignUp(outCount * 4, 4) }, minValBuf, minPosBuf, minParams]));
        const [mx, my] = dispatchSize(ctx, Math.ceil(minCount / 64));
        pass.dispatchWorkgroups(mx, my);
        pass.end();
        // Results go to one pooled staging buffer in the same submission and are copied from
        // the mapping straight into the destination (no intermediate host copy).
        const total = outCount * 4 + 2 * minCount * 4;
        const staging = this.pool.get('filter staging', total, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
        const at = encodeCopies(enc2, staging, [
          { buffer: outBuf, offset: 0, size: outCount * 4 },
          { buffer: minValBuf, offset: 0, size: minCount * 4 },
          { buffer: minPosBuf, offset: 0, size: minCount * 4 },
        ]);
        ctx.device.queue.submit([enc2.finish()]);
        await mapStaging(staging, total, (bytes) => {
          dest.data.set(new Float32Array(bytes, at[0], outCount), destMs * C * S);
          dest.minVal.set(new Float32Array(bytes, at[1], minCount), destMs * C);
          dest.minPos.set(new Int32Array(bytes, at[2], minCount), destMs * C);
        });
      } finally {
        dogParams.destroy();
        minParams.destroy();
      }
    });
  }

  dispose(): void {
    this.pool.destroy();
    this.taps.clear();
  }
}
