/** Messages between sortInParallel and its worker threads (all structured-clone friendly). */
import type { RecordingOptions } from '../formats/recording.js';
import type { TransferableSortedRecording } from '../result/sorted-recording.js';

export interface SortTask {
  type: 'sort';
  index: number;
  recording: RecordingOptions;
  /** Sort options without functions (onProgress stays in the main thread). */
  options: Record<string, unknown>;
  /** Module that exports performSpikeSorting; default spikesift's own. */
  sorterModule?: string;
}

export type WorkerMessage =
  | { type: 'progress'; index: number; doneMs: number; totalMs: number }
  | { type: 'done'; index: number; result: TransferableSortedRecording }
  | { type: 'error'; index: number; name: string; message: string; stack?: string };
