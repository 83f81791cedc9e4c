/**
 * The WGSL twins of the sort kernels (stages/sort/kernels-cpu.ts), working on a
 * device-resident window (DeviceSegment): the filtered data and the minima stay on the GPU
 * through the whole per-segment loop, and each call moves only what the loop's decisions
 * need. Down: thresholds (once per segment), spike positions, channel lists, the template's
 * minima, affected channels. Up: channel scores, spike positions (detection, matching),
 * candidate waveforms for clustering, amplitude vectors, mean windows, score changes. Nothing
 * is read back per spike; each call is one unit of the Runner (one submission, shared with
 * the units other segments in flight request in the same event-loop turn).
 *
 * Precision: the twins' float64 sums are f32 tree sums (scores, score changes) or compensated
 * f32 sums (amplitudes, mean windows) here, equal to the last bits or nearly; gather,
 * detection, the feature test, the subtraction and the rescan do the same f32 operations in
 * the same order as the twins. Tests compare each kernel with its twin.
 */
import type { SortKernels } from '../../stages/sort/kernels.js';
import { checkChannels, checkTemplateScores, checkWindows, halfSelfDot } from '../../stages/sort/kernels.js';
import { STORAGE_INOUT, maxItemsPerBinding } from './buffers.js';
import type { DeviceSegment } from './device-window.js';
import { groupsFor, program, type Dispatch, type Runner, type Step } from './program.js';

export const PROGRAMS = {
  channelScores: program('channel_scores.wgsl', 'channel_scores', 64, 'channelScores'),
  detectPeaks: program('detect_peaks.wgsl', 'detect_peaks', 256, 'detection'),
  gather: program('gather_waveforms.wgsl', 'gather_waveforms', 64, 'gather'),
  match: program('template_match.wgsl', 'template_match', 256, 'templateCorrelation'),
  meanMinima: program('mean_minima.wgsl', 'mean_minima', 64, 'amplitudes'),
  meanWindows: program('mean_windows.wgsl', 'mean_windows', 64, 'meanWindows'),
  subtract: program('subtract.wgsl', 'subtract', 64, 'subtraction'),
  rescan: program('rescan.wgsl', 'rescan', 64, 'subtraction'),
  scoreDelta: program('score_delta.wgsl', 'score_delta', 64, 'subtraction'),
  templateScores: program('template_scores.wgsl', 'template_scores', 64, 'recovery'),
} as const;

function words(n: number): { u: Uint32Array; f: Float32Array } {
  const u = new Uint32Array(n);
  return { u, f: new Float32Array(u.buffer) };
}

/** Interleaved (a, b) pairs as u32. */
function pairs(a: ArrayLike<number>, b: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(2 * a.length);
  for (let i = 0; i < a.length; i++) {
    out[2 * i] = a[i];
    out[2 * i + 1] = b[i];
  }
  return out;
}

/** out[0] = count, out[1..] = samples (detect_peaks.wgsl / template_match.wgsl). */
function selected(bytes: ArrayBuffer): Int32Array {
  const all = new Int32Array(bytes);
  return all.slice(1, 1 + all[0]);
}

