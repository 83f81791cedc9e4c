/**
 * The device-resident segment window of the WebGPU engine: a segment's filtered data and its
 * per-ms minima live in GPU memory from the filter through the whole per-segment loop; the
 * host sees only what the loop's decisions need (engines/webgpu/kernels.ts).
 *
 * Layout, chosen for the sort kernels, which work channel by channel:
 * - filtered data channel-major, in channel groups: group g holds channels
 *   [c0, c0 + count) as rows of rowLen = capacityMs * S samples, (c - c0) * rowLen + t, in one
 *   buffer no larger than the device's storage binding and buffer limits (one binding per
 *   group; a kernel over several channels dispatches once per group it touches);
 * - minima channel-major over all channels: minVal / minPos [c * capacityMs + m].
 *
 * How many windows are in flight is planned from the GPU memory budget (planDeviceWindows);
 * the planning is plain arithmetic, tested without a GPU.
 */
import type { SortSegment } from '../../stages/sort/kernels.js';
import { allocateFilteredBuffer, type FilteredBuffer } from '../../core/window.js';
import { GpuError, type GpuContext } from './context.js';
import { readBack } from './buffers.js';

/** The device limits the plan depends on (GpuLimits has them). */
export interface WindowLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface WindowPlan {
  capacityMs: number;
  /** Channels per data buffer (the last group may have fewer). */
  groupChannels: number;
  groups: number;
  /** GPU bytes of one window: data + both minima arrays. */
  bytesPerWindow: number;
  /** Windows that fit the budget beside the reserve (>= 1), at most maxWindows. */
  windows: number;
}

/**
 * GPU memory kept beside the windows: the filter's chunks in flight (two raw uploads and their
 * device copies, pass 1's outputs) and the kernels' scratch (candidate waveforms, at most
 * M/2 candidates x neighbours x 2S floats), planned generously.
 */
export const DEVICE_RESERVE_BYTES = 768 * 1024 * 1024;

/** More windows than this gain nothing: the host's clustering for them is the bottleneck. */
export const MAX_DEVICE_WINDOWS = 4;

/**
 * Plans device windows of `capacityMs` ms for C channels at S samples/ms within `budgetBytes`
 * of GPU memory. Throws a RangeError naming gpuMemoryLimit when not even one window fits, and
 * a GpuError when the device's binding limits cannot hold one channel's row or the minima.
 */
export function planDeviceWindows(C: number, S: number, capacityMs: number, limits: WindowLimits, budgetBytes: number, maxWindows = MAX_DEVICE_WINDOWS): WindowPlan {
  const perBinding = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const rowBytes = capacityMs * S * 4;
  // u32 indexing inside a group's buffer: at most 2^32 - 1 float elements (always true below 16 GiB bindings).
  const groupChannels = Math.min(C, Math.floor(perBinding / rowBytes), Math.floor((2 ** 32 - 1) / (capacityMs * S)));
  if (groupChannels < 1) {
    throw new GpuError(`one channel of a ${capacityMs}-ms window (${rowBytes} bytes) exceeds the device's storage binding limit (${perBinding} bytes); lower minSegmentLength`);
  }
  const minimaBytes = C * capacityMs * 4;
  if (minimaBytes > perBinding) {
    throw new GpuError(`the per-ms minima of ${C} channels x ${capacityMs} ms (${minimaBytes} bytes) exceed the device's storage binding limit (${perBinding} bytes); lower minSegmentLength or use backend "cpu"`);
  }
  const groups = Math.ceil(C / groupChannels);
  const bytesPerWindow = C * rowBytes + 2 * minimaBytes;
  const reserve = Math.min(DEVICE_RESERVE_BYTES, budgetBytes / 4);
  const fit = Math.floor((budgetBytes - reserve) / bytesPerWindow);
  if (fit < 1) {
    const need = Math.ceil(bytesPerWindow + reserve);
    throw new RangeError(
      `gpuMemoryLimit ${budgetBytes} bytes cannot hold one segment window on the GPU: a ${capacityMs / 1000}-s segment of ${C} channels at ` +
        `${S} samples/ms takes ${bytesPerWindow} bytes plus ${Math.round(reserve)} for the filter and the kernels; raise gpuMemoryLimit to at least ${need} ` +
        `(if the GPU has that much), lower minSegmentLength, or use backend "cpu"`);
  }
  return { capacityMs, groupChannels, groups, bytesPerWindow, windows: Math.max(1, Math.min(maxWindows, fit)) };
}

export interface ChannelGroup {
  c0: number;
  count: number;
  data: GPUBuffer;
}

let nextId = 1;

