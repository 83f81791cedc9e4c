/**
 * Where pass 2 sorts its segments: on worker threads (the default on the main thread), or on
 * the calling thread (inside a worker thread already, e.g. sortInParallel's blocks, where the
 * cores are taken). Either way a segment's result depends only on its window and the context,
 * so the runner never changes a result.
 */
import { Worker } from 'node:worker_threads';
import { describeWasmWindow, type FilteredBuffer, type WasmWindowDescriptor } from '../core/window.js';
import { workerScript } from '../engines/cpu/worker-script.js';
import { SegmentSorter, type SegmentContext, type SegmentOutcome } from './segment-job.js';

export interface SegmentJobMessage {
  id: number;
  numChannels: number;
  samplesPerMs: number;
  numMs: number;
  /** A window in a WebAssembly memory (the pool's or the arena's) travels as its memory and offsets... */
  window?: WasmWindowDescriptor;
  /** ...otherwise as its three shared buffers (each array at offset 0). */
  data?: SharedArrayBuffer;
  minVal?: SharedArrayBuffer;
  minPos?: SharedArrayBuffer;
  context: SegmentContext;
}

export type SegmentReply =
  | { id: number; outcome: SegmentOutcome; error?: undefined }
  | { id: number; error: { message: string; stack?: string }; outcome?: undefined };

export interface SegmentRunner {
  /** How many segments it sorts at once. */
  readonly concurrency: number;
  readonly description: string;
  /** Sorts slots [0, numMs) of `buf` (whose arrays must be SharedArrayBuffer-backed for worker threads). */
  sort(buf: FilteredBuffer, numMs: number, ctx: SegmentContext): Promise<SegmentOutcome>;
  dispose(): void;
}

/** On the calling thread, one segment at a time; yields to the event loop so the filter keeps going. */
export class LocalSegmentRunner implements SegmentRunner {
  readonly concurrency = 1;
  readonly description = 'the calling thread';
  private readonly sorter = new SegmentSorter();
  private tail: Promise<unknown> = Promise.resolve();

  sort(buf: FilteredBuffer, numMs: number, ctx: SegmentContext): Promise<SegmentOutcome> {
    const next = this.tail.then(() => this.sorter.sort(buf, numMs, ctx, 25));
    this.tail = next.catch(() => undefined);
    return next;
  }

  dispose(): void {}
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

/** A pool of sort workers; each sorts one segment at a time. */
export class WorkerSegmentRunner implements SegmentRunner {
  readonly description: string;
  private slots: Slot[] = [];
  private readonly waiting: { job: Omit<SegmentJobMessage, 'id'>; resolve: (o: SegmentOutcome) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, { slot: Slot; resolve: (o: SegmentOutcome) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | null = null;
  private disposed = false;
  private readonly started: Promise<void>;

  constructor(readonly concurrency: number) {
    this.description = `${concurrency} sort worker thread${concurrency === 1 ? '' : 's'}`;
    this.started = workerScript('pipeline/segment-worker').then(({ url, execArgv }) => {
      if (this.disposed) return;
      for (let i = 0; i < concurrency; i++) this.slots.push(this.spawn(url, execArgv));
    });
    this.started.catch((e: Error) => {
      this.failed = e;
    });
  }

  private spawn(url: URL, execArgv: string[]): Slot {
    const worker = new Worker(url, { execArgv });
    const slot: Slot = { worker, busy: false };
    worker.on('message', (reply: SegmentReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      slot.busy = false;
      if (reply.error) p.reject(new Error(`sorting a segment failed in a worker thread: ${reply.error.message}`));
      else p.resolve(reply.outcome);
      this.pump();
    });
    const fail = (e: Error): void => {
      this.failed ??= e;
      for (const [id, p] of this.pending) {
        if (p.slot === slot) {
          this.pending.delete(id);
          p.reject(new Error(`a sort worker thread died: ${e.message}`));
        }
      }
      this.rejectWaiting();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.disposed) fail(new Error(`exit code ${code}`));
    });
    return slot;
  }

  private rejectWaiting(): void {
    const e = new Error(`the sort worker pool is broken: ${this.failed?.message}`);
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private pump(): void {
    if (this.failed) {
      this.rejectWaiting();
      return;
    }
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.busy) continue;
      const w = this.waiting.shift()!;
      const id = this.nextId++;
      slot.busy = true;
      this.pending.set(id, { slot, resolve: w.resolve, reject: w.reject });
      slot.worker.postMessage({ ...w.job, id } satisfies SegmentJobMessage);
    }
  }

