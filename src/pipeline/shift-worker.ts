/**
 * Worker thread body of the drift-search helpers (shift-helpers.ts): takes shifts of each
 * posted job until none is left (stages/track/assignment.ts runShiftJob). It says it is
 * online through shared memory, which the calling thread reads without yielding.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { abandonShiftJob, runShiftJob, type ShiftJob } from '../stages/track/assignment.js';

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

port.on('message', (job: ShiftJob) => {
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
