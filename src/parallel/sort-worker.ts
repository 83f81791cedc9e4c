/**
 * Worker thread body of sortInParallel: rebuilds each block's Recording from its plain
 * options, sorts it and sends the result back in flat typed-array form (transferred, not copied).
 */
import { parentPort } from 'node:worker_threads';
import { Recording } from '../formats/recording.js';
import { SortedRecording } from '../result/sorted-recording.js';
import type { SortTask, WorkerMessage } from './protocol.js';

/** Relative, so that the TypeScript loader maps it to perform.ts when running from source. */
const DEFAULT_SORTER = '../pipeline/perform.js';
/** Progress is forwarded at most this often per worker (plus the final value). */
const PROGRESS_INTERVAL_MS = 100;

type Sorter = (recording: Recording, options: Record<string, unknown>) => Promise<SortedRecording>;

if (!parentPort) throw new Error('sort-worker.js must be started by sortInParallel as a worker thread');
const port = parentPort;

async function loadSorter(specifier: string): Promise<Sorter> {
  const mod = (await import(specifier)) as { performSpikeSorting?: Sorter };
  if (typeof mod.performSpikeSorting !== 'function') {
    throw new Error(`module ${specifier} does not export performSpikeSorting`);
  }
  return mod.performSpikeSorting;
}

async function run(task: SortTask): Promise<void> {
  const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  try {
    const sort = await loadSorter(task.sorterModule ?? DEFAULT_SORTER);
    const recording = new Recording(task.recording);
    let last = 0;
    const onProgress = (p: { doneMs: number; totalMs: number }) => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS && p.doneMs < p.totalMs) return;
      last = now;
      post({ type: 'progress', index: task.index, doneMs: p.doneMs, totalMs: p.totalMs });
    };
    const result = await sort(recording, { ...task.options, onProgress });
    if (!result || typeof (result as SortedRecording).toTransferable !== 'function') {
      throw new Error('the sorter did not return a SortedRecording');
    }
    const flat = result.toTransferable();
    post({ type: 'done', index: task.index, result: flat }, SortedRecording.transferList(flat));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'error', index: task.index, name: e.name, message: e.message, stack: e.stack });
  }
}

// Tasks arrive one at a time (the pool waits for each answer), so no queue is needed here.
port.on('message', (task: SortTask) => {
  void run(task);
});
