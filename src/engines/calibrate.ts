/**
 * How backend 'auto' chooses between the CPU and a hardware GPU: by measurement.
 *
 * Rule (also in the README, "Backends"):
 * - Both paths filter the same block: the first <= 500 ms of the recording being sorted (real
 *   work, read from its file), or a synthetic block of the same channels, samples per ms and
 *   dtype in a temp file when only the shape is known. The block is at most 16 MiB of raw data.
 * - Each path is warmed up once (pipelines, worker threads) on <= 64 ms, then the two paths
 *   are timed alternately, twice each (cpu, webgpu, cpu, webgpu); each path's best run counts.
 *   Rate = raw input MB per second. Each timed run is one request, so the webgpu rate includes
 *   one pipeline fill and drain (a 500-ms request runs as 4 chunks): conservative for a sort,
 *   whose requests are minSegmentLength (10 s by default) long.
 * - The faster path wins, provided the two agree on the per-ms minima (worst absolute
 *   difference <= 1e-3 x the largest |minimum| + 1e-3); otherwise the CPU (the reference) is used.
 * - The decision is cached in memory per process (per thread) for each (channels, samples
 *   per ms, dtype, CPU set-up), so later sorts in the same process do not calibrate again.
 * - Software adapters are never calibrated (always the CPU; see signal-processor.ts), and
 *   'cpu' / 'webgpu' are never second-guessed.
 */
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recording } from '../formats/recording.js';
import { itemSize, type DataType } from '../formats/dtype.js';
import { filterHalo } from '../stages/filter/taps.js';
import type { AutoWorkload, SignalProcessor } from './engine.js';
import { allocateFilteredBuffer } from '../core/window.js';

/** What a calibration measured. */
export interface Calibration {
  /**
   * Rate of each path (best of the timed runs): raw input MB/s of the filter, or for an
   * end-to-end calibration (`endToEnd`) the whole sort's x real time.
   */
  cpuMBps: number;
  gpuMBps: number;
  /** Both paths gave the same minima (within the tolerance above), or end to end >= 95 % of the same spikes. */
  agree: boolean;
  /** Worst absolute difference of the per-ms minima between the paths; end to end: the fraction of spikes not shared. */
  worstDiff: number;
  /** The rates are of the whole engine (filter, sort kernels, clustering) on a slice of the recording. */
  endToEnd?: boolean;
  /** e.g. "500 ms of 384 ch int16 from the recording". */
  workload: string;
  /** Wall time of the whole calibration (s). */
  seconds: number;
}

/** The rule: the faster path, the CPU on a tie or when the outputs disagree. */
export function decideBackend(c: Pick<Calibration, 'cpuMBps' | 'gpuMBps' | 'agree'>): 'webgpu' | 'cpu' {
  return c.agree && c.gpuMBps > c.cpuMBps ? 'webgpu' : 'cpu';
}

function mbps(x: number): string {
  return `${x >= 100 ? x.toFixed(0) : x.toPrecision(2)} MB/s`;
}

function rate(c: Calibration, x: number): string {
  return c.endToEnd ? `${x >= 100 ? x.toFixed(0) : x.toPrecision(2)}x real time end to end` : mbps(x);
}

/**
 * The one-line description of an 'auto' decision, e.g.
 * "cpu (WebAssembly SIMD + TypeScript, 4 worker threads: 1440 MB/s; faster than webgpu on NVIDIA H100 (hardware): 712 MB/s; calibrated on 500 ms of 384 ch int16 from the recording in 0.21 s)".
 */
export function describeDecision(choice: 'webgpu' | 'cpu', c: Calibration, cpuLabel: string, gpuLabel: string, cached: boolean): string {
  const how = cached ? `calibrated earlier in this process on ${c.workload}` : `calibrated on ${c.workload} in ${c.seconds.toFixed(2)} s`;
  if (choice === 'webgpu') return `${gpuLabel}: ${rate(c, c.gpuMBps)}; faster than cpu (${cpuLabel}): ${rate(c, c.cpuMBps)}; ${how}`;
  const why = c.agree
    ? `faster than ${gpuLabel}: ${rate(c, c.gpuMBps)}`
    : c.endToEnd
      ? `${gpuLabel} (${rate(c, c.gpuMBps)}) disagreed with the CPU path on ${(100 * c.worstDiff).toFixed(1)} % of the spikes`
      : `${gpuLabel} (${mbps(c.gpuMBps)}) disagreed with the CPU path on the minima by ${c.worstDiff.toExponential(2)}`;
  return `cpu (${cpuLabel}: ${rate(c, c.cpuMBps)}; ${why}; ${how})`;
}

