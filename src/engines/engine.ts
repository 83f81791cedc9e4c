/**
 * The engine interface: what the pipeline asks of a processor (a CPU engine on worker threads
 * or a WebGPU engine on a device). An engine filters ms blocks of a recording into a filtered
 * window (spec §3-§4) and provides the sort kernels of the per-segment loop (§7); it owns its
 * threads or device and frees them on dispose. The pipeline drives engines only through this.
 */
import type { Recording } from '../formats/recording.js';
import type { DataType } from '../formats/dtype.js';
import type { FilterAreaPlan, FilteredBuffer } from '../core/window.js';
import type { SortKernels, SortSegment } from '../stages/sort/kernels.js';
import { filterHalo } from '../stages/filter/taps.js';
import type { DeviceStage } from '../result/info.js';

export type { BackendChoice } from '../core/params.js';

export interface Engine {
  readonly backend: 'webgpu' | 'cpu';
  /** One line, e.g. "webgpu on NVIDIA H100 (hardware)" / "cpu (no WebGPU adapter: ...)". */
  readonly description: string;
  /** The GPU adapter's name, or null for an engine that uses none. */
  readonly adapter: string | null;
  /**
   * The steps that have run on the GPU since the last clear (the engine adds a step when it
   * submits that step's work, so this says what ran, not what could run). The pipeline clears
   * it when a sort starts and saves it in SortedRecording.info.stagesOnDevice.
   */
  readonly stagesOnDevice: Set<DeviceStage>;
  /**
   * Filter ms blocks [firstMs, firstMs+numMs) of `recording` (absolute ms index; needs
   * 1 <= firstMs and (firstMs+numMs)*S + halo <= numSamples; reads the halo from the file),
   * write them at ms slot `destMs` of `dest` with minima. polarity = detectionPolarity.
   */
  filterBlocks(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): Promise<void>;
  /** Whether filterBlocks honours dest.minimaCopy (absent: it does not; the caller copies). */
  readonly copiesMinima?: boolean;
  /**
   * Optional: the filter's time grid (ms). A range split at absolute ms 1 + k * G into several
   * requests computes no block twice (the CPU filter restarts its running sums there).
   */
  filterGridMs?(samplesPerMs: number): number;
  /**
   * Host windows in a shared WebAssembly memory may reserve scratch areas for the engine's filter
   * threads (core/window.ts FilterAreas), which then write them in place: how many areas of how
   * many bytes, or null (absent) when the engine has no use for them.
   */
  filterAreas?(numChannels: number, samplesPerMs: number): FilterAreaPlan | null;
  /** The kernels of the per-segment loop (§7) for a window in host memory, on the calling thread. */
  sortKernels(): SortKernels;
  /**
   * Pass 2 on windows the engine keeps itself (the WebGPU engine: in GPU memory, so that a
   * segment's filtered data never leaves the device). Absent: the pipeline sorts host windows
   * (filterBlocks + sortKernels).
   */
  readonly resident?: ResidentWindows;
  /** Frees the engine's threads or device resources; pending requests finish first. */
  dispose(): void;
}

/**
 * Segment windows an engine keeps in its own memory, with the kernels that work on them. The
 * pipeline plans them once, then for each segment: acquire, fill, sort with `kernels` (the
 * loop of stages/sort/loop.ts through sortSegmentOn), release.
 */
export interface ResidentWindows<Seg extends SortSegment = SortSegment> {
  /**
   * Plans windows of `capacityMs` ms for C channels at S samples/ms within `budgetBytes` of the
   * engine's memory; returns how many may be in flight. Throws (naming the budget's parameter)
   * when not even one fits.
   */
  plan(numChannels: number, samplesPerMs: number, capacityMs: number, budgetBytes: number): number;
  /** A window of the plan (waits while all are in use). */
  acquire(): Promise<Seg>;
  /** Filters ms blocks [firstMs, firstMs + numMs) of `recording` into `seg` (with its minima); seg.numMs becomes numMs. */
  fill(recording: Recording, firstMs: number, numMs: number, polarity: number, seg: Seg): Promise<void>;
  readonly kernels: SortKernels<Seg>;
  release(seg: Seg): void;
  /** Bytes of engine memory held now and at most (GPU memory for the WebGPU engine). */
  memory(): { bytes: number; peakBytes: number };
  /** Time per step on the device (ms), where the device reports it (timestamp queries); else empty. */
  deviceTimes(): Record<string, number>;
  /** Submissions so far, and the most units of work one submission carried (batching across segments in flight). */
  submissions(): { submits: number; dispatches: number; largestBatch: number };
  /** Frees the windows. */
  clear(): void;
}

/** The filter front end's historical name: the same interface. */
export type SignalProcessor = Engine;

/** The shape of the data 'auto' calibrates on (a Recording has these properties). */
export interface AutoWorkload { numChannels: number; samplesPerMs: number; dataType: DataType }

/** Checks a filterBlocks request; errors name the argument, the value and the valid range. */
export function checkRequest(recording: Recording, firstMs: number, numMs: number, polarity: number, dest: FilteredBuffer, destMs: number): void {
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

