/**
 * Host clustering on worker threads for engines that sort their segments on the calling
 * thread (the device-resident WebGPU engine): several segments are in flight, and while one
 * segment's waveforms are clustered on a worker the calling thread drives the other segments'
 * GPU steps. The clustering is the same code (Clusterer) on the same inputs, so results do not
 * depend on where it ran.
 */
import { Worker } from 'node:worker_threads';
import type { ClusterMode, ClusterParams, ClusterResult } from '../stages/sort/clustering.js';
import type { ClusterFn } from '../stages/sort/loop.js';
import { workerScript } from '../engines/cpu/worker-script.js';

export interface ClusterJob {
  id: number;
  x: Float32Array;
  n: number;
  d: number;
  mode: ClusterMode;
  params: ClusterParams;
  reference?: Float32Array;
}

export type ClusterReply = { id: number; rows: Int32Array; mean: Float32Array; error?: undefined } | { id: number; error: string };

interface Pending { resolve: (r: ClusterResult) => void; reject: (e: Error) => void }

export class ClusterPool {
  private workers: { worker: Worker; busy: boolean }[] = [];
  private readonly queue: { job: ClusterJob; transfer: ArrayBuffer[]; pending: Pending }[] = [];
  private readonly pending = new Map<number, { slot: { worker: Worker; busy: boolean }; p: Pending }>();
  private nextId = 1;
  private failed: Error | null = null;
  private disposed = false;
  private readonly started: Promise<void>;

  constructor(readonly threads: number) {
    this.started = workerScript('pipeline/cluster-worker').then(({ url, execArgv }) => {
      if (this.disposed) return;
      for (let i = 0; i < threads; i++) this.workers.push(this.spawn(url, execArgv));
    });
    this.started.catch((e: Error) => {
      this.failed = e;
    });
  }

  private spawn(url: URL, execArgv: string[]): { worker: Worker; busy: boolean } {
    const slot = { worker: new Worker(url, { execArgv }), busy: false };
    slot.worker.on('message', (reply: ClusterReply) => {
      const e = this.pending.get(reply.id);
      if (!e) return;
      this.pending.delete(reply.id);
      slot.busy = false;
      if (reply.error !== undefined) e.p.reject(new Error(`clustering failed in a worker thread: ${reply.error}`));
      else e.p.resolve({ rows: reply.rows, mean: reply.mean });
      this.pump();
    });
    const fail = (err: Error): void => {
      this.failed ??= err;
      for (const [id, e] of this.pending) {
        if (e.slot === slot) {
          this.pending.delete(id);
          e.p.reject(new Error(`a clustering worker thread died: ${err.message}`));
        }
      }
      for (const q of this.queue.splice(0)) q.pending.reject(new Error(`the clustering pool is broken: ${err.message}`));
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!this.disposed) fail(new Error(`exit code ${code}`));
    });
    return slot;
  }

  private pump(): void {
    for (const slot of this.workers) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      const q = this.queue.shift()!;
      slot.busy = true;
      this.pending.set(q.job.id, { slot, p: q.pending });
      slot.worker.postMessage(q.job, q.transfer);
    }
  }

  /** A ClusterFn for the loop: `x` is transferred to the worker (the loop does not read it afterwards). */
  readonly cluster: ClusterFn = async (x, n, d, mode, params, reference) => {
    if (this.disposed) throw new Error('the clustering pool was disposed');
    await this.started;
    if (this.failed) throw new Error(`the clustering pool could not start: ${this.failed.message}`);
    // Only a whole, unshared buffer can be transferred; a view is copied first.
    const own = x.byteOffset === 0 && x.byteLength === x.buffer.byteLength && !(x.buffer instanceof SharedArrayBuffer) ? x : x.slice();
    const ref = reference ? reference.slice() : undefined;
    const job: ClusterJob = { id: this.nextId++, x: own, n, d, mode, params, ...(ref ? { reference: ref } : {}) };
    const transfer = [own.buffer as ArrayBuffer, ...(ref ? [ref.buffer as ArrayBuffer] : [])];
    return new Promise<ClusterResult>((resolve, reject) => {
      this.queue.push({ job, transfer, pending: { resolve, reject } });
      this.pump();
    });
  };

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.workers) void s.worker.terminate();
    this.workers = [];
    const e = new Error('the clustering pool was disposed');
    for (const p of this.pending.values()) p.p.reject(e);
    this.pending.clear();
    for (const q of this.queue.splice(0)) q.pending.reject(e);
  }
}
