/**
 * One WebGPU context per process (Dawn through the `webgpu` package), following the lifetime
 * rules in shared/notes/webgpu-runtime.md:
 * - the `create()` object is held in a module-level variable for the life of the process:
 *   if it is garbage-collected while a device lives, Dawn crashes or hangs;
 * - one device per adapter; loss is tracked and turned into a clear error;
 * - validation / internal / out-of-memory errors of every unit of GPU work are caught with
 *   error scopes and thrown as Errors carrying Dawn's (WGSL) message; an `uncapturederror`
 *   listener keeps Dawn from printing stray errors on stdout.
 */
// 'webgpu' (Dawn's native addon) is loaded on first use, not at import: the CPU backend must
// keep working where the addon cannot load (unsupported platform, old glibc).
import { withNativeStderrCaptured } from './native-stderr.js';

type WebGpuModule = { create(options: string[]): GPU; globals: object };

/** Thrown when WebGPU is requested but cannot be used; the message says what to install. */
export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

/** Thrown for a WebGPU validation / internal / out-of-memory error or a lost device. */
export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export const INSTALL_HINT =
  'Install a Vulkan driver that Dawn accepts: a vendor driver for a hardware GPU, or on a machine without one the ' +
  'lavapipe software driver from Mesa >= 25 (Debian 12: mesa-vulkan-drivers from bookworm-backports; `npm run setup` ' +
  'installs it or prints the command). Mesa 22 (Debian 12 default) is rejected by Dawn. Or choose backend "cpu".';

/** What the adapter request found, without creating a device. */
export interface AdapterProbe {
  adapter: GPUAdapter | null;
  /** Human-readable adapter name, e.g. "llvmpipe (Mesa 25.0.7, LLVM 15.0.6)" or "NVIDIA H100 ...". */
  name: string;
  /** True for CPU implementations (lavapipe/llvmpipe, SwiftShader, WARP, fallback adapters). */
  isSoftware: boolean;
  /** Why there is no adapter (when adapter is null). */
  reason?: string;
}

export type AdapterRequester = () => Promise<GPUAdapter | null>;

type Usage = { MAP_READ: number; MAP_WRITE: number; COPY_SRC: number; COPY_DST: number; STORAGE: number; UNIFORM: number; QUERY_RESOLVE: number };
type MapMode = { READ: number; WRITE: number };
/**
 * Node has no global GPUBufferUsage / GPUMapMode: these come from the `webgpu` package and are
 * set (live bindings) when it loads, i.e. before any context exists.
 */
export let BufferUsage: Usage = undefined as unknown as Usage;
export let MapModes: MapMode = undefined as unknown as MapMode;

// Held for the life of the process on purpose (see header). Never reset to null.
let gpuRoot: GPU | null = null;
let webgpuModule: Promise<WebGpuModule> | null = null;
let requester: AdapterRequester | null = null;
let probePromise: Promise<AdapterProbe> | null = null;
let contextPromise: Promise<GpuContext> | null = null;

async function rootGpu(): Promise<GPU> {
  if (gpuRoot === null) {
    webgpuModule ??= import('webgpu') as Promise<WebGpuModule>;
    const mod = await webgpuModule;
    const g = mod.globals as { GPUBufferUsage: Usage; GPUMapMode: MapMode };
    BufferUsage = g.GPUBufferUsage;
    MapModes = g.GPUMapMode;
    gpuRoot ??= mod.create(['backend=vulkan']);
  }
  return gpuRoot;
}

/**
 * Replace how the adapter is requested (tests: simulate "no adapter" or a given adapter).
 * Pass null to restore the default. Destroys the current context.
 */
export async function setAdapterRequester(fn: AdapterRequester | null): Promise<void> {
  await releaseGpuContext();
  requester = fn;
  probePromise = null;
}

const SOFTWARE_NAME = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|warp/i;

