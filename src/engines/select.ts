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
 *   - a hardware adapter, when sorting (the pipeline passes `endToEnd`): each whole engine
 *     sorts a 250-ms warm-up slice, then the same timed slice of the recording (an eighth of
 *     it, at most 1 s); the faster end to end (x real time) is used, provided both find >= 95 %
 *     of the same spikes (calibrate.ts, calibrateEndToEnd). The WebGPU engine is judged as it
 *     runs, device-resident windows and clustering threads included;
 *   - a hardware adapter otherwise (no slice to sort: a shape only, or a recording under 2 s):
 *     both paths filter the same block (the first <= 500 ms of the
 *     recording given as `workload`, else a synthetic block of that shape; at most 16 MiB of raw
 *     data, each path warmed up and then timed twice, best run counts) and the faster one is
 *     used, provided both agree on the per-ms minima. A hardware GPU is not always faster: on an
 *     H100 machine with 16 cores the CPU path (4 workers) beat the GPU path at 384 channels
 *     (1440 vs 712 MB/s) but not at 32. The decision is cached in memory once per process (per
 *     thread) for each (channels, samples per ms, dtype, CPU set-up).
 */
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import type { Recording } from '../formats/recording.js';
import { GpuContext, GpuUnavailableError, getGpuContext, probeAdapter, releaseGpuContext } from './webgpu/context.js';
import { wasmSimdAvailable } from './cpu/filter-wasm.js';
import { CpuSignalProcessor } from './cpu/engine.js';
import { GpuSignalProcessor } from './webgpu/engine.js';
import type { AutoWorkload, BackendChoice, SignalProcessor } from './engine.js';
import { autoDecision, calibrate, calibrateEndToEnd, decideBackend, describeDecision, type Calibration, type EndToEndMeasure } from './calibrate.js';

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
  /**
   * 'auto' on a hardware GPU: decide by sorting a slice of the recording end to end with each
   * whole engine (the pipeline passes this; `sliceLabel` says what the slice is). Without it,
   * 'auto' compares the filters only.
   */
  endToEnd?: { measure: EndToEndMeasure; sliceLabel: string };
}


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
    p = await autoOnHardware(probe.name, opts.workload ?? DEFAULT_WORKLOAD, cpuLabel, workers, chunkBytes, simd, opts.endToEnd);
  }
  log(`spikesift: backend ${p.description}`);
  return p;
}

/** An error message on one line (Dawn's messages span several). */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, '; ');
}

/**
 * 'auto' with a hardware adapter: calibrate both paths once per process for this shape (see
 * auto-backend.ts for the rule) and return the faster one, with the rates in its description.
 */
async function autoOnHardware(adapterName: string, workload: Recording | AutoWorkload, cpuLabel: string,
  workers: number, chunkBytes: number, simd: boolean, endToEnd?: { measure: EndToEndMeasure; sliceLabel: string }): Promise<SignalProcessor> {
  let ctx: GpuContext;
  try {
    ctx = await getGpuContext();
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return new CpuSignalProcessor(`cpu (${cpuLabel}; WebGPU device on "${adapterName}" failed: ${oneLine(e.message)})`, workers, chunkBytes, simd);
  }
  const gpuLabel = `webgpu on ${ctx.adapterName} (hardware)`;
  const key = `${endToEnd ? `end to end on ${endToEnd.sliceLabel}` : 'filter'} | ${workload.numChannels}x${workload.samplesPerMs} ${workload.dataType} | ${cpuLabel} | ${chunkBytes}`;
  let cpu: CpuSignalProcessor | null = null;
  let gpu: GpuSignalProcessor | null = null;
  let decision: { calibration: Calibration; cached: boolean };
  try {
    decision = await autoDecision(key, () => {
      cpu = new CpuSignalProcessor(`cpu (${cpuLabel})`, workers, chunkBytes, simd);
      gpu = new GpuSignalProcessor(ctx, gpuLabel, chunkBytes);
      return endToEnd ? calibrateEndToEnd(cpu, gpu, endToEnd.measure, endToEnd.sliceLabel) : calibrate(cpu, gpu, workload);
    });
  } catch (e) {
    (cpu as CpuSignalProcessor | null)?.dispose();
    (gpu as GpuSignalProcessor | null)?.dispose();
    if (!(e instanceof Error)) throw e;
    return new CpuSignalProcessor(`cpu (${cpuLabel}; calibrating WebGPU on "${adapterName}" failed: ${oneLine(e.message)})`, workers, chunkBytes, simd);
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


export { GpuUnavailableError, probeAdapter, releaseGpuContext };
export type { AutoWorkload, BackendChoice, SignalProcessor } from './engine.js';
