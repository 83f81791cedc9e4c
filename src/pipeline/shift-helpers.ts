/**
 * Worker threads that take shifts of the tracking's large drift searches (ShiftHelpers in
 * stages/track/assignment.ts), and then segments' searches of the recovery pass (recover.ts
 * RecoveryOffload). At 1536 channels the segment-by-segment tracking after the last segment was
 * ~4-5 s on the calling thread alone (each search: 13 shifts of a ~250 x 250 x 1536 distance
 * matrix and an assignment) while the other cores were idle, and the recovery pass ~1 s. The
 * helpers start only where the searches are that large, and the calling thread never waits for
 * one to start: until a helper is online it searches alone.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../engines/cpu/worker-script.js';
import type { ShiftHelpers, ShiftJob } from '../stages/track/assignment.js';
import type { RecoveryFound, RecoveryJob, RecoveryOffload } from './recover.js';

/** The recovery pass's jobs posted to a helper (RecoveryOffload), claimed through `next`, and its replies: one per finished job, then `done`. */
export interface RecoveryRequest { recover: readonly RecoveryJob[]; next: SharedArrayBuffer; id: number }
export type RecoveryReply = { id: number; index: number; found: RecoveryFound } | { id: number; done: true };

/** A search of fewer terms (k1 x k2 x C x shifts: ~0.3-0.5 ns each) runs on the caller alone: posting its inputs costs more than sharing gains. */
export const SHIFT_JOB_MIN_TERMS = 2e8;

/** Helpers start when the searches ahead are predicted at least this many terms (~0.5 s of work). */
export const SHIFT_HELPERS_MIN_TOTAL = 1e9;

/**
 * The terms of the tracking's segment-to-segment searches (the largest ones: consecutive
 * segments' units, every shift), from the units per segment.
 */
export function predictedSearchTerms(unitsPerSegment: readonly number[], numChannels: number, numShifts: number): number {
  let t = 0;
  for (let s = 1; s < unitsPerSegment.length; s++) t += unitsPerSegment[s - 1] * unitsPerSegment[s];
  return t * numChannels * numShifts;
}

export class ShiftHelperThreads implements ShiftHelpers, RecoveryOffload {
  private workers: Worker[] = [];
  /** Helpers that exited (a recovery job is never posted to them: no reply would come). */
  private readonly exited = new Set<Worker>();
  private nextId = 1;
  private readonly online = new Int32Array(new SharedArrayBuffer(4));
  /** Helpers that failed to start or died (whenOnline stops waiting for them). */
  private failed = 0;
  private disposed = false;

  constructor(readonly threads: number, readonly minTerms = SHIFT_JOB_MIN_TERMS) {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`ShiftHelperThreads: threads must be a positive integer, got ${threads}`);
    workerScript('pipeline/shift-worker').then(({ url, execArgv }) => {
      if (this.disposed) return;
      for (let i = 0; i < threads; i++) {
        const w = new Worker(url, { execArgv, workerData: { online: this.online.buffer } });
        // A helper that fails only stops helping: the caller computes what it left.
        w.on('error', () => undefined);
        w.once('exit', () => {
          this.exited.add(w);
          if (!this.disposed) this.failed++;
        });
        w.unref();
        this.workers.push(w);
      }
    }, () => { this.failed = threads; });
  }

  /** How many helpers are online (read without yielding). */
  get onlineCount(): number {
    return Atomics.load(this.online, 0);
  }

  /** Settles when every helper is online (or has failed), or after `maxMs`. */
  async whenOnline(maxMs = Infinity): Promise<void> {
    const t0 = performance.now();
    while (!this.disposed && this.onlineCount + this.failed < this.threads && performance.now() - t0 < maxMs) await new Promise((r) => setTimeout(r, 5));
  }

  post(job: ShiftJob): boolean {
    if (this.disposed || this.onlineCount === 0) return false;
    for (const w of this.workers) w.postMessage(job);
    return true;
  }

  /**
   * After the tracking, the recovery pass's segment searches (recover.ts RecoveryOffload), when
   * every helper is online: each claims jobs through `next` as the caller does and answers with
   * the same results the caller would compute. A helper that dies or fails a job stops there;
   * the caller computes what it left.
   */
  share(jobs: readonly RecoveryJob[], next: Int32Array): Promise<Map<number, RecoveryFound>> | null {
    const live = this.workers.filter((w) => !this.exited.has(w));
    if (this.disposed || live.length === 0 || this.onlineCount < this.workers.length) return null;
    const id = this.nextId++;
    const results = new Map<number, RecoveryFound>();
    const each = live.map((w) => new Promise<void>((resolve) => {
      const finish = (): void => {
        w.off('message', onMessage);
        w.off('exit', finish);
        w.unref();
        resolve();
      };
      const onMessage = (r: RecoveryReply): void => {
        if (r.id !== id) return;
        if ('done' in r) finish();
        else results.set(r.index, r.found);
      };
      w.on('message', onMessage);
      w.once('exit', finish);
      // Referenced while it searches: the caller may await nothing else.
      w.ref();
      w.postMessage({ recover: jobs, next: next.buffer as SharedArrayBuffer, id } satisfies RecoveryRequest);
    }));
    return Promise.all(each).then(() => results);
  }

  dispose(): void {
    this.disposed = true;
    for (const w of this.workers) void w.terminate();
    this.workers = [];
  }
}