export function describeAdapter(adapter: GPUAdapter): { name: string; isSoftware: boolean } {
  const info = (adapter.info ?? {}) as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const parts = [info.description, info.device, info.vendor, info.architecture].filter((s) => typeof s === 'string' && s.length > 0);
  const fallback = info.isFallbackAdapter === true || (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const isSoftware = fallback || parts.some((p) => SOFTWARE_NAME.test(p));
  let name = info.description || [info.vendor, info.device].filter(Boolean).join(' ') || 'unknown adapter';
  // NVIDIA's Vulkan driver describes itself by driver version ("NVIDIA: 580.159.04 ..."); the
  // card's name is only in `device` ("nvidia-h100-80gb-hbm3"), so lead with it for hardware.
  if (!isSoftware && info.device && info.description && !info.description.toLowerCase().includes(info.device.toLowerCase())) {
    name = `${info.device} (${info.description})`;
  }
  return { name, isSoftware };
}

/** Requests (once per process, cached) an adapter and reports its name and kind. Never throws. */
export function probeAdapter(): Promise<AdapterProbe> {
  if (probePromise === null) {
    probePromise = (async (): Promise<AdapterProbe> => {
      let adapter: GPUAdapter | null = null;
      try {
        await rootGpu().catch((e: Error) => {
          throw new Error(`the webgpu package (Dawn) could not be loaded: ${e.message}`);
        });
      } catch (e) {
        if (!requester) return { adapter: null, name: 'none', isSoftware: false, reason: (e as Error).message };
      }
      try {
        // The first request enumerates the Vulkan devices, where Dawn prints its limit warnings.
        adapter = requester ? await requester() : await withNativeStderrCaptured(async () => (await rootGpu()).requestAdapter({ powerPreference: 'high-performance' }));
      } catch (e) {
        return { adapter: null, name: 'none', isSoftware: false, reason: `requesting a WebGPU adapter failed: ${(e as Error).message}` };
      }
      if (!adapter) {
        return { adapter: null, name: 'none', isSoftware: false, reason: 'no WebGPU adapter (no Vulkan driver that Dawn accepts)' };
      }
      return { adapter, ...describeAdapter(adapter) };
    })();
  }
  return probePromise;
}

/** Device limits the library relies on (requested up to what the adapter allows). */
export interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly isSoftware: boolean;
  readonly limits: GpuLimits;
  /** The device can write GPU timestamps into compute passes ('timestamp-query'). */
  readonly timestamps: boolean;
  private lostMessage: string | null = null;
  private destroyed = false;
  private lastUncaptured: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(device: GPUDevice, adapterName: string, isSoftware: boolean) {
    this.device = device;
    this.adapterName = adapterName;
    this.isSoftware = isSoftware;
    const l = device.limits;
    this.timestamps = device.features?.has?.('timestamp-query') === true;
    this.limits = {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    };
    device.lost.then((info) => {
      if (!this.destroyed) this.lostMessage = `${info.reason ?? 'unknown'}: ${info.message}`;
    }, () => undefined);
    const onError = (ev: Event): void => {
      ev.preventDefault();
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.lastUncaptured = err?.message ?? String(err);
    };
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else (device as unknown as { onuncapturederror: unknown }).onuncapturederror = onError;
  }

  get lost(): boolean {
    return this.lostMessage !== null || this.destroyed;
  }

  /** Throws a clear error when the device can no longer be used. */
  assertAlive(): void {
    if (this.destroyed) throw new GpuError('the WebGPU device was released (releaseGpuContext); create a new signal processor');
    if (this.lostMessage !== null) {
      throw new GpuError(`the WebGPU device was lost (${this.lostMessage}); restart the process or use backend "cpu"`);
    }
  }

  /**
   * Runs one unit of GPU work exclusively (error scopes are a device-global stack, so units
   * must not interleave) inside validation / internal / out-of-memory scopes; any error
   * becomes a thrown GpuError naming `label` and carrying Dawn's message.
   */
  run<T>(label: string, work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => this.scoped(label, work));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Error scopes around `work` without queueing: for nested steps inside `run` (scopes nest
   * correctly there); calling it outside `run` concurrently with other work mixes scopes.
   */
  async scoped<T>(label: string, work: () => Promise<T>): Promise<T> {
    this.assertAlive();
    const d = this.device;
    d.pushErrorScope('validation');
    d.pushErrorScope('internal');
    d.pushErrorScope('out-of-memory');
    let result: T | undefined;
    let thrown: unknown = null;
    try {
      result = await work();
    } catch (e) {
      thrown = e;
    }
    const oom = await d.popErrorScope();
    const internal = await d.popErrorScope();
    const validation = await d.popErrorScope();
    const err = oom ?? internal ?? validation;
    if (err) {
      const kind = err === oom ? 'out of GPU memory' : err === internal ? 'internal WebGPU error' : 'WebGPU validation error';
      throw new GpuError(`${label}: ${kind}: ${err.message}`);
    }
    if (thrown !== null) {
      if (this.lostMessage !== null) throw new GpuError(`${label}: the WebGPU device was lost (${this.lostMessage})`);
      throw thrown;
    }
    return result as T;
  }

  /**
   * Registers work that goes on after the `run` unit that started it returned (the mapping of
   * results submitted inside it, so that the next unit can be submitted meanwhile).
   * releaseGpuContext waits for it before destroying the device.
   */
  track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Resolves when every tracked promise has settled. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Last error that escaped every scope (diagnostics only). */
  get uncapturedError(): string | null {
    return this.lastUncaptured;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.destroy();
  }
}

