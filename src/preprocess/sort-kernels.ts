/**
 * The data-parallel steps of the per-segment loop (spec §7.2, §7.4, §7.7), each with a
 * TypeScript reference (`cpuSortKernels`) and a WGSL twin (`gpuSortKernels`) that return the
 * same results (tests/preprocess/sort-kernels.test.ts).
 *
 * Cost note: the filtered buffer lives in host memory (the host subtracts spikes from it
 * between calls), so every GPU call uploads its inputs and reads its result back (one
 * submission and one mapping per call; no per-spike round trips). See kernelsForProcessor
 * for which of them the webgpu backend uses.
 */
import type { FilteredBuffer, SignalProcessor } from './signal-processor.js';
import { GpuContext } from '../gpu/context.js';
import { BufferPool, STORAGE_IN, STORAGE_INOUT, STORAGE_OUT, dispatchSize, maxItemsPerBinding, readBack, uniformBuffer, upload } from '../gpu/buffers.js';
import { bindBuffers, getPipeline } from '../gpu/pipelines.js';

export interface SortKernels {
  /** §7.2 on one channel's minima row (length M): returns ascending ms indices m in 2..M-3 that are peaks. */
  detectPeaks(minVal: Float32Array, minPos: Int32Array, threshold: number): Promise<Int32Array>;
  /**
   * §7.4: windows [s-S, s+S) of `channels` (in order) around segment-local samples, from buffer
   * slots starting at ms `baseMs`; returns n x (channels.length*2S) row-major.
   */
  gatherWaveforms(buf: FilteredBuffer, baseMs: number, numMs: number, samples: Int32Array, channels: Int32Array | readonly number[]): Promise<Float32Array>;
  /**
   * §7.7 feature test: candidates = local minima of the target with threshold 0 (rule of
   * detectPeaks with h = 0); keep those with feature·f > (f·f)/2 where feature[k] =
   * minValRows[k][m]. The target's own minima row is `minValTarget`, by default
   * minValRows[0] (the target is first in its neighbourhood unless another site has the same
   * coordinates: then pass it explicitly).
   */
  matchCandidates(minValRows: Float32Array[], minPosTarget: Int32Array, templateMinima: Float32Array, minValTarget?: Float32Array): Promise<Int32Array>;
  /** Frees device resources (no-op on the CPU). */
  dispose?(): void;
}

/** A growable Int32 list without per-element allocation. */
class IntList {
  private a = new Int32Array(64);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  result(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

/** The peak rule of §7.2 at ms m (2 <= m <= M-3) with threshold h (float32). */
function isPeak(minVal: Float32Array, minPos: Int32Array, m: number, h: number): boolean {
  const v = minVal[m];
  return v < h
    && (minPos[m - 1] <= minPos[m] || minVal[m - 1] > v)
    && (minPos[m] <= minPos[m + 1] || v <= minVal[m + 1]);
}

/** Shape checks shared by both matchCandidates twins; returns the target row, M and K. */
function checkMatchArgs(
  minValRows: readonly Float32Array[],
  minPosTarget: Int32Array,
  templateMinima: Float32Array,
  minValTarget: Float32Array | undefined,
): { target: Float32Array; M: number; K: number } {
  const target = minValTarget ?? minValRows[0];
  const M = minPosTarget.length;
  checkRow('minValTarget', target, M);
  const K = templateMinima.length;
  if (minValRows.length !== K) throw new RangeError(`matchCandidates: ${minValRows.length} minima rows for ${K} template channels`);
  for (const r of minValRows) checkRow('a minima row', r, M);
  return { target, M, K };
}

function checkRow(name: string, a: ArrayLike<number>, M: number): void {
  if (a.length !== M) throw new RangeError(`${name} has length ${a.length}, expected M = ${M} (one value per ms block)`);
}

/** f·f / 2 with float32 rounding after every step, in channel order (the GPU uses the host's value). */
export function halfSelfDot(f: Float32Array): number {
  let ff = 0;
  for (let k = 0; k < f.length; k++) ff = Math.fround(ff + Math.fround(f[k] * f[k]));
  return Math.fround(ff / 2);
}

function checkGather(buf: FilteredBuffer, baseMs: number, numMs: number, samples: Int32Array, channels: ArrayLike<number>): void {
  const S = buf.samplesPerMs;
  if (!Number.isInteger(baseMs) || baseMs < 0 || !Number.isInteger(numMs) || numMs < 0 || baseMs + numMs > buf.capacityMs) {
    throw new RangeError(`gatherWaveforms: ms slots [${baseMs}, ${baseMs + numMs}) are outside the buffer's ${buf.capacityMs} slots`);
  }
  for (let k = 0; k < channels.length; k++) {
    const c = channels[k];
    if (!Number.isInteger(c) || c < 0 || c >= buf.numChannels) throw new RangeError(`gatherWaveforms: channel ${c} is not in 0..${buf.numChannels - 1}`);
  }
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s - S < 0 || s + S > numMs * S) {
      throw new RangeError(`gatherWaveforms: window [${s - S}, ${s + S}) of sample ${s} leaves the segment's ${numMs * S} samples`);
    }
  }
}

