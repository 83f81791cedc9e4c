/**
 * Worker thread body of the CPU backend: runs `filterBlocksCpu` on shared memory.
 * Input and destination arrays live in SharedArrayBuffers, so a job message carries only
 * offsets and each worker writes its own disjoint ms range.
 */
import { parentPort } from 'node:worker_threads';
import { FilterScratch, filterBlocksCpu, type SampleArray } from './filter.js';
import type { FilterJob } from './pool.js';

const scratch = new FilterScratch();

function view(kind: FilterJob['kind'], buf: SharedArrayBuffer, offset: number, length: number): SampleArray {
  switch (kind) {
    case 'int16': return new Int16Array(buf, offset, length);
    case 'uint16': return new Uint16Array(buf, offset, length);
    case 'int8': return new Int8Array(buf, offset, length);
    case 'uint8': return new Uint8Array(buf, offset, length);
    default: return new Float32Array(buf, offset, length);
  }
}

parentPort!.on('message', (job: FilterJob) => {
  try {
    const input = view(job.kind, job.input, job.inputByteOffset, job.inputLength);
    const dest = {
      numChannels: job.numChannels,
      samplesPerMs: job.samplesPerMs,
      capacityMs: job.capacityMs,
      // An empty data buffer is a minima-only window (core/window.ts allocateMinimaBuffer).
      data: new Float32Array(job.data, job.dataByteOffset, job.data.byteLength === 0 ? 0 : job.capacityMs * job.numChannels * job.samplesPerMs),
      minVal: new Float32Array(job.minVal, job.minValByteOffset, job.capacityMs * job.numChannels),
      minPos: new Int32Array(job.minPos, job.minPosByteOffset, job.capacityMs * job.numChannels),
      ...(job.firstSamples ? { firstSamples: new Float32Array(job.firstSamples, job.firstSamplesByteOffset, job.capacityMs * job.numChannels) } : {}),
      ...(job.exactBelow ? { exactBelow: job.exactBelow } : {}),
    };
    scratch.useWasm = job.wasm;
    filterBlocksCpu(input, job.inputStart, job.firstMs, job.numMs, job.polarity, dest, job.destMs, 0, job.numChannels, scratch);
    parentPort!.postMessage({ id: job.id });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).stack ?? String(e) });
  }
});
