/**
 * The one place that knows buffer sizes, alignment and how work is split to the device's
 * limits (maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupsPerDimension).
 */
import { BufferUsage, GpuContext, GpuError, MapModes } from './context.js';

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Creates a buffer (size rounded up to 4 bytes); refuses sizes the device cannot hold with a clear error. */
export function createBuffer(ctx: GpuContext, byteSize: number, usage: number, label: string): GPUBuffer {
  const size = Math.max(4, alignUp(byteSize, 4));
  if (size > ctx.limits.maxBufferSize) {
    throw new GpuError(`${label}: ${size} bytes exceed the device's maxBufferSize ${ctx.limits.maxBufferSize}; the caller must chunk the work`);
  }
  return ctx.device.createBuffer({ size, usage, label });
}

export const STORAGE_IN = (): number => BufferUsage.STORAGE | BufferUsage.COPY_DST;
export const STORAGE_OUT = (): number => BufferUsage.STORAGE | BufferUsage.COPY_SRC;
export const STORAGE_INOUT = (): number => BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** Uploads `data` at byte offset 0; pads to a multiple of 4 bytes as writeBuffer requires. */
export function upload(ctx: GpuContext, buffer: GPUBuffer, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const whole = bytes.byteLength & ~3;
  if (whole > 0) ctx.device.queue.writeBuffer(buffer, 0, bytes.buffer as ArrayBuffer, bytes.byteOffset, whole);
  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    ctx.device.queue.writeBuffer(buffer, whole, tail);
  }
}

/**
 * Largest number of items of `bytesPerItem` bytes that one binding (and one buffer) may hold,
 * optionally capped by a memory budget.
 */
export function maxItemsPerBinding(ctx: GpuContext, bytesPerItem: number, budgetBytes = Infinity): number {
  const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize, budgetBytes);
  return Math.floor(limit / bytesPerItem);
}

/**
 * Splits `workgroups` over x and y so neither exceeds maxComputeWorkgroupsPerDimension; shaders
 * linearise with `wid.y * num_workgroups.x + wid.x` and ignore ids past the total.
 */
export function dispatchSize(ctx: GpuContext, workgroups: number): [number, number] {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (workgroups <= maxDim) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / maxDim);
  if (y > maxDim) throw new GpuError(`dispatch of ${workgroups} workgroups exceeds ${maxDim}^2; the caller must chunk the work`);
  return [Math.ceil(workgroups / y), y];
}

/** A uniform buffer from 32-bit words (u32 / i32 / f32 written through their bit patterns). */
export function uniformBuffer(ctx: GpuContext, words: ArrayBufferView, label: string): GPUBuffer {
  const buf = createBuffer(ctx, alignUp(words.byteLength, 16), BufferUsage.UNIFORM | BufferUsage.COPY_DST, label);
  upload(ctx, buf, words);
  return buf;
}

/** Copies [offset, offset + size) of each source into one staging buffer and maps it once. */
export async function readBack(ctx: GpuContext, parts: { buffer: GPUBuffer; offset: number; size: number }[]): Promise<ArrayBuffer> {
  const total = parts.reduce((acc, p) => acc + alignUp(p.size, 4), 0);
  const staging = createBuffer(ctx, total, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
  try {
    const enc = ctx.device.createCommandEncoder();
    let at = 0;
    for (const p of parts) {
      if (p.size > 0) enc.copyBufferToBuffer(p.buffer, p.offset, staging, at, alignUp(p.size, 4));
      at += alignUp(p.size, 4);
    }
    ctx.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MapModes.READ);
    return staging.getMappedRange().slice(0);
  } finally {
    staging.destroy();
  }
}

/**
 * Encodes copies of `parts` into `staging` (MAP_READ | COPY_DST) on `enc`; after submission,
 * `mapStaging` hands the mapped bytes to a consumer that must copy what it needs out.
 */
export function encodeCopies(enc: GPUCommandEncoder, staging: GPUBuffer, parts: { buffer: GPUBuffer; offset: number; size: number }[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(at);
    if (p.size > 0) enc.copyBufferToBuffer(p.buffer, p.offset, staging, at, alignUp(p.size, 4));
    at += alignUp(p.size, 4);
  }
  return offsets;
}

