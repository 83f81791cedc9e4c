/**
 * Sorting parameters: defaults and validation rules of spec §1. Every rejection is a
 * ParameterError naming the parameter, the value received and what to pass instead.
 */
import { availableParallelism, freemem } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ParameterError, describeValue } from './errors.js';
import { roundDrift, roundHalfEven } from '../stages/track/assignment.js';
import type { BackendChoice } from '../engines/select.js';

export interface SortProgress {
  /** Milliseconds of the sortable range processed so far. */
  doneMs: number;
  /** Milliseconds of the sortable range in total (ms blocks 1 .. T-1). */
  totalMs: number;
}

export interface SortOptions {
  /** Minimum segment length in seconds (default 10; clipped to >= 0.1). */
  minSegmentLength?: number;
  /** Detection threshold in multiples of the median absolute filtered signal (default 10). */
  detectionSensitivity?: number;
  /** Minimum spikes for a cluster to be kept (default 5; clipped to >= 2). */
  minSpikesPerCluster?: number;
  /** Split acceptance threshold λ of the binary splitting, 0 < λ < 1 (default 0.4). */
  mergingThreshold?: number;
  /** Maximal drift in µm between consecutive segments (default 30; rounded to a multiple of 5). */
  maxDrift?: number;
  /** Sign/scale applied to the data so spikes point down (default -1; any non-zero number). */
  detectionPolarity?: number;
  /** Progress bar and summary on stderr (default true). */
  verbose?: boolean;
  /** 'auto' (WebGPU when an adapter exists, else CPU), 'webgpu' or 'cpu' (default 'auto'). */
  backend?: BackendChoice;
  /**
   * Merge burst fragments within each segment (default true): units on the same peak channel
   * with a similar footprint whose spikes mostly follow a larger unit's by 1.5-25 ms (the
   * shrinking late spikes of complex-spike bursts) join that unit. Beyond the reference
   * algorithm; false gives the reference's behaviour. See src/sorting/burst-merge.ts.
   */
  mergeBursts?: boolean;
  /** Called after each sorted segment. */
  onProgress?: (p: SortProgress) => void;
  /** Segments sorted at once on worker threads (default: the machine's available cores). */
  workers?: number;
  /** Bytes of segment windows in flight at once (default: half the free memory, at most 6 GiB). */
  memoryLimit?: number;
}

export interface ResolvedSortOptions {
  /** L: minimum segment length in whole ms. */
  minSegmentMs: number;
  detectionSensitivity: number;
  minSpikesPerCluster: number;
  mergingThreshold: number;
  maxDrift: number;
  detectionPolarity: number;
  verbose: boolean;
  backend: BackendChoice;
  mergeBursts: boolean;
  onProgress: ((p: SortProgress) => void) | undefined;
  workers: number;
  memoryLimit: number;
}

/** What validateSortOptions needs to know about the recording. */
export interface RecordingShape {
  numChannels: number;
  numSamples: number;
  samplingFrequency: number;
  samplesPerMs?: number;
}

export const SORT_DEFAULTS = Object.freeze({
  minSegmentLength: 10,
  detectionSensitivity: 10,
  minSpikesPerCluster: 5,
  mergingThreshold: 0.4,
  maxDrift: 30,
  detectionPolarity: -1,
  verbose: true,
  backend: 'auto' as BackendChoice,
  mergeBursts: true,
});

/** Below this rate the wide DoG width floor(S/4.75) is 0 and the filtered signal is identically zero. */
export const MIN_SORTING_RATE_HZ = 5000;
/** Sorting needs at least this many channels (the difference vector uses 4 or 5 neighbours). */
export const MIN_SORTING_CHANNELS = 4;
/** Sorting needs at least this many whole ms blocks. */
export const MIN_SORTING_MS = 10;

/** Sort threads by default: every available core (inside a worker thread: 1, sorted on that thread). */
export function defaultWorkers(): number {
  return isMainThread ? Math.max(1, availableParallelism()) : 1;
}

/** Segment windows in flight by default: half the free memory, between 1 and 6 GiB. */
export function defaultMemoryLimit(): number {
  return Math.max(2 ** 30, Math.min(freemem() / 2, 6 * 2 ** 30));
}

function reject(parameter: string, value: unknown, message: string): never {
  throw new ParameterError(parameter, value, message);
}

function finiteNumber(name: string, value: unknown, fallback: number, fix: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    reject(name, value, `${name} must be a finite number, got ${describeValue(value)}; ${fix}`);
  }
  return value;
}