export function cpuSortKernels(): SortKernels {
  return {
    async detectPeaks(minVal, minPos, threshold) {
      const M = minVal.length;
      checkRow('minPos', minPos, M);
      const h = Math.fround(threshold);
      const out = new IntList();
      for (let m = 2; m <= M - 3; m++) if (isPeak(minVal, minPos, m, h)) out.push(m);
      return out.result();
    },

    async gatherWaveforms(buf, baseMs, numMs, samples, channels) {
      checkGather(buf, baseMs, numMs, samples, channels);
      const C = buf.numChannels;
      const S = buf.samplesPerMs;
      const W = 2 * S;
      const K = channels.length;
      const n = samples.length;
      const out = new Float32Array(n * K * W);
      const data = buf.data;
      for (let i = 0; i < n; i++) {
        const start = samples[i] - S;
        const m0 = Math.floor(start / S);
        const off = start - m0 * S;
        for (let k = 0; k < K; k++) {
          const c = channels[k];
          let o = (i * K + k) * W;
          // The window covers up to three ms blocks of this channel; copy it in contiguous runs.
          let t = 0;
          let m = m0;
          let s = off;
          while (t < W) {
            const run = Math.min(S - s, W - t);
            const src = ((baseMs + m) * C + c) * S + s;
            for (let j = 0; j < run; j++) out[o + j] = data[src + j];
            o += run;
            t += run;
            m++;
            s = 0;
          }
        }
      }
      return out;
    },

    async matchCandidates(minValRows, minPosTarget, templateMinima, minValTarget) {
      const { target, M, K } = checkMatchArgs(minValRows, minPosTarget, templateMinima, minValTarget);
      const half = halfSelfDot(templateMinima);
      const out = new IntList();
      for (let m = 2; m <= M - 3; m++) {
        if (!isPeak(target, minPosTarget, m, 0)) continue;
        let dot = 0;
        for (let k = 0; k < K; k++) dot = Math.fround(dot + Math.fround(minValRows[k][m] * templateMinima[k]));
        if (dot > half) out.push(m);
      }
      return out.result();
    },
  };
}

function bitsToIndices(words: Uint32Array, M: number): Int32Array {
  const out = new IntList();
  for (let w = 0; w < words.length; w++) {
    let x = words[w];
    while (x !== 0) {
      const b = 31 - Math.clz32(x & -x);
      const m = w * 32 + b;
      if (m < M) out.push(m);
      x &= x - 1;
    }
  }
  return out.result();
}

