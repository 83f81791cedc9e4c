/**
 * One program abstraction and one runner for every GPU step of the engine.
 *
 * A `Program` is a small, static description of a kernel: its WGSL file and entry point (the
 * pipeline-cache key) and its workgroup size. Per-run data (bindings, uniforms, how many
 * invocations) goes into a `Dispatch`, kept apart from the cache key. The `Runner` encodes a
 * list of dispatches and buffer copies in one command encoder, splits each dispatch over x and
 * y to the device's maxComputeWorkgroupsPerDimension, packs every dispatch's uniforms into one
 * uniform buffer (one write per submission), submits once, and reads back the requested ranges
 * through one staging buffer from the pool; units requested in the same event-loop turn (by
 * segments in flight) share one encoder, submission and mapping. Only encoding and submission run in the device's
 * exclusive section (error scopes); the wait for the readback does not, so other segments'
 * work is submitted meanwhile. Where the adapter has 'timestamp-query', each dispatch gets its
 * own compute pass with timestamps and the runner adds GPU time per step to `gpuNs`.
 */
import { BufferUsage, GpuContext, GpuError, MapModes } from './context.js';
import { BufferPool, alignUp, dispatchSize } from './buffers.js';
import { bindBuffers, getPipeline } from './pipelines.js';
import type { DeviceStage } from '../../result/info.js';

export interface Program {
  /** Shader file in shaders/ and its entry point: with the constants, the pipeline-cache key. */
  readonly file: string;
  readonly entry: string;
  /** Invocations per workgroup: must equal the entry point's @workgroup_size. */
  readonly workgroupSize: number;
  /** The step of the sort this program belongs to (GPU times, stagesOnDevice). */
  readonly stage: DeviceStage;
}

/** Defines a program (a frozen descriptor; pipelines are compiled and cached on first use). */
export function program(file: string, entry: string, workgroupSize: number, stage: DeviceStage): Program {
  return Object.freeze({ file, entry, workgroupSize, stage });
}

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface Dispatch {
  program: Program;
  /** Storage bindings 0..n-1 in order; the uniform block is bound after them (binding n). */
  buffers: Binding[];
  /** The uniform block as 32-bit words (u32 / i32 / f32 through their bit patterns). */
  uniforms: ArrayBufferView;
  /** Workgroups to launch (linear; the runner splits over x and y). */
  workgroups: number;
}

/** Workgroups covering `invocations` invocations of `p`. */
export function groupsFor(p: Program, invocations: number): number {
  return Math.ceil(invocations / p.workgroupSize);
}

export type Step =
  | { kind: 'dispatch'; dispatch: Dispatch }
  | { kind: 'clear'; buffer: GPUBuffer; offset?: number; size: number }
  | { kind: 'copy'; from: GPUBuffer; fromOffset: number; to: GPUBuffer; toOffset: number; size: number };

export interface Read {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

const UNIFORM_ALIGN = 256;   // minUniformBufferOffsetAlignment (WebGPU's default and maximum)

interface Job {
  label: string;
  build: () => { steps: Step[]; reads?: Read[] };
  resolve: (r: ArrayBuffer[]) => void;
  reject: (e: Error) => void;
}

interface Built { job: Job; steps: Step[]; reads: Read[]; at: number[]; failed: boolean }

interface Submitted {
  jobs: Built[];
  staging: GPUBuffer | null;
  total: number;
  tsAt: number;
  timed: boolean;
  dispatches: Dispatch[];
}

export class Runner {
  /** GPU time per step (ns), from timestamp queries; empty where the adapter has none. */
  readonly gpuNs = new Map<DeviceStage, number>();
  /** Submissions and dispatches so far (diagnostics and benchmarks). */
  submits = 0;
  dispatches = 0;
  private querySet: GPUQuerySet | null = null;
  private queryCapacity = 0;
  private batch: Job[] = [];
  private flushScheduled = false;
  /** Units per submission at most so far (how much batching the segments in flight got). */
  largestBatch = 0;

  constructor(readonly ctx: GpuContext, readonly pool: BufferPool, private readonly stages: Set<DeviceStage>) {}

  /**
   * Calls `build` inside the device's exclusive section, encodes the steps it returns in
   * order, submits them and returns the bytes of each of its `reads` ranges (copied out of the
   * staging buffer). `build` takes every pooled buffer and makes every upload: a pooled buffer
   * taken outside the section could be regrown (destroyed) by another unit before this one is
   * submitted.
   *
   * Units requested in the same turn of the event loop (the steps of several segments in
   * flight) are batched: one command encoder, one submission, one staging buffer and one
   * mapping for all of them. Each unit's reads are copied right after its own steps, so units
   * of different segments may share output buffers; their uploads (queue writes, which all
   * land before the one submission) must use buffers of their own segment.
   */
  run(label: string, build: () => { steps: Step[]; reads?: Read[] }): Promise<ArrayBuffer[]> {
    return new Promise((resolve, reject) => {
      this.batch.push({ label, build, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          void this.flush(this.batch.splice(0));
        });
      }
    });
  }