export async function mapStaging(staging: GPUBuffer, size: number, consume: (bytes: ArrayBuffer) => void): Promise<void> {
  await staging.mapAsync(MapModes.READ, 0, alignUp(size, 4));
  try {
    consume(staging.getMappedRange(0, alignUp(size, 4)));
  } finally {
    staging.unmap();
  }
}

/** Idle staging buffers kept for reuse at most (bytes). */
const STAGING_KEEP_BYTES = 256 * 1024 * 1024;

/**
 * The one owner of an engine's GPU buffers: scratch buffers reused by role (grown, never
 * shrunk), uploads into them, MAP_READ staging buffers lent out for one readback at a time,
 * and long-lived allocations (device windows). It counts the bytes it holds, so the engine can
 * report its GPU memory and keep within a budget.
 */
export class BufferPool {
  private readonly buffers = new Map<string, GPUBuffer>();
  private readonly freeStaging: GPUBuffer[] = [];
  private readonly owned = new Set<GPUBuffer>();
  private held = 0;
  /** Most bytes held at once. */
  peakBytes = 0;

  constructor(private readonly ctx: GpuContext) {}

  /** Bytes of GPU memory this pool holds now. */
  get bytes(): number {
    return this.held;
  }

  private count(delta: number): void {
    this.held += delta;
    if (this.held > this.peakBytes) this.peakBytes = this.held;
  }

  /** The scratch buffer of `role`, at least `byteSize` bytes with exactly `usage`. */
  get(role: string, byteSize: number, usage: number): GPUBuffer {
    const need = Math.max(4, alignUp(byteSize, 4));
    const cur = this.buffers.get(role);
    if (cur && cur.size >= need && cur.usage === usage) return cur;
    if (cur) {
      // Dawn keeps a destroyed buffer alive until the submissions using it have run.
      cur.destroy();
      this.count(-cur.size);
    }
    const buf = createBuffer(this.ctx, need, usage, role);
    this.count(buf.size);
    this.buffers.set(role, buf);
    return buf;
  }

  /**
   * The scratch buffer of `role` (storage, copy destination) holding `data`. writeBuffer is
   * ordered with submissions on the queue, so a role may be reused by the next unit of work as
   * soon as this one is submitted.
   */
  upload(role: string, data: ArrayBufferView): GPUBuffer {
    const b = this.get(role, data.byteLength, STORAGE_IN());
    upload(this.ctx, b, data);
    return b;
  }

  /** A MAP_READ | COPY_DST buffer of at least `byteSize` bytes, lent until releaseStaging. */
  acquireStaging(byteSize: number): GPUBuffer {
    const need = Math.max(4, alignUp(byteSize, 4));
    const i = this.freeStaging.findIndex((b) => b.size >= need);
    if (i >= 0) return this.freeStaging.splice(i, 1)[0];
    // Grown in powers of two so that a few buffers serve every size.
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(need)));
    const b = createBuffer(this.ctx, Math.max(need, Math.min(size, this.ctx.limits.maxBufferSize)), BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'staging');
    this.count(b.size);
    return b;
  }

  releaseStaging(b: GPUBuffer): void {
    // A few kept for reuse, within STAGING_KEEP_BYTES: a large candidate readback must not
    // leave hundreds of MiB of idle staging behind (they count against gpuMemoryLimit's reserve).
    const kept = this.freeStaging.reduce((acc, x) => acc + x.size, 0);
    if (this.freeStaging.length >= 8 || kept + b.size > STAGING_KEEP_BYTES) {
      b.destroy();
      this.count(-b.size);
      return;
    }
    this.freeStaging.push(b);
  }

  /** A long-lived buffer owned by the caller until `free` (device windows). */
  allocate(label: string, byteSize: number, usage: number): GPUBuffer {
    const b = createBuffer(this.ctx, byteSize, usage, label);
    this.owned.add(b);
    this.count(b.size);
    return b;
  }

  free(b: GPUBuffer): void {
    if (!this.owned.delete(b)) return;
    b.destroy();
    this.count(-b.size);
  }

  destroy(): void {
    for (const b of this.buffers.values()) b.destroy();
    for (const b of this.freeStaging) b.destroy();
    for (const b of this.owned) b.destroy();
    this.buffers.clear();
    this.freeStaging.length = 0;
    this.owned.clear();
    this.held = 0;
  }
}
