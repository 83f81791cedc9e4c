/**
 * Worker thread body of the drift-search helpers (shift-helpers.ts): takes shifts of each
 * posted job until none is left (stages/track/assignment.ts runShiftJob), and after the
 * tracking the recovery pass's segment searches posted to it (recover.ts recoverSegment). It
 * says it is online through shared memory, which the calling thread reads without yielding.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { abandonShiftJob, runShiftJob, type ShiftJob } from '../stages/track/assignment.js';
import { recoverSegment } from './recover.js';
import { cpuSortKernels } from '../stages/sort/kernels-cpu.js';
import type { RecoveryReply, RecoveryRequest } from './shift-helpers.js';

if (!parentPort) throw new Error('shift-worker.js must be started by the drift-search helpers as a worker thread');
const port = parentPort;
const online = new Int32Array((workerData as { online: SharedArrayBuffer }).online);
/** The probe's geometry as first received: the shift plans are memoised on the array (drift.ts). */
let geometry: Float32Array | null = null;

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** This thread's kernels for the recovery pass's searches (made at the first). */
let kernels: ReturnType<typeof cpuSortKernels> | null = null;

/** Claims and searches the recovery pass's jobs until none is left; a job that fails ends this thread's part (the caller computes it). */
async function recoverJobs(req: RecoveryRequest): Promise<void> {
  const next = new Int32Array(req.next);
  try {
    kernels ??= cpuSortKernels();
    for (let i = Atomics.add(next, 0, 1); i < req.recover.length; i = Atomics.add(next, 0, 1)) {
      port.postMessage({ id: req.id, index: i, found: await recoverSegment(req.recover[i], kernels) } satisfies RecoveryReply);
    }
  } catch {
    // The claimed job stays missing from the replies.
  }
  port.postMessage({ id: req.id, done: true } satisfies RecoveryReply);
}

port.on('message', (job: ShiftJob | RecoveryRequest) => {
  if ('recover' in job) {
    void recoverJobs(job);
    return;
  }
  try {
    if (geometry && sameValues(geometry, job.geometry)) job.geometry = geometry;
    else geometry = job.geometry;
    runShiftJob(job);
  } catch {
    // A shift this thread claimed stays undone: the caller computes it now.
    abandonShiftJob(job);
  }
});
Atomics.add(online, 0, 1);