export function deviceSortKernels(runner: Runner): SortKernels<DeviceSegment> {
  const pool = runner.pool;
  const ctx = runner.ctx;
  // Every pool.get / upload below runs inside a Runner build (the exclusive section), under a
  // role of its own window (`${seg.id} ...`): units of several segments may share a batch.
  // Thresholds go to the device once per segment (channelScores) and are reused by the rescan.
  let thrOnDevice: Float32Array | null = null;
  let thrBuffer: GPUBuffer | null = null;
  const thresholds = (thr: Float32Array): GPUBuffer => {
    // Only this function touches the role, so the buffer stays valid until thr changes.
    if (thrOnDevice !== thr || thrBuffer === null) {
      thrBuffer = pool.upload('thresholds', thr);
      thrOnDevice = thr;
    }
    return thrBuffer;
  };
  // Per window: the mean windows of its last meanWindows call, kept on the device for the
  // subtraction that follows (in a buffer of that window's own: other segments in flight run
  // their steps in between).
  const lastMeans = new WeakMap<DeviceSegment, Float32Array>();
  const meansRole = (seg: DeviceSegment): string => `mean windows ${seg.id}`;

  /** One ordered-selection dispatch (detect_peaks / template_match): count + samples come back. */
  const select = async (label: string, seg: DeviceSegment, d: (out: GPUBuffer) => Dispatch): Promise<Int32Array> => {
    const bytes = 4 * (1 + Math.max(1, seg.numMs));
    const [back] = await runner.run(label, () => {
      const out = pool.get(`${seg.id} ${label} out`, bytes, STORAGE_INOUT());
      return { steps: [{ kind: 'dispatch', dispatch: d(out) }], reads: [{ buffer: out, offset: 0, size: bytes }] };
    });
    return selected(back);
  };

  return {
    // Recovery (mode 'improved'): reads a host window's minima (the recovery pass filters its
    // windows through the engine's filter into host memory), so they go up once per call
    // (copied out of the window's shared memory, which writeBuffer does not take).
    async templateScores(minVal, numMs, numChannels, channels, weights, J) {
      const K = checkTemplateScores(minVal, numMs, numChannels, channels, weights, J);
      const total = K * numMs;
      if (total === 0) return new Float32Array(0);
      const { u } = words(4);
      u.set([numMs, numChannels, J, K]);
      const [back] = await runner.run('recovery template scores', () => {
        const out = pool.get('recovery scores', total * 4, STORAGE_INOUT());
        return {
          steps: [{
            kind: 'dispatch', dispatch: {
              program: PROGRAMS.templateScores, uniforms: u, workgroups: groupsFor(PROGRAMS.templateScores, total),
              buffers: [pool.upload('recovery minVal', minVal.slice(0, numMs * numChannels)), pool.upload('recovery channels', channels), pool.upload('recovery weights', weights), out],
            },
          }],
          reads: [{ buffer: out, offset: 0, size: total * 4 }],
        };
      });
      return new Float32Array(back).slice(0, total);
    },

    async channelScores(seg, thr) {
      const C = seg.numChannels;
      if (thr.length !== C) throw new RangeError(`channelScores: ${thr.length} thresholds for ${C} channels`);
      const { u } = words(4);
      u.set([seg.numMs, seg.capacityMs, C, 0]);
      const [back] = await runner.run('channel scores', () => {
        const score = pool.get(`${seg.id} scores`, C * 4, STORAGE_INOUT());
        return {
          steps: [{ kind: 'dispatch', dispatch: { program: PROGRAMS.channelScores, buffers: [seg.minVal, thresholds(thr), score], uniforms: u, workgroups: C } }],
          reads: [{ buffer: score, offset: 0, size: C * 4 }],
        };
      });
      return Float64Array.from(new Float32Array(back));
    },

    async detectPeaks(seg, channel, threshold) {
      checkChannels('detectPeaks', seg, [channel]);
      const { u, f } = words(8);
      u.set([seg.numMs, seg.samplesPerMs, seg.capacityMs, channel]);
      f[4] = threshold;
      return select('peak detection', seg, (out) => ({ program: PROGRAMS.detectPeaks, uniforms: u, workgroups: 1, buffers: [seg.minVal, seg.minPos, out] }));
    },

    async gatherWaveforms(seg, samples, channels) {
      checkChannels('gatherWaveforms', seg, channels);
      const S = seg.samplesPerMs;
      checkWindows('gatherWaveforms', seg, samples, S);
      const W = 2 * S;
      const K = channels.length;
      const n = samples.length;
      const result = new Float32Array(n * K * W);
      if (n === 0 || K === 0) return result;
      const parts = seg.byGroup(channels);
      const rel = parts.map((p) => pairs(p.ks, p.cs.map((c) => c - p.group.c0)));
      // Spikes per submission: the output must fit one binding.
      const batch = Math.max(1, Math.min(n, maxItemsPerBinding(ctx, K * W * 4)));
      for (let i0 = 0; i0 < n; i0 += batch) {
        const nb = Math.min(batch, n - i0);
        const sub = samples.subarray(i0, i0 + nb);
        const [back] = await runner.run('waveform gathering', () => {
          const out = pool.get(`${seg.id} gather out`, nb * K * W * 4, STORAGE_INOUT());
          const sp = pool.upload(`${seg.id} gather samples`, sub);
          const steps: Step[] = parts.map((p, gi) => {
            const { u } = words(8);
            u.set([nb, p.ks.length, K, S, seg.rowLen]);
            return {
              kind: 'dispatch',
              dispatch: {
                program: PROGRAMS.gather, uniforms: u, workgroups: groupsFor(PROGRAMS.gather, nb * p.ks.length * W),
                buffers: [p.group.data, sp, pool.upload(`${seg.id} gather pairs ${gi}`, rel[gi]), out],
              },
            };
          });
          return { steps, reads: [{ buffer: out, offset: 0, size: nb * K * W * 4 }] };
        });
        result.set(new Float32Array(back), i0 * K * W);
      }
      return result;
    },

    async matchCandidates(seg, channels, target, templateMinima) {
      checkChannels('matchCandidates', seg, channels);
      checkChannels('matchCandidates', seg, [target]);
      const K = channels.length;
      if (templateMinima.length !== K) throw new RangeError(`matchCandidates: ${K} channels for ${templateMinima.length} template minima`);
      const { u, f } = words(8);
      u.set([seg.numMs, seg.samplesPerMs, seg.capacityMs, target, K]);
      f[5] = halfSelfDot(templateMinima);
      return select('template matching', seg, (out) => ({
        program: PROGRAMS.match, uniforms: u, workgroups: 1,
        buffers: [seg.minVal, seg.minPos, pool.upload(`${seg.id} match channels`, Uint32Array.from(channels)), pool.upload(`${seg.id} match f`, templateMinima), out],
      }));
    },

    async meanMinima(seg, spikeMs) {
      const C = seg.numChannels;
      for (let i = 0; i < spikeMs.length; i++) {
        if (!(spikeMs[i] >= 0 && spikeMs[i] < seg.numMs)) throw new RangeError(`meanMinima: ms ${spikeMs[i]} is outside the segment's ${seg.numMs} ms`);
      }
      const { u } = words(4);
      u.set([spikeMs.length, seg.capacityMs, C, 0]);
      const [back] = await runner.run('amplitude vectors', () => {
        const out = pool.get(`${seg.id} amplitudes`, C * 4, STORAGE_INOUT());
        return {
          steps: [{ kind: 'dispatch', dispatch: { program: PROGRAMS.meanMinima, uniforms: u, workgroups: groupsFor(PROGRAMS.meanMinima, C), buffers: [seg.minVal, pool.upload(`${seg.id} amplitude spikes`, spikeMs), out] } }],
          reads: [{ buffer: out, offset: 0, size: C * 4 }],
        };
      });
      return new Float32Array(back);
    },

    async meanWindows(seg, spikes, affected) {
      checkChannels('meanWindows', seg, affected);
      const S = seg.samplesPerMs;
      checkWindows('meanWindows', seg, spikes, 2 * S);
      const W4 = 4 * S;
      const A = affected.length;
      const bytes = A * W4 * 4;
      lastMeans.delete(seg);
      if (A === 0 || spikes.length === 0) return new Float32Array(A * W4);
      const parts = seg.byGroup(affected);
      const [back] = await runner.run('mean windows', () => {
        const out = pool.get(meansRole(seg), bytes, STORAGE_INOUT());
        const sp = pool.upload(`${seg.id} spikes`, spikes);
        const steps: Step[] = parts.map((p, gi) => {
          const { u } = words(4);
          u.set([spikes.length, p.ks.length, S, seg.rowLen]);
          return {
            kind: 'dispatch',
            dispatch: {
              program: PROGRAMS.meanWindows, uniforms: u, workgroups: p.ks.length * W4,   // one workgroup per output value
              buffers: [p.group.data, sp, pool.upload(`${seg.id} mean pairs ${gi}`, pairs(p.ks, p.cs.map((c) => c - p.group.c0))), out],
            },
          };
        });
        return { steps, reads: [{ buffer: out, offset: 0, size: bytes }] };
      });
      const host = new Float32Array(back);
      lastMeans.set(seg, host);
      return host;
    },

    async subtractAndRescan(seg, spikes, affected, means, thr, score) {
      checkChannels('subtractAndRescan', seg, affected);
      const S = seg.samplesPerMs;
      checkWindows('subtractAndRescan', seg, spikes, 2 * S);
      const A = affected.length;
      const n = spikes.length;
      const W4 = 4 * S;
      if (means.length !== A * W4) throw new RangeError(`subtractAndRescan: ${means.length} mean values for ${A} channels x ${W4} samples`);
      if (A === 0 || n === 0) return;
      const parts = seg.byGroup(affected);
      // Each group's block deltas at an offset aligned for a storage binding.
      const align = ctx.limits.minStorageBufferOffsetAlignment;
      const deltaAt: number[] = [];
      let deltaBytes = 0;
      for (const p of parts) {
        deltaAt.push(deltaBytes);
        deltaBytes = Math.ceil((deltaBytes + p.ks.length * n * 5 * 4) / align) * align;
      }
      // The means are on the device already when they are this window's last meanWindows result.
      const reuse = lastMeans.get(seg) === means;
      lastMeans.delete(seg);
      const [back] = await runner.run('subtraction', () => {
        const deltas = pool.get(`${seg.id} score deltas`, deltaBytes, STORAGE_INOUT());
        const change = pool.get(`${seg.id} score change`, A * 4, STORAGE_INOUT());
        const sp = pool.upload(`${seg.id} spikes`, spikes);
        const mb = reuse ? pool.get(meansRole(seg), A * W4 * 4, STORAGE_INOUT()) : pool.upload(`${seg.id} means`, means);
        const tb = thresholds(thr);
        const subs: Step[] = [];
        const rest: Step[] = [];
        parts.forEach((p, gi) => {
          const g = p.ks.length;
          const rel = p.cs.map((c) => c - p.group.c0);
          const view = { buffer: deltas, offset: deltaAt[gi], size: g * n * 5 * 4 };
          const a = words(4);
          a.u.set([n, g, S, seg.rowLen]);
          const b = words(8);
          b.u.set([n, g, S, seg.rowLen, seg.capacityMs]);
          const c = words(4);
          c.u.set([n * 5, g]);
          subs.push({ kind: 'dispatch', dispatch: { program: PROGRAMS.subtract, uniforms: a.u, workgroups: groupsFor(PROGRAMS.subtract, g * n * W4), buffers: [p.group.data, sp, pool.upload(`${seg.id} sub pairs ${gi}`, pairs(p.ks, rel)), mb] } });
          rest.push(
            { kind: 'dispatch', dispatch: { program: PROGRAMS.rescan, uniforms: b.u, workgroups: groupsFor(PROGRAMS.rescan, g * n * 5), buffers: [p.group.data, sp, pool.upload(`${seg.id} rescan pairs ${gi}`, pairs(rel, p.cs)), tb, seg.minVal, seg.minPos, view] } },
            { kind: 'dispatch', dispatch: { program: PROGRAMS.scoreDelta, uniforms: c.u, workgroups: g, buffers: [view, pool.upload(`${seg.id} delta slots ${gi}`, Uint32Array.from(p.ks)), change] } },
          );
        });
        // All subtractions first, then the rescans and score sums (a rescan reads its own channel's rows only).
        return { steps: [...subs, ...rest], reads: [{ buffer: change, offset: 0, size: A * 4 }] };
      });
      const dv = new Float32Array(back);
      for (let k = 0; k < A; k++) score[affected[k]] += dv[k];
    },
  };
}