const decisions = new Map<string, Promise<Calibration>>();

/**
 * The calibration for `key`, measured once per process with `measure` and cached (a failed
 * measurement is not cached). `cached` is true when this call did not measure.
 */
export async function autoDecision(key: string, measure: () => Promise<Calibration>): Promise<{ calibration: Calibration; cached: boolean }> {
  const hit = decisions.get(key);
  if (hit) return { calibration: await hit, cached: true };
  const p = measure();
  decisions.set(key, p);
  try {
    return { calibration: await p, cached: false };
  } catch (e) {
    if (decisions.get(key) === p) decisions.delete(key);
    throw e;
  }
}

/** Forgets cached decisions (tests). */
export function clearAutoDecisions(): void {
  decisions.clear();
}

/** Raw data per calibration block at most (bytes). */
const CAL_MAX_BYTES = 16 * 1024 * 1024;
const CAL_MAX_MS = 500;
const CAL_MIN_MS = 20;
const CAL_WARM_MS = 64;

/** Calibration block length for a shape (ms). */
export function calibrationMs(w: AutoWorkload): number {
  const bytesPerMs = w.numChannels * w.samplesPerMs * itemSize(w.dataType);
  return Math.max(CAL_MIN_MS, Math.min(CAL_MAX_MS, Math.floor(CAL_MAX_BYTES / bytesPerMs)));
}

/** Largest n with ms blocks [1, 1+n) filterable from `rec` (halo included). */
function usableMs(rec: Recording): number {
  return Math.floor((rec.numSamples - filterHalo(rec.samplesPerMs)) / rec.samplesPerMs) - 1;
}

/** Int16-range noise with sparse spikes, written in dtype `t` (little-endian host). */
function syntheticBytes(t: DataType, count: number, C: number): ArrayBufferView {
  const v = new Int16Array(count);
  let state = 0x2545f491 ^ C;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) | 0;
    v[i] = (state >> 24) + ((state >> 16) & 63) - 32;
  }
  for (let i = 0; i + 20 * C < count; i += 97 * C + 1) {
    for (let j = 0; j < 20; j++) v[i + j * C] -= Math.round(400 * Math.exp(-((j - 6) ** 2) / 8));
  }
  switch (t) {
    case 'int16': return v;
    case 'uint16': return Uint16Array.from(v, (x) => x + 32768);
    case 'int8': return Int8Array.from(v, (x) => Math.max(-128, Math.min(127, x >> 2)));
    case 'uint8': return Uint8Array.from(v, (x) => Math.max(0, Math.min(255, (x >> 2) + 128)));
    case 'int32': return Int32Array.from(v);
    case 'uint32': return Uint32Array.from(v, (x) => x + 32768);
    case 'float32': return Float32Array.from(v, (x) => 0.195 * x);
    case 'float64': return Float64Array.from(v, (x) => 0.195 * x);
    case 'int64': return BigInt64Array.from(v, (x) => BigInt(x));
    case 'uint64': return BigUint64Array.from(v, (x) => BigInt(x + 32768));
  }
}

