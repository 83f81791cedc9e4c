/** Stage timings of one sort (wall-clock milliseconds unless said), for benchmarks and the summary line. */
import type { SegmentTimings } from '../stages/sort/loop.js';

export interface SortStats {
  backend: 'webgpu' | 'cpu';
  backendDescription: string;
  /** Where segments were sorted, e.g. "2 sort worker threads". */
  runnerDescription: string;
  /** Stage times below are milliseconds of wall time. Filter requests, both passes (they overlap sorting): */
  filterMs: number;
  /** Time spent waiting for the filter: pass 1's scan waiting for chunks. */
  filterWaitMs: number;
  /** Sum over segments of the loop's wall time (on several threads at once: may exceed totalMs). */
  sortMs: number;
  /** Drift heuristic (segment lengths). */
  segmentMs: number;
  /** Detection thresholds from the first window. */
  thresholdMs: number;
  /** Moving the scan's unconsumed minima to the front. */
  copyMs: number;
  /**
   * How pass 2 got each segment's window: in place in the whole-recording arena pass 1 filtered
   * into ('arena', when it fits a quarter of memoryLimit), copied from pass 1's kept chunks
   * ('kept') or filtered again ('refiltered', when the kept chunks would not fit memoryLimit);
   * 'device': on the GPU; 'sequential': one stream.
   */
  pass2: 'arena' | 'kept' | 'refiltered' | 'device' | 'sequential';
  /** Wall time of pass 1 (thresholds and every boundary known). */
  scanMs: number;
  mergeMs: number;
  /** Helper threads online for the tracking's drift searches (0: none was started; the calling thread searched alone). */
  searchHelpers: number;
  /** Wall time of the recovery pass (mode 'improved', recoverSpikes), its filtering included. */
  recoverMs: number;
  /** Segment searches of the recovery pass that ran on the tracking's helper threads. */
  recoverySearchesOnHelpers: number;
  /** Wall time of the pooled residual pass (mode 'improved', poolResiduals), its filtering included. */
  poolMs: number;
  /** Where the recovery pass got the segments' minima: kept from pass 2, filtered again, or no recovery. */
  recoveryMinima: 'kept' | 'refiltered' | 'off';
  totalMs: number;
  loop: SegmentTimings;
  numSegments: number;
  numUnits: number;
  /** Most segments in flight at once and their window bytes. */
  peakInFlight: number;
  peakWindowBytes: number;
  /** Segments filtered into the free end of a window whose segment was still sorting (refiltering pass 2 with one window in the budget). */
  placedBeside: number;
  /** Of those segments' ms, how many overlapped the busy segment's and were filtered only once it was done. */
  placedOverlapMs: number;
  /** Device-resident engines: most GPU memory held (bytes) and the device time per step (ms, from timestamp queries; empty where the adapter has none). */
  gpuPeakBytes?: number;
  deviceMs?: Record<string, number>;
  /** Device-resident engines: the engine's submissions so far and the most units one carried. */
  deviceSubmissions?: { submits: number; dispatches: number; largestBatch: number };
  /** Duration of the sorted range (s). */
  recordingSeconds: number;
}