  async sort(buf: FilteredBuffer, numMs: number, ctx: SegmentContext): Promise<SegmentOutcome> {
    if (this.disposed) throw new Error('the segment runner was disposed');
    const shared = (a: ArrayBufferView): a is ArrayBufferView & { buffer: SharedArrayBuffer } => a.buffer instanceof SharedArrayBuffer;
    if (!buf.wasm && (!shared(buf.data) || !shared(buf.minVal) || !shared(buf.minPos) || buf.data.byteOffset !== 0 || buf.minVal.byteOffset !== 0 || buf.minPos.byteOffset !== 0)) {
      throw new TypeError('WorkerSegmentRunner.sort: the window must be allocated with allocateFilteredBuffer (shared memory, offset 0) or lie in a WebAssembly memory');
    }
    await this.started;
    if (this.failed) throw new Error(`the sort worker pool could not start: ${this.failed.message}`);
    return new Promise<SegmentOutcome>((resolve, reject) => {
      this.waiting.push({
        job: {
          numChannels: buf.numChannels, samplesPerMs: buf.samplesPerMs, numMs,
          ...(buf.wasm
            ? { window: describeWasmWindow(buf, numMs) }
            : { data: buf.data.buffer as SharedArrayBuffer, minVal: buf.minVal.buffer as SharedArrayBuffer, minPos: buf.minPos.buffer as SharedArrayBuffer }),
          context: ctx,
        },
        resolve,
        reject,
      });
      this.pump();
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.slots) void s.worker.terminate();
    this.slots = [];
    const e = new Error('the segment runner was disposed');
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w.reject(e);
  }
}

/**
 * The default on the main thread: the calling thread sorts one segment at a time, and sort
 * worker threads (workers - 1 of them) start only when the work justifies them: a segment
 * arrives while the calling thread is busy and is large (at least WORKER_WORTHY_MS_CHANNELS ms x
 * channels), or any segment has waited `spawnAfterMs` for the calling thread. A narrow
 * recording therefore never pays for starting and warming up workers: at 32 channels x 60 s a
 * segment sorts in ~50 ms (the first, cold, in ~200 ms) and the whole loop takes ~0.3 s on one
 * thread, while starting two workers made the run 1.4x slower; up to 128 channels the workers
 * gained nothing on this 2-core VM (3.24 s on one thread, 3.17 s with the workers). A segment of
 * 384 channels (~1 s to sort) starts them at once. Which thread sorts a segment never changes
 * its result.
 */
/** Segment size (ms x channels) from which a second sort thread pays for its start: 128 channels x 10 s is below, 384 x 10 s above. */
export const WORKER_WORTHY_MS_CHANNELS = 2e6;

export class HybridSegmentRunner implements SegmentRunner {
  private readonly sorter = new SegmentSorter();
  private localBusy = false;
  private readonly queue: { buf: FilteredBuffer; numMs: number; ctx: SegmentContext; resolve: (o: SegmentOutcome) => void; reject: (e: Error) => void }[] = [];
  private workers: WorkerSegmentRunner | null = null;
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;

  /**
   * @param spawnAfterMs how long a segment waits for the calling thread before the workers
   *   start (0: start them at once and give them every segment the calling thread is busy for).
   */
  constructor(readonly concurrency: number, private readonly spawnAfterMs = 1000) {
    if (concurrency < 2) throw new RangeError(`HybridSegmentRunner needs at least 2 segments at once, got ${concurrency}`);
    if (spawnAfterMs <= 0) this.workers = new WorkerSegmentRunner(concurrency - 1);
  }

  get description(): string {
    const n = this.concurrency - 1;
    return this.workers === null
      ? `the calling thread (its ${n} sort worker thread${n === 1 ? ' was' : 's were'} not needed)`
      : `the calling thread and ${n} sort worker thread${n === 1 ? '' : 's'}`;
  }

  sort(buf: FilteredBuffer, numMs: number, ctx: SegmentContext): Promise<SegmentOutcome> {
    if (this.disposed) return Promise.reject(new Error('the segment runner was disposed'));
    if (this.localBusy && this.workers === null && numMs * buf.numChannels >= WORKER_WORTHY_MS_CHANNELS) {
      this.workers = new WorkerSegmentRunner(this.concurrency - 1);
    }
    if (this.localBusy && this.workers) return this.workers.sort(buf, numMs, ctx);
    return new Promise<SegmentOutcome>((resolve, reject) => {
      this.queue.push({ buf, numMs, ctx, resolve, reject });
      this.pump();
      if (this.queue.length > 0 && this.timer === null && this.workers === null) {
        this.timer = setTimeout(() => this.startWorkers(), this.spawnAfterMs);
      }
    });
  }

  /** The calling thread takes the next queued segment when it is free. */
  private pump(): void {
    if (this.localBusy || this.queue.length === 0) return;
    const job = this.queue.shift()!;
    if (this.queue.length === 0 && this.timer !== null) {
      // Nothing waits any more: the next wait is timed from its own start.
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.localBusy = true;
    // Yields to the event loop every 25 ms so the scan and the filter keep going.
    this.sorter.sort(job.buf, job.numMs, job.ctx, 25).then(job.resolve, job.reject).finally(() => {
      this.localBusy = false;
      this.pump();
    });
  }

  /** A segment waited too long for the calling thread: the workers take it and every later one it is busy for. */
  private startWorkers(): void {
    this.timer = null;
    if (this.disposed || this.workers !== null || this.queue.length === 0) return;
    const workers = new WorkerSegmentRunner(this.concurrency - 1);
    this.workers = workers;
    for (const job of this.queue.splice(0)) workers.sort(job.buf, job.numMs, job.ctx).then(job.resolve, job.reject);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const e = new Error('the segment runner was disposed');
    for (const job of this.queue.splice(0)) job.reject(e);
    this.workers?.dispose();
  }
}
