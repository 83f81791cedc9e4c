/**
 * Worker thread body of the segment runner: sorts one segment window at a time (in shared
 * memory, modified in place by the subtraction) and answers with the units (copied).
 */
import { parentPort } from 'node:worker_threads';
import { SegmentSorter } from './segment-job.js';
import { wasmWindowFromDescriptor } from '../core/window.js';
import type { SegmentJobMessage, SegmentReply } from './segment-runner.js';

if (!parentPort) throw new Error('segment-worker.js must be started by the segment runner as a worker thread');
const port = parentPort;
const sorter = new SegmentSorter();

port.on('message', (job: SegmentJobMessage) => {
  void (async () => {
    try {
      const buf = job.window ? wasmWindowFromDescriptor(job.window) : {
        numChannels: job.numChannels,
        samplesPerMs: job.samplesPerMs,
        capacityMs: job.numMs,
        data: new Float32Array(job.data!),
        minVal: new Float32Array(job.minVal!),
        minPos: new Int32Array(job.minPos!),
      };
      const out = await sorter.sort(buf, job.numMs, job.context);
      const reply: SegmentReply = { id: job.id, outcome: out };
      // Copied, not transferred: a transfer detaches the buffers, and the first detach in a
      // thread makes V8 throw away the optimized code of every function that reads a typed
      // array (the loop's included) before the next segment. The copy is a few MB at most.
      port.postMessage(reply);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const reply: SegmentReply = { id: job.id, error: { message: e.message, stack: e.stack } };
      port.postMessage(reply);
    }
  })();
});
