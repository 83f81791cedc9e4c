/**
 * Sorting several recordings (typically blocks of one long file) at once in worker threads.
 * Each worker sorts one block at a time with its own GPU context or the CPU path; results come
 * back as flat typed arrays and are rebuilt as SortedRecording in input order.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Recording } from '../formats/recording.js';
import { SortedRecording } from '../result/sorted-recording.js';
import { type SortOptions, validateSortOptions } from '../core/params.js';
import type { SortTask, WorkerMessage } from './protocol.js';

export interface ParallelProgress {
  /** Sum over all blocks of ms processed. */
  doneMs: number;
  /** Sum over all blocks of ms to process (estimated for blocks that have not reported yet). */
  totalMs: number;
  blocksDone: number;
  blocks: number;
}

export interface ParallelSortOptions extends Omit<SortOptions, 'onProgress'> {
  /** Worker threads (default: min(blocks, available CPU cores)). */
  workers?: number;
  /** Aggregated progress over all blocks. */
  onProgress?: (p: ParallelProgress) => void;
  /** Advanced: URL or path of a module exporting performSpikeSorting (default: spikesift's own). */
  sorterModule?: string;
}

function describeBlock(index: number, r: Recording): string {
  return `block ${index} (file ${r.binaryFile}, sampleOffset ${r.sampleOffset}, numSamples ${r.numSamples}, recordingOffset ${r.recordingOffset})`;
}

/** ms blocks 1 .. T-1 with T = floor(numSamples / S) - 1 (spec §2): what the sorter reports as totalMs. */
function estimateTotalMs(r: Recording): number {
  return Math.max(0, Math.floor(r.numSamples / r.samplesPerMs) - 2);
}

/** The worker script next to this module; from TypeScript sources it needs the TS loader. */
function workerSetup(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const loader = pathToFileURL(fileURLToPath(new URL('../../scripts/ts-loader.mjs', here))).href;
    return { url: new URL('./sort-worker.ts', here), execArgv: ['--import', loader] };
  }
  return { url: new URL('./sort-worker.js', here), execArgv: [] };
}

/**
 * Sorts every recording in worker threads; resolves to one SortedRecording per input, in input
 * order. The first failure rejects (naming the block and its file) and stops all workers.
 */
