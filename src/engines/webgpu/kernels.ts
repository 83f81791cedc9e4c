/**
 * WGSL twins of the sort kernels (shaders/detect_peaks.wgsl, gather_waveforms.wgsl,
 * template_match.wgsl), tested against stages/sort/kernels-cpu.ts.
 */
import type { SignalProcessor } from '../engine.js';
import { GpuContext } from './context.js';
import { BufferPool, STORAGE_IN, STORAGE_INOUT, STORAGE_OUT, dispatchSize, maxItemsPerBinding, readBack, uniformBuffer, upload } from './buffers.js';
import { bindBuffers, getPipeline } from './pipelines.js';
import { IntList, checkGather, checkMatchArgs, checkRow, checkTemplateScores, halfSelfDot, type SortKernels } from '../../stages/sort/kernels.js';
import { cpuSortKernels } from '../../stages/sort/kernels-cpu.js';

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

  // Steps without a WGSL twin yet run on the host: the window is host-resident on this
  // engine, and a device copy per call is what made the uploaded kernels lose (see below).
  const host = cpuSortKernels();
  return {
    channelScores: (seg, thr) => host.channelScores(seg, thr),
    meanMinima: (seg, spikeMs) => host.meanMinima(seg, spikeMs),
    meanWindows: (buf, spikes, affected) => host.meanWindows(buf, spikes, affected),
    subtractAndRescan: (seg, spikes, affected, means, thr, score) => host.subtractAndRescan(seg, spikes, affected, means, thr, score),

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

    async templateScores(minVal, numMs, numChannels, channels, weights, J) {
      const K = checkTemplateScores(minVal, numMs, numChannels, channels, weights, J);
      const total = K * numMs;
      if (total === 0) return new Float32Array(0);
      return ctx.run('recovery template scores', async () => {
        const pipe = await getPipeline(ctx, 'template_scores.wgsl', 'template_scores');
        const mv = staged('recovery minVal', minVal.subarray(0, numMs * numChannels));
        const cb = staged('recovery channels', channels);
        const wb = staged('recovery weights', weights);
        const out = pool.get('recovery scores', total * 4, STORAGE_OUT());
        const uni = uniformBuffer(ctx, new Uint32Array([numMs, numChannels, J, K]), 'recovery params');
        try {
          const enc = ctx.device.createCommandEncoder();
          const pass = enc.beginComputePass();
          pass.setPipeline(pipe);
          pass.setBindGroup(0, bindBuffers(ctx, pipe, [mv, cb, wb, out, uni]));
          const [x, y] = dispatchSize(ctx, Math.ceil(total / 64));
          pass.dispatchWorkgroups(x, y);
          pass.end();
          ctx.device.queue.submit([enc.finish()]);
          const back = await readBack(ctx, [{ buffer: out, offset: 0, size: total * 4 }]);
          return new Float32Array(back, 0, total).slice();
        } finally {
          uni.destroy();
        }
      });
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
  return { ...gpu, gatherWaveforms: (buf, base, n, samples, channels) => cpu.gatherWaveforms(buf, base, n, samples, channels) };
}