  private async flush(jobs: Job[]): Promise<void> {
    const ctx = this.ctx;
    this.largestBatch = Math.max(this.largestBatch, jobs.length);
    const label = [...new Set(jobs.map((j) => j.label))].join(' + ');
    let sub: Submitted;
    try {
      sub = await ctx.run(label, async () => this.encode(jobs));
    } catch (e) {
      for (const j of jobs) j.reject(e as Error);
      return;
    }
    const live = sub.jobs.filter((j) => !j.failed);
    if (!sub.staging) {
      for (const j of live) j.job.resolve(j.reads.map(() => new ArrayBuffer(0)));
      return;
    }
    const staging = sub.staging;
    try {
      try {
        await ctx.track(staging.mapAsync(MapModes.READ, 0, sub.total));
      } catch (e) {
        ctx.assertAlive();
        throw new GpuError(`${label}: reading the results back failed: ${(e as Error).message}`);
      }
      const bytes = staging.getMappedRange(0, sub.total);
      for (const j of live) j.job.resolve(j.reads.map((r, i) => bytes.slice(j.at[i], j.at[i] + r.size)));
      if (sub.timed) {
        const ts = new BigUint64Array(bytes, sub.tsAt, 2 * sub.dispatches.length);
        sub.dispatches.forEach((d, i) => {
          const ns = Number(ts[2 * i + 1] - ts[2 * i]);
          if (ns > 0 && ns < 1e12) this.gpuNs.set(d.program.stage, (this.gpuNs.get(d.program.stage) ?? 0) + ns);
        });
      }
      staging.unmap();
      this.pool.releaseStaging(staging);
    } catch (e) {
      staging.destroy();
      for (const j of live) j.job.reject(e as Error);
    }
  }

  /** Builds and encodes every job of a batch and submits them once (inside the exclusive section). */
  private async encode(batch: Job[]): Promise<Submitted> {
    const ctx = this.ctx;
    const jobs: Built[] = batch.map((job) => {
      try {
        const b = job.build();
        return { job, steps: b.steps, reads: b.reads ?? [], at: [], failed: false };
      } catch (e) {
        job.reject(e as Error);
        return { job, steps: [], reads: [], at: [], failed: true };
      }
    });
    const dispatches: Dispatch[] = [];
    for (const j of jobs) for (const s of j.steps) if (s.kind === 'dispatch') dispatches.push(s.dispatch);
    const pipelines = await Promise.all(dispatches.map((d) => getPipeline(ctx, d.program.file, d.program.entry)));
    // All uniforms of this submission in one buffer, one slot per dispatch.
    const slot = (d: Dispatch): number => alignUp(Math.max(16, d.uniforms.byteLength), 16);
    let uniformBytes = 0;
    const offsets = dispatches.map((d) => {
      const at = uniformBytes;
      uniformBytes = alignUp(at + slot(d), UNIFORM_ALIGN);
      return at;
    });
    let uni: GPUBuffer | null = null;
    if (dispatches.length > 0) {
      const words = new Uint8Array(uniformBytes);
      dispatches.forEach((d, i) => words.set(new Uint8Array(d.uniforms.buffer, d.uniforms.byteOffset, d.uniforms.byteLength), offsets[i]));
      // One buffer, rewritten through the queue (ordered with submissions), serves every batch.
      uni = this.pool.get('runner uniforms', uniformBytes, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
      ctx.device.queue.writeBuffer(uni, 0, words);
    }
    const timed = ctx.timestamps && dispatches.length > 0;
    if (timed) this.ensureQueries(2 * dispatches.length);
    // Staging layout: every job's reads, then the resolved timestamps.
    let total = 0;
    for (const j of jobs) {
      j.at = j.reads.map((r) => {
        const o = total;
        total += alignUp(r.size, 8);
        return o;
      });
    }
    const tsAt = total;
    if (timed) total += 16 * dispatches.length;
    total = alignUp(total, 8);
    const staging = total > 0 ? this.pool.acquireStaging(total) : null;
    const enc = ctx.device.createCommandEncoder();
    let k = 0;
    for (const j of jobs) {
      let pass: GPUComputePassEncoder | null = null;
      for (const step of j.steps) {
        if (step.kind !== 'dispatch') {
          pass?.end();
          pass = null;
          if (step.kind === 'clear') enc.clearBuffer(step.buffer, step.offset ?? 0, alignUp(step.size, 4));
          else if (step.size > 0) enc.copyBufferToBuffer(step.from, step.fromOffset, step.to, step.toOffset, alignUp(step.size, 4));
          continue;
        }
        const d = step.dispatch;
        if (d.workgroups > 0) {
          if (timed) {
            pass?.end();
            pass = enc.beginComputePass({ timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
          } else {
            pass ??= enc.beginComputePass();
          }
          const pipe = pipelines[k];
          pass.setPipeline(pipe);
          pass.setBindGroup(0, bindBuffers(ctx, pipe, [...d.buffers, { buffer: uni!, offset: offsets[k], size: slot(d) }]));
          const [x, y] = dispatchSize(ctx, d.workgroups);
          pass.dispatchWorkgroups(x, y);
          this.stages.add(d.program.stage);
          this.dispatches++;
        }
        k++;
      }
      pass?.end();
      // This job's results leave its output buffers before the next job may reuse them.
      j.reads.forEach((r, i) => {
        if (r.size > 0) enc.copyBufferToBuffer(r.buffer, r.offset, staging!, j.at[i], alignUp(r.size, 4));
      });
    }
    if (timed && staging) {
      const resolve = this.pool.get('timestamps', 16 * dispatches.length, BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC);
      enc.resolveQuerySet(this.querySet!, 0, 2 * dispatches.length, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, tsAt, 16 * dispatches.length);
    }
    ctx.device.queue.submit([enc.finish()]);
    this.submits++;
    return { jobs, staging, total, tsAt, timed, dispatches };
  }

  private ensureQueries(n: number): void {
    if (this.querySet && this.queryCapacity >= n) return;
    this.querySet?.destroy();
    this.queryCapacity = Math.max(64, 2 ** Math.ceil(Math.log2(n)));
    this.querySet = this.ctx.device.createQuerySet({ type: 'timestamp', count: this.queryCapacity });
  }

  dispose(): void {
    this.querySet?.destroy();
    this.querySet = null;
  }
}