export function validateSortOptions(recording: RecordingShape, options: SortOptions = {}): ResolvedSortOptions {
  if (options === null || typeof options !== 'object') {
    reject('options', options, `sorting options must be an object such as { detectionSensitivity: 10 }, got ${describeValue(options)}`);
  }

  const fsHz = recording.samplingFrequency;
  if (!(fsHz >= MIN_SORTING_RATE_HZ)) {
    reject('samplingFrequency', fsHz,
      `samplingFrequency ${describeValue(fsHz)} Hz is too low for sorting: below ${MIN_SORTING_RATE_HZ} Hz the ` +
      `wide filter width floor(S/4.75) is 0 and the filtered signal is identically zero, so no spike could be found; ` +
      `sort a recording sampled at >= ${MIN_SORTING_RATE_HZ} Hz (typically 20000-30000 Hz)`);
  }
  const C = recording.numChannels;
  if (!(C >= MIN_SORTING_CHANNELS)) {
    reject('probeGeometry', C,
      `sorting needs at least ${MIN_SORTING_CHANNELS} channels, the recording has ${C}; pass a probe with >= ${MIN_SORTING_CHANNELS} sites`);
  }
  const S = recording.samplesPerMs ?? Math.floor(fsHz / 1000);
  const blocks = Math.floor(recording.numSamples / S);
  if (!(blocks >= MIN_SORTING_MS)) {
    reject('numSamples', recording.numSamples,
      `the recording is too short to sort: ${recording.numSamples} samples are ${blocks} whole ms blocks at ` +
      `${fsHz} Hz, sorting needs at least ${MIN_SORTING_MS} (${MIN_SORTING_MS * S} samples); pass a longer recording`);
  }

  const minSegmentLength = finiteNumber('minSegmentLength', options.minSegmentLength, SORT_DEFAULTS.minSegmentLength,
    'pass the minimum segment length in seconds, e.g. 10');
  const minSegmentMs = roundHalfEven(1000 * Math.max(0.1, minSegmentLength));

  const detectionSensitivity = finiteNumber('detectionSensitivity', options.detectionSensitivity,
    SORT_DEFAULTS.detectionSensitivity, 'pass a positive number, e.g. 10');
  if (!(detectionSensitivity > 0)) {
    reject('detectionSensitivity', detectionSensitivity,
      `detectionSensitivity must be > 0, got ${describeValue(detectionSensitivity)}; pass a positive number, e.g. 10 (higher finds fewer, larger spikes)`);
  }

  const minSpikesRaw = finiteNumber('minSpikesPerCluster', options.minSpikesPerCluster,
    SORT_DEFAULTS.minSpikesPerCluster, 'pass a number of spikes, e.g. 5');
  const minSpikesPerCluster = Math.max(2, minSpikesRaw);

  const mergingThreshold = finiteNumber('mergingThreshold', options.mergingThreshold,
    SORT_DEFAULTS.mergingThreshold, 'pass a number strictly between 0 and 1, e.g. 0.4');
  if (!(mergingThreshold > 0 && mergingThreshold < 1)) {
    reject('mergingThreshold', mergingThreshold,
      `mergingThreshold must be strictly between 0 and 1, got ${describeValue(mergingThreshold)}; pass e.g. 0.4 (higher merges more)`);
  }

  const maxDriftRaw = finiteNumber('maxDrift', options.maxDrift, SORT_DEFAULTS.maxDrift, 'pass a distance in µm >= 0, e.g. 30');
  if (!(maxDriftRaw >= 0)) {
    reject('maxDrift', maxDriftRaw, `maxDrift must be >= 0 (µm), got ${describeValue(maxDriftRaw)}; pass e.g. 30, or 0 for no drift`);
  }
  const maxDrift = roundDrift(maxDriftRaw);

  const detectionPolarity = finiteNumber('detectionPolarity', options.detectionPolarity,
    SORT_DEFAULTS.detectionPolarity, 'pass -1 for negative-going spikes, +1 for positive-going ones');
  if (detectionPolarity === 0) {
    reject('detectionPolarity', detectionPolarity,
      `detectionPolarity must be non-zero, got 0; pass -1 for negative-going spikes, +1 for positive-going ones (or -1/a for data saved as a*x+b)`);
  }

  let verbose: boolean = SORT_DEFAULTS.verbose;
  if (options.verbose !== undefined) {
    if (typeof options.verbose !== 'boolean') {
      reject('verbose', options.verbose, `verbose must be true or false, got ${describeValue(options.verbose)}`);
    }
    verbose = options.verbose;
  }

  let backend: BackendChoice = SORT_DEFAULTS.backend;
  if (options.backend !== undefined) {
    if (options.backend !== 'auto' && options.backend !== 'webgpu' && options.backend !== 'cpu') {
      reject('backend', options.backend, `backend must be 'auto', 'webgpu' or 'cpu', got ${describeValue(options.backend)}`);
    }
    backend = options.backend;
  }

  let mergeBursts: boolean = SORT_DEFAULTS.mergeBursts;
  if (options.mergeBursts !== undefined) {
    if (typeof options.mergeBursts !== 'boolean') {
      reject('mergeBursts', options.mergeBursts, `mergeBursts must be true or false, got ${describeValue(options.mergeBursts)}; pass false for the reference algorithm's behaviour`);
    }
    mergeBursts = options.mergeBursts;
  }

  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    reject('onProgress', options.onProgress, `onProgress must be a function ({ doneMs, totalMs }) => void, got ${describeValue(options.onProgress)}`);
  }

  const workers = finiteNumber('workers', options.workers, defaultWorkers(), 'pass a number of threads, e.g. 2');
  if (!(Number.isInteger(workers) && workers >= 1)) {
    reject('workers', workers, `workers must be a whole number >= 1, got ${describeValue(workers)}; pass e.g. 2 (segments sorted at once)`);
  }
  const memoryLimit = finiteNumber('memoryLimit', options.memoryLimit, defaultMemoryLimit(), 'pass a number of bytes, e.g. 4e9');
  if (!(memoryLimit > 0)) {
    reject('memoryLimit', memoryLimit, `memoryLimit must be a positive number of bytes, got ${describeValue(memoryLimit)}; pass e.g. 4e9`);
  }

  return {
    workers, memoryLimit,
    minSegmentMs, detectionSensitivity, minSpikesPerCluster, mergingThreshold, maxDrift,
    detectionPolarity, verbose, backend, mergeBursts, onProgress: options.onProgress,
  };
}