/**
 * The process-wide context, created on first use. Throws GpuUnavailableError (with what to
 * install) when there is no adapter, GpuError when the device cannot be created.
 */
export function getGpuContext(): Promise<GpuContext> {
  if (contextPromise === null) {
    const p = (async (): Promise<GpuContext> => {
      const probe = await probeAdapter();
      if (!probe.adapter) throw new GpuUnavailableError(`WebGPU is not available: ${probe.reason}. ${INSTALL_HINT}`);
      const a = probe.adapter.limits;
      const requiredLimits: Record<string, number> = {
        maxBufferSize: a.maxBufferSize,
        maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
        maxComputeInvocationsPerWorkgroup: Math.min(256, a.maxComputeInvocationsPerWorkgroup),
        maxComputeWorkgroupSizeX: Math.min(256, a.maxComputeWorkgroupSizeX),
        maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
        maxStorageBuffersPerShaderStage: Math.min(10, a.maxStorageBuffersPerShaderStage),
      };
      let device: GPUDevice;
      try {
        // GPU stage times come from timestamp queries where the adapter has them.
        const requiredFeatures: GPUFeatureName[] = probe.adapter.features?.has?.('timestamp-query') === true ? ['timestamp-query'] : [];
        device = await probe.adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'spikesift' });
      } catch (e) {
        throw new GpuError(`could not create a WebGPU device on ${probe.name}: ${(e as Error).message}`);
      }
      return new GpuContext(device, probe.name, probe.isSoftware);
    })();
    contextPromise = p;
    // A failed attempt is not cached, so a later call can retry (e.g. after a driver install).
    p.catch(() => {
      if (contextPromise === p) contextPromise = null;
    });
  }
  return contextPromise;
}

/**
 * Destroys the device (tests: afterAll; long-running apps: when done). The next
 * getGpuContext() requests a fresh adapter and device (one device per adapter).
 * The `create()` root object itself is kept for the life of the process.
 */
export async function releaseGpuContext(): Promise<void> {
  const p = contextPromise;
  contextPromise = null;
  probePromise = null;
  if (p) {
    const ctx = await p.catch(() => null);
    if (ctx) {
      // Let queued work finish first: a pending mapAsync on a destroyed device rejects.
      await ctx.run('release', async () => undefined).catch(() => undefined);
      await ctx.settled();
      ctx.destroy();
    }
  }
}