/** WGSL twins of cpuSortKernels (shaders/detect_peaks.wgsl, gather_waveforms.wgsl, template_match.wgsl). */
export function gpuSortKernels(ctx: GpuContext): SortKernels {
  const pool = new BufferPool(ctx);

  /**
   * One dispatch over M ms blocks whose result is a bit mask. `inputs` uploads inside the
   * exclusive section, so concurrent calls cannot overwrite each other's pooled buffers.
   */
  async function runBits(label: string, file: string, entry: string, inputs: () => GPUBuffer[], M: number, params: ArrayBufferView): Promise<Int32Array> {
    return ctx.run(label, async () => {
      const pipe = await getPipeline(ctx, file, entry);
      const words = Math.max(1, Math.ceil(M / 32));
      const bits = pool.get(`${entry} bits`, words * 4, STORAGE_INOUT());
      const uni = uniformBuffer(ctx, params, `${entry} params`);
      try {
        const enc = ctx.device.createCommandEncoder();
        enc.clearBuffer(bits, 0, words * 4);
        const pass = enc.beginComputePass();
        pass.setPipeline(pipe);
        pass.setBindGroup(0, bindBuffers(ctx, pipe, [...inputs(), bits, uni]));
        const [x, y] = dispatchSize(ctx, Math.ceil(M / 64));
        pass.dispatchWorkgroups(x, y);
        pass.end();
        ctx.device.queue.submit([enc.finish()]);
        const back = await readBack(ctx, [{ buffer: bits, offset: 0, size: words * 4 }]);
        return bitsToIndices(new Uint32Array(back, 0, words), M);
      } finally {
        uni.destroy();
      }
    });
  }

  function staged(role: string, data: ArrayBufferView): GPUBuffer {
    const b = pool.get(role, data.byteLength, STORAGE_IN());
    upload(ctx, b, data);
    return b;
  }

  return {
    async detectPeaks(minVal, minPos, threshold) {
      const M = minVal.length;
      checkRow('minPos', minPos, M);
      if (M < 5) return new Int32Array(0);
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 1)[0] = M;
      new Float32Array(params, 4, 1)[0] = threshold;
      return runBits('peak detection', 'detect_peaks.wgsl', 'detect_peaks', () => [staged('peaks minVal', minVal), staged('peaks minPos', minPos)], M, new Uint8Array(params));
    },

    async gatherWaveforms(buf, baseMs, numMs, samples, channels) {
      checkGather(buf, baseMs, numMs, samples, channels);
      const C = buf.numChannels;
      const S = buf.samplesPerMs;
      const W = 2 * S;
      const K = channels.length;
      const n = samples.length;
      if (n === 0 || K === 0) return new Float32Array(0);
      const out = new Float32Array(n * K * W);
      // Spikes per dispatch: the staged triplets (the largest binding) must fit the device limits.
      const batch = Math.max(1, Math.min(n, maxItemsPerBinding(ctx, K * 3 * S * 4, 64 * 1024 * 1024)));
      for (let i0 = 0; i0 < n; i0 += batch) {
        const nb = Math.min(batch, n - i0);
        // Stage the three ms blocks holding each window (see gather_waveforms.wgsl).
        const trip = new Float32Array(nb * K * 3 * S);
        const offsets = new Uint32Array(nb);
        for (let i = 0; i < nb; i++) {
          const s = samples[i0 + i];
          const mc = Math.floor(s / S);
          offsets[i] = s - mc * S;
          for (let k = 0; k < K; k++) {
            const c = channels[k];
            const o = (i * K + k) * 3 * S;
            for (let b = 0; b < 3; b++) {
              const m = mc - 1 + b;
              // The block after the window's end may be past the segment: it is never read.
              if (m >= numMs) continue;
              const src = ((baseMs + m) * C + c) * S;
              for (let j = 0; j < S; j++) trip[o + b * S + j] = buf.data[src + j];
            }
          }
        }
        const total = nb * K * W;
        const part = await ctx.run('waveform gathering', async () => {
          const pipe = await getPipeline(ctx, 'gather_waveforms.wgsl', 'gather_waveforms');
          const tb = staged('gather triplets', trip);
          const ob = staged('gather offsets', offsets);
          const ub = pool.get('gather out', total * 4, STORAGE_OUT());
          const uni = uniformBuffer(ctx, new Uint32Array([nb, K, S, 0]), 'gather params');
          try {
            const enc = ctx.device.createCommandEncoder();
            const pass = enc.beginComputePass();
            pass.setPipeline(pipe);
            pass.setBindGroup(0, bindBuffers(ctx, pipe, [tb, ob, ub, uni]));
            const [x, y] = dispatchSize(ctx, Math.ceil(total / 64));
            pass.dispatchWorkgroups(x, y);
            pass.end();
            ctx.device.queue.submit([enc.finish()]);
            const back = await readBack(ctx, [{ buffer: ub, offset: 0, size: total * 4 }]);
            return new Float32Array(back, 0, total);
          } finally {
            uni.destroy();
          }
        });
        out.set(part, i0 * K * W);
      }
      return out;
    },

    async matchCandidates(minValRows, minPosTarget, templateMinima, minValTarget) {
      const { target, M, K } = checkMatchArgs(minValRows, minPosTarget, templateMinima, minValTarget);
      if (M < 5 || K === 0) return cpuSortKernels().matchCandidates(minValRows, minPosTarget, templateMinima, minValTarget);
      const rows = new Float32Array(K * M);
      for (let k = 0; k < K; k++) rows.set(minValRows[k], k * M);
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 2).set([M, K]);
      new Float32Array(params, 8, 1)[0] = halfSelfDot(templateMinima);
      return runBits('template matching', 'template_match.wgsl', 'template_match',
        () => [staged('match rows', rows), staged('match target val', target), staged('match target pos', minPosTarget), staged('match f', templateMinima)],
        M, new Uint8Array(params));
    },

    dispose() {
      pool.destroy();
    },
  };
}

/**
 * The kernels that match a signal processor: for a webgpu processor, peak detection and the
 * template feature test run in WGSL and waveform gathering in TypeScript; else null (callers
 * then use cpuSortKernels()). Why gathering stays on the host: the filtered buffer lives in
 * host memory and the host subtracts spikes from it between calls, so a GPU gather must first
 * stage the same bytes it would copy (measured on lavapipe: 8-14 ms vs 1.5-2.5 ms on the CPU for
 * 2000 spikes x 5 channels). gpuSortKernels().gatherWaveforms stays available and tested for a
 * device-resident buffer.
 */
export function kernelsForProcessor(p: SignalProcessor): SortKernels | null {
  const ctx = (p as SignalProcessor & { ctx?: GpuContext }).ctx;
  if (p.backend !== 'webgpu' || !(ctx instanceof GpuContext)) return null;
  const gpu = gpuSortKernels(ctx);
  const cpu = cpuSortKernels();
  return {
    detectPeaks: (v, pos, h) => gpu.detectPeaks(v, pos, h),
    matchCandidates: (rows, pos, f, target) => gpu.matchCandidates(rows, pos, f, target),
    gatherWaveforms: (buf, base, n, samples, channels) => cpu.gatherWaveforms(buf, base, n, samples, channels),
    dispose: () => gpu.dispose?.(),
  };
}
