/**
 * A small pool of worker threads for the CPU filter. Work is split in time at grid-block
 * boundaries (see filter.ts `cpuGridMs`), so the result is bit-identical to a single thread.
 *
 * Workers are found by `workerScript` (dist/ or a transpiled copy of the sources). Idle workers are unref'd and
 * never keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from './worker-script.js';
import type { RawFileLayout } from '../../formats/raw-file.js';
import type { FilterAreas } from '../../core/window.js';

export interface FilterJob {
  id: number;
  kind: 'int16' | 'uint16' | 'int8' | 'uint8' | 'float32';
  /**
   * The raw input: samples [inputStart, inputStart + inputLength / C) in a shared buffer the
   * calling thread read, or (`read`) rows the worker reads from the file itself.
   */
  input?: SharedArrayBuffer;
  inputByteOffset?: number;
  inputLength?: number;
  /**
   * The worker reads the rows it needs itself, at most pieceBytes at a time (whole grid blocks,
   * at least one), or one grid block at a time into its filter area where the in-place kernels
   * run (FilterJob.area).
   */
  read?: { layout: RawFileLayout; pieceBytes: number };
  inputStart: number;
  firstMs: number;
  numMs: number;
  polarity: number;
  numChannels: number;
  samplesPerMs: number;
  capacityMs: number;
  data: SharedArrayBuffer;
  dataByteOffset: number;
  minVal: SharedArrayBuffer;
  minValByteOffset: number;
  minPos: SharedArrayBuffer;
  minPosByteOffset: number;
  /** Minima-only windows: y at each ms block's first sample (optional). */
  firstSamples?: SharedArrayBuffer;
  firstSamplesByteOffset?: number;
  /** FilteredBuffer.minimaCopy: the worker copies the minima of its slots there too (positions as 1- or 4-byte integers). */
  minimaCopy?: { minVal: SharedArrayBuffer; minValByteOffset: number; minPos: SharedArrayBuffer; minPosByteOffset: number; minPosBytes: 1 | 4; length: number };
  /** FilteredBuffer.exactBelow (copied into the message: C values). */
  exactBelow?: Float32Array;
  /** FilteredBuffer.filterAreas (the window's memory travels with it), and this job's area: its worker's index. */
  filterAreas?: FilterAreas;
  area?: number;
  destMs: number;
  /** Allow the WebAssembly SIMD kernel (bit-identical to the TypeScript one). */
  wasm: boolean;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
}

export class CpuFilterPool {
  private slots: Slot[] = [];
  private nextId = 1;
  private failed: Error | null = null;

  constructor(readonly size: number) {}

  private starting: Promise<void> | null = null;
  private online = 0;
  private readonly onlineWaiters: (() => void)[] = [];

  /** Settles when every worker is online (tests: the workers' own file reads then take every request). */
  whenOnline(): Promise<void> {
    this.warm();
    return this.ready ? Promise.resolve() : new Promise((resolve) => this.onlineWaiters.push(resolve));
  }

  /** Whether every worker has loaded its module and answered (until then a job would wait for it). */
  get ready(): boolean {
    return this.online === this.size && this.slots.length === this.size;
  }

  /** Starts the workers ahead of the first job. */
  warm(): void {
    if (!this.failed) this.start().catch(() => undefined);
  }

  private start(): Promise<void> {
    this.starting ??= workerScript('engines/cpu/filter-worker').then(({ url, execArgv }) => this.spawn(url, execArgv), (e: Error) => {
      this.failed = e;
      throw e;
    });
    return this.starting;
  }

  private spawn(url: URL, execArgv: string[]): void {
    if (this.terminated) return;
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(url, { execArgv });
      const slot: Slot = { worker, pending: new Map() };
      worker.once('online', () => {
        this.online++;
        if (this.ready) for (const resolve of this.onlineWaiters.splice(0)) resolve();
      });
      worker.on('message', (msg: { id: number; error?: string }) => {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        if (slot.pending.size === 0) worker.unref();
        if (msg.error) p.reject(new Error(`CPU filter worker failed: ${msg.error}`));
        else p.resolve();
      });
      const fail = (e: Error): void => {
        this.failed = e;
        for (const p of slot.pending.values()) p.reject(new Error(`CPU filter worker died: ${e.message}`));
        slot.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (slot.pending.size > 0) fail(new Error(`exit code ${code}`));
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Runs job i on worker i (jobs.length <= size): a worker's filter area is its index (FilterJob.area). */
  async run(jobs: Omit<FilterJob, 'id'>[]): Promise<void> {
    if (this.failed) throw new Error(`CPU filter worker pool is broken: ${this.failed.message}`);
    await this.start();
    if (this.terminated || this.slots.length === 0) throw new Error('CPU filter worker pool was terminated');
    return Promise.all(jobs.map((job, i) => new Promise<void>((resolve, reject) => {
      const slot = this.slots[i % this.slots.length];
      const id = this.nextId++;
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ ...job, id });
    }))).then(() => undefined);
  }

  private terminated = false;

  terminate(): void {
    this.terminated = true;
    for (const s of this.slots) void s.worker.terminate();
    this.slots = [];
  }
}