/** A temp-file Recording of `numMs` ms (plus padding and halo) of the given shape; `cleanup` deletes it. */
function syntheticRecording(w: AutoWorkload, numMs: number): { rec: Recording; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'spikesift-calibrate-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'block.bin');
    const rows = (numMs + 2) * w.samplesPerMs + filterHalo(w.samplesPerMs);
    const data = syntheticBytes(w.dataType, rows * w.numChannels, w.numChannels);
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } finally {
      closeSync(fd);
    }
    const geometry = Array.from({ length: w.numChannels }, (_, c) => [(c % 2) * 16, Math.floor(c / 2) * 20]);
    const rec = new Recording({ binaryFile: file, dataType: w.dataType, probeGeometry: geometry, samplingFrequency: w.samplesPerMs * 1000 });
    return { rec, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/**
 * Times `cpu` and `gpu` on the same block (see the rule in this module's header) and compares
 * their minima. Both processors stay usable afterwards.
 */
export async function calibrate(cpu: SignalProcessor, gpu: SignalProcessor, workload: Recording | AutoWorkload): Promise<Calibration> {
  const t0 = performance.now();
  const shape: AutoWorkload = { numChannels: workload.numChannels, samplesPerMs: workload.samplesPerMs, dataType: workload.dataType };
  let numMs = calibrationMs(shape);
  let rec: Recording;
  let cleanup = (): void => undefined;
  let source: string;
  if (workload instanceof Recording && usableMs(workload) >= CAL_MIN_MS) {
    rec = workload;
    numMs = Math.min(numMs, usableMs(workload));
    source = 'from the recording';
  } else {
    ({ rec, cleanup } = syntheticRecording(shape, numMs));
    source = 'synthetic';
  }
  try {
    const C = rec.numChannels;
    const S = rec.samplesPerMs;
    const bufs = [allocateFilteredBuffer(C, S, numMs), allocateFilteredBuffer(C, S, numMs)];
    const paths = [cpu, gpu];
    const warm = Math.min(numMs, CAL_WARM_MS);
    for (let i = 0; i < 2; i++) await paths[i].filterBlocks(rec, 1, warm, -1, bufs[i], 0);
    const best = [Infinity, Infinity];
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < 2; i++) {
        const s = performance.now();
        await paths[i].filterBlocks(rec, 1, numMs, -1, bufs[i], 0);
        best[i] = Math.min(best[i], (performance.now() - s) / 1000);
      }
    }
    let worst = 0;
    let scale = 0;
    const a = bufs[0].minVal;
    const b = bufs[1].minVal;
    for (let i = 0; i < numMs * C; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= worst)) worst = d;   // NaN counts as a difference
      scale = Math.max(scale, Math.abs(a[i]));
    }
    const mb = (numMs * S * rec.bytesPerSample) / 1e6;
    return {
      cpuMBps: mb / Math.max(best[0], 1e-6),
      gpuMBps: mb / Math.max(best[1], 1e-6),
      agree: worst <= 1e-3 * scale + 1e-3,
      worstDiff: worst,
      workload: `${numMs} ms of ${C} ch ${rec.dataType} ${source}`,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    cleanup();
  }
}

/** One end-to-end run of a whole engine on a slice (given by the pipeline: engines do not import it). */
export interface SliceRun {
  /** Seconds of recording sorted. */
  recordingSeconds: number;
  /** Wall time of the sort (s). */
  seconds: number;
  /** Every spike time found, ascending. */
  spikes: Float64Array;
}

/**
 * Sorts a calibration slice with `engine`: 'warm' a short one (worker threads start, pipelines
 * compile), 'timed' the measured one. The slices are the caller's (prefixes of the recording).
 */
export type EndToEndMeasure = (engine: SignalProcessor, slice: 'warm' | 'timed') => Promise<SliceRun>;

/** Fraction of a's spike times also in b (both ascending; 1 when a is empty). */
export function sharedSpikes(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let hits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      hits++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return a.length === 0 ? 1 : hits / a.length;
}

/**
 * 'auto' by measurement of the whole engine: each engine sorts a short warm-up slice (worker
 * threads, pipeline compilation), then the timed slice of the recording (cpu, webgpu; rate =
 * x real time of the timed run). The faster engine wins if the two agree on >= 95 % of the
 * timed slice's spikes both ways; otherwise the CPU (the reference). Short on purpose: the
 * whole calibration costs about (warm + timed) / rate of each engine.
 */
export async function calibrateEndToEnd(cpu: SignalProcessor, gpu: SignalProcessor, measure: EndToEndMeasure, workload: string): Promise<Calibration> {
  const t0 = performance.now();
  const paths = [cpu, gpu];
  for (const p of paths) await measure(p, 'warm');
  const runs: SliceRun[] = [];
  for (const p of paths) runs.push(await measure(p, 'timed'));
  const rate = (r: SliceRun): number => r.recordingSeconds / Math.max(r.seconds, 1e-9);
  const shared = Math.min(sharedSpikes(runs[0].spikes, runs[1].spikes), sharedSpikes(runs[1].spikes, runs[0].spikes));
  return {
    cpuMBps: rate(runs[0]),
    gpuMBps: rate(runs[1]),
    agree: shared >= 0.95,
    worstDiff: 1 - shared,
    endToEnd: true,
    workload,
    seconds: (performance.now() - t0) / 1000,
  };
}