/** One device-resident window: the SortKernels handle of the WebGPU engine. */
export class DeviceSegment implements SortSegment {
  /** M of the segment it holds now (set by the filter). */
  numMs = 0;
  /** Names this window's own scratch buffers in the pool. */
  readonly id = nextId++;
  constructor(
    readonly numChannels: number,
    readonly samplesPerMs: number,
    readonly capacityMs: number,
    readonly groups: readonly ChannelGroup[],
    readonly minVal: GPUBuffer,
    readonly minPos: GPUBuffer,
  ) {}

  get rowLen(): number {
    return this.capacityMs * this.samplesPerMs;
  }

  /** Index of the group holding channel c. */
  groupOf(c: number): number {
    return Math.floor(c / this.groups[0].count);
  }

  /**
   * Splits channels (given by position k in a list) by group: for each group that holds some,
   * the positions and channels in it, in list order.
   */
  byGroup(channels: ArrayLike<number>): { group: ChannelGroup; ks: number[]; cs: number[] }[] {
    const out = new Map<number, { group: ChannelGroup; ks: number[]; cs: number[] }>();
    for (let k = 0; k < channels.length; k++) {
      const g = this.groupOf(channels[k]);
      let e = out.get(g);
      if (!e) {
        e = { group: this.groups[g], ks: [], cs: [] };
        out.set(g, e);
      }
      e.ks.push(k);
      e.cs.push(channels[k]);
    }
    return [...out.values()];
  }
}

/**
 * Copies slots [0, numMs) of a host window into a device window (channel-major), minima
 * included; seg.numMs becomes numMs. For tests that run a kernel and its twin on the same bits.
 */
export function writeHostWindow(ctx: GpuContext, seg: DeviceSegment, buf: FilteredBuffer, numMs: number): void {
  const C = seg.numChannels;
  const S = seg.samplesPerMs;
  if (buf.numChannels !== C || buf.samplesPerMs !== S || numMs > seg.capacityMs || numMs > buf.capacityMs) {
    throw new RangeError('writeHostWindow: the host window does not match the device window');
  }
  const row = new Float32Array(numMs * S);
  const mv = new Float32Array(numMs);
  const mp = new Int32Array(numMs);
  for (const g of seg.groups) {
    for (let r = 0; r < g.count; r++) {
      const c = g.c0 + r;
      for (let m = 0; m < numMs; m++) {
        row.set(buf.data.subarray((m * C + c) * S, (m * C + c + 1) * S), m * S);
        mv[m] = buf.minVal[m * C + c];
        mp[m] = buf.minPos[m * C + c];
      }
      ctx.device.queue.writeBuffer(g.data, r * seg.rowLen * 4, row);
      ctx.device.queue.writeBuffer(seg.minVal, c * seg.capacityMs * 4, mv);
      ctx.device.queue.writeBuffer(seg.minPos, c * seg.capacityMs * 4, mp);
    }
  }
  seg.numMs = numMs;
}

/** Reads slots [0, seg.numMs) of a device window back into a host window (ms, channel, S) with its minima. */
export async function readDeviceWindow(ctx: GpuContext, seg: DeviceSegment): Promise<FilteredBuffer> {
  const C = seg.numChannels;
  const S = seg.samplesPerMs;
  const M = seg.numMs;
  const out = allocateFilteredBuffer(C, S, Math.max(1, M));
  const parts = [
    ...seg.groups.map((g) => ({ buffer: g.data, offset: 0, size: g.count * seg.rowLen * 4 })),
    { buffer: seg.minVal, offset: 0, size: C * seg.capacityMs * 4 },
    { buffer: seg.minPos, offset: 0, size: C * seg.capacityMs * 4 },
  ];
  const bytes = await ctx.run('reading a device window', () => readBack(ctx, parts));
  let at = 0;
  for (const g of seg.groups) {
    const d = new Float32Array(bytes, at, g.count * seg.rowLen);
    for (let r = 0; r < g.count; r++) {
      const c = g.c0 + r;
      for (let m = 0; m < M; m++) out.data.set(d.subarray(r * seg.rowLen + m * S, r * seg.rowLen + (m + 1) * S), (m * C + c) * S);
    }
    at += Math.ceil((g.count * seg.rowLen * 4) / 4) * 4;
  }
  const mv = new Float32Array(bytes, at, C * seg.capacityMs);
  const mp = new Int32Array(bytes, at + C * seg.capacityMs * 4, C * seg.capacityMs);
  for (let c = 0; c < C; c++) {
    for (let m = 0; m < M; m++) {
      out.minVal[m * C + c] = mv[c * seg.capacityMs + m];
      out.minPos[m * C + c] = mp[c * seg.capacityMs + m];
    }
  }
  return out;
}
