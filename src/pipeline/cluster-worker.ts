/**
 * Worker thread body of the cluster pool: runs one clustering (§7.5 formation or §7.8
 * matching) at a time on the waveforms it is sent (transferred, not copied) and answers with
 * the kept rows and the mean (transferred back).
 */
import { parentPort } from 'node:worker_threads';
import { Clusterer } from '../stages/sort/clustering.js';
import type { ClusterJob, ClusterReply } from './cluster-pool.js';

if (!parentPort) throw new Error('cluster-worker.js must be started by the cluster pool as a worker thread');
const port = parentPort;
const clusterer = new Clusterer();

port.on('message', (job: ClusterJob) => {
  try {
    const r = clusterer.cluster(job.x, job.n, job.d, job.mode, job.params, job.reference);
    const reply: ClusterReply = { id: job.id, rows: r.rows, mean: r.mean };
    port.postMessage(reply, [r.rows.buffer as ArrayBuffer, r.mean.buffer as ArrayBuffer].filter((b, i, a) => a.indexOf(b) === i));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id: job.id, error: e.message } satisfies ClusterReply);
  }
});