export async function sortInParallel(recordings: Recording[], options: ParallelSortOptions = {}): Promise<SortedRecording[]> {
  if (!Array.isArray(recordings)) {
    throw new TypeError(`sortInParallel: recordings must be an array of Recording, received ${typeof recordings}`);
  }
  recordings.forEach((r, i) => {
    if (!(r instanceof Recording)) {
      throw new TypeError(`sortInParallel: recordings[${i}] must be a Recording (new Recording({...})), received ${r === null ? 'null' : typeof r}`);
    }
  });
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`sortInParallel: options must be an object such as { workers: 2 }, received ${String(options)}`);
  }
  const { workers: workersOpt, onProgress, sorterModule, verbose = true, ...sortOptions } = options;
  const n = recordings.length;
  if (n === 0) return [];
  const maxWorkers = Math.max(1, availableParallelism());
  const workers = workersOpt ?? Math.min(n, maxWorkers);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`sortInParallel: workers must be a positive integer, received ${String(workersOpt)}; use e.g. { workers: 2 }`);
  }
  for (const [key, value] of Object.entries(sortOptions)) {
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new TypeError(`sortInParallel: option ${key} cannot be sent to worker threads (${typeof value}); only onProgress may be a function`);
    }
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(`sortInParallel: onProgress must be a function, received ${typeof onProgress}`);
  }
  // Fail fast, before any thread starts, on options or blocks the sorter would reject.
  recordings.forEach((r, i) => {
    try {
      validateSortOptions(r, { ...sortOptions, verbose: false });
    } catch (err) {
      throw new (err instanceof TypeError ? TypeError : RangeError)(
        `sortInParallel: ${describeBlock(i, r)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  });
  const sorter = sorterModule === undefined ? undefined : sorterModule.startsWith('file:') ? sorterModule : pathToFileURL(sorterModule).href;

  const poolSize = Math.min(workers, n);
  const { url, execArgv } = workerSetup();
  const done = new Float64Array(n);
  const total = Float64Array.from(recordings, estimateTotalMs);
  const results: (SortedRecording | undefined)[] = new Array(n);
  let blocksDone = 0;
  const started = Date.now();
  let lastDraw = 0;

  const report = (final = false) => {
    let d = 0;
    let t = 0;
    for (let i = 0; i < n; i++) {
      d += done[i];
      t += total[i];
    }
    onProgress?.({ doneMs: d, totalMs: t, blocksDone, blocks: n });
    if (verbose) {
      const now = Date.now();
      // A redrawn line only makes sense on a terminal; logs get the summary alone.
      if (process.stderr.isTTY && (final || now - lastDraw >= 250)) {
        lastDraw = now;
        const pct = t > 0 ? ((100 * d) / t).toFixed(1) : '100.0';
        process.stderr.write(`\rsortInParallel: ${blocksDone}/${n} blocks, ${pct}% on ${poolSize} workers${final ? '\n' : ''}`);
      }
      if (final) process.stderr.write(`sortInParallel: ${n} blocks sorted on ${poolSize} workers in ${((now - started) / 1000).toFixed(1)} s\n`);
    }
  };

  return new Promise<SortedRecording[]>((resolve, reject) => {
    const pool: Worker[] = [];
    let next = 0;
    let settled = false;
    const inFlight = new Map<Worker, number>();

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      for (const w of pool) void w.terminate();
      if (err) {
        if (verbose && process.stderr.isTTY) process.stderr.write('\n');
        reject(err);
      } else {
        report(true);
        resolve(results as SortedRecording[]);
      }
    };
    const blockError = (index: number, message: string, cause?: unknown) =>
      new Error(`sortInParallel: ${describeBlock(index, recordings[index])} failed: ${message}`, { cause });

    const dispatch = (w: Worker) => {
      if (settled) return;
      if (next >= n) {
        inFlight.delete(w);
        if (blocksDone === n) finish();
        return;
      }
      const index = next++;
      inFlight.set(w, index);
      const task: SortTask = {
        type: 'sort',
        index,
        recording: recordings[index].toJSON(),
        // Workers stay quiet: n progress bars on one stderr would garble each other.
        options: { ...sortOptions, verbose: false },
        sorterModule: sorter,
      };
      w.postMessage(task);
    };

    for (let k = 0; k < poolSize; k++) {
      const w = new Worker(url, { execArgv });
      pool.push(w);
      w.on('message', (m: WorkerMessage) => {
        if (settled) return;
        if (m.type === 'progress') {
          done[m.index] = m.doneMs;
          total[m.index] = m.totalMs;
          report();
        } else if (m.type === 'done') {
          try {
            results[m.index] = SortedRecording.fromTransferable(m.result);
          } catch (err) {
            finish(blockError(m.index, `its result could not be rebuilt: ${(err as Error).message}`, err));
            return;
          }
          done[m.index] = total[m.index];
          blocksDone++;
          report();
          dispatch(w);
        } else if (m.type === 'error') {
          const cause = Object.assign(new Error(m.message), { name: m.name, stack: m.stack });
          finish(blockError(m.index, m.message, cause));
        }
      });
      w.on('error', (err) => {
        const index = inFlight.get(w);
        finish(index === undefined ? new Error(`sortInParallel: a worker thread failed: ${err.message}`, { cause: err }) : blockError(index, err.message, err));
      });
      w.on('exit', (code) => {
        if (settled) return;
        const index = inFlight.get(w);
        if (index !== undefined) finish(blockError(index, `its worker thread exited with code ${code}`));
      });
      dispatch(w);
    }
  });
}
