/**
 * The readable definition of every bulk step of the per-segment loop (spec §7): the CPU
 * engine runs these, and each WGSL kernel is tested against them.
 *
 * Code shape (here and in the other stages' hot paths). A long loop is a small function of
 * its own, with nothing after it: V8 compiles a loop that runs long while it runs (on-stack
 * replacement) from the type feedback gathered so far, and code after the loop that has not
 * run yet has none, so the compiled code is thrown away when it gets there; V8 then reuses that
 * on-stack code on the next call, and the cycle repeats (a TurboFan trace of one 384-channel
 * sort: projectWasm compiled and thrown away 53-114 times, euclideanDistancesWasm 55 times;
 * 1.4 s of compilation in all, on the cores the sort needs). Hot paths make no closure per
 * call either: each would be a new call target, and the compiled caller is thrown away for it
 * (sortSegmentOn: 7 compilations of ~70 ms per sort).
 */
import type { FilteredBuffer } from '../../core/window.js';
import { meanWindowsWasm, subtractAndRescanWasm, transposeMinimaWasm } from './subtract-wasm.js';
import { IntList, checkChannels, checkGather, checkMatchArgs, checkRow, checkTemplateScores, halfSelfDot, isPeak, type SegmentMinima, type SortKernels } from './kernels.js';

/** `buf` when it holds n values, else a larger shared one (contents not kept; grown by half at least). */
function atLeast(buf: Float32Array<SharedArrayBuffer>, n: number): Float32Array<SharedArrayBuffer> {
  return buf.length >= n ? buf : new Float32Array(new SharedArrayBuffer(4 * Math.max(n, Math.ceil(buf.length * 1.5))));
}

export function cpuSortKernels(): SortKernels<SegmentMinima> {
  // The gathered windows, reused from call to call (see SortKernels.gatherWaveforms): a fresh
  // array per call (up to tens of MB at 1536 channels) was a fresh set of pages each time, and
  // their first touch took most of the gather (a 3000-spike x 24-channel gather: ~14 ms, ~8 of
  // them page faults). Shared memory, so nothing ever transfers (detaches) it.
  let gathered = new Float32Array(new SharedArrayBuffer(0));
  // The recovery pass's scores alike (K templates x M blocks per segment: ~13 MB at 1536 channels).
  let scored = new Float32Array(new SharedArrayBuffer(0));
  return {
    async templateScores(minVal, numMs, numChannels, channels, weights, J) {
      scored = atLeast(scored, (channels.length / J) * numMs);
      return templateScores(minVal, numMs, numChannels, channels, weights, J, scored);
    },

    async channelScores(seg, thr) {
      return channelScores(seg, thr);
    },

    async detectPeaks(seg, channel, threshold) {
      checkChannels('detectPeaks', seg, [channel]);
      const M = seg.numMs;
      const o = channel * M;
      const minPos = seg.minPosT.subarray(o, o + M);
      const peaks = peaksOfRow(seg.minValT.subarray(o, o + M), minPos, threshold);
      return toSamples(peaks, minPos, seg.samplesPerMs);
    },

    async gatherWaveforms(seg, samples, channels) {
      gathered = atLeast(gathered, samples.length * channels.length * 2 * seg.samplesPerMs);
      return gatherFromWindow(seg.buf, 0, seg.numMs, samples, channels, gathered);
    },

    async matchCandidates(seg, channels, target, templateMinima) {
      checkChannels('matchCandidates', seg, channels);
      checkChannels('matchCandidates', seg, [target]);
      const M = seg.numMs;
      const row = (c: number): Float32Array => seg.minValT.subarray(c * M, (c + 1) * M);
      const rows = Array.from(channels, row);
      const minPos = seg.minPosT.subarray(target * M, (target + 1) * M);
      return toSamples(matchRows(rows, minPos, templateMinima, row(target)), minPos, seg.samplesPerMs);
    },

    async meanMinima(seg, spikeMs) {
      return meanMinima(seg, spikeMs);
    },

    async meanWindows(seg, spikes, affected) {
      const w = seg.buf.wasm;
      return (w ? meanWindowsWasm(w.memory, w.scratch, w.scratchBytes, seg.buf, spikes, affected) : null) ?? meanWindows(seg.buf, spikes, affected);
    },

    async subtractAndRescan(seg, spikes, affected, means, thr, score) {
      // A window in a WebAssembly memory: the same computation in SIMD (subtract-wasm.ts).
      const w = seg.buf.wasm;
      if (w && subtractAndRescanWasm(w.memory, w.scratch, w.scratchBytes, seg, spikes, affected, means, thr, score)) return;
      subtractAndRescan(seg, spikes, affected, means, thr, score);
    },
  };
}

/** Segment-local samples m*S + minPos[m] of ms indices `ms`. */
export function toSamples(ms: Int32Array, minPos: Int32Array, S: number): Int32Array {
  const out = new Int32Array(ms.length);
  for (let i = 0; i < ms.length; i++) out[i] = ms[i] * S + minPos[ms[i]];
  return out;
}

/** §7.2 on one channel's minima row (length M): ascending ms indices m in 2..M-3 that are peaks. */
export function peaksOfRow(minVal: Float32Array, minPos: Int32Array, threshold: number): Int32Array {
  const M = minVal.length;
  checkRow('minPos', minPos, M);
  const h = Math.fround(threshold);
  const out = new IntList();
  for (let m = 2; m <= M - 3; m++) if (isPeak(minVal, minPos, m, h)) out.push(m);
  return out.result();
}

/**
 * §7.7 on minima rows: threshold-0 local minima of the target row (`minValTarget`, by default
 * minValRows[0]) whose feature·f > (f·f)/2, feature[k] = minValRows[k][m]; ascending ms indices.
 */
export function matchRows(minValRows: Float32Array[], minPosTarget: Int32Array, templateMinima: Float32Array, minValTarget?: Float32Array): Int32Array {
  const { target, M, K } = checkMatchArgs(minValRows, minPosTarget, templateMinima, minValTarget);
  const out = new IntList();
  matchInto(minValRows, minPosTarget, templateMinima, target, M, K, halfSelfDot(templateMinima), out);
  return out.result();
}

/** matchRows' loop (a function of its own: see "Code shape" in stages/sort/kernels-cpu.ts). */
function matchInto(minValRows: Float32Array[], minPosTarget: Int32Array, templateMinima: Float32Array, target: Float32Array,
  M: number, K: number, half: number, out: IntList): void {
  for (let m = 2; m <= M - 3; m++) {
    if (!isPeak(target, minPosTarget, m, 0)) continue;
    let dot = 0;
    for (let k = 0; k < K; k++) dot = Math.fround(dot + Math.fround(minValRows[k][m] * templateMinima[k]));
    if (dot > half) out.push(m);
  }
}

/**
 * §7.4 on a host window: windows [s-S, s+S) of `channels` around segment-local samples, from
 * buffer slots starting at ms `baseMs`; n x (channels.length*2S) row-major, in a new array or
 * the start of `into`.
 */
export function gatherFromWindow(buf: FilteredBuffer, baseMs: number, numMs: number, samples: Int32Array, channels: ArrayLike<number>,
  into?: Float32Array): Float32Array {
  checkGather(buf, baseMs, numMs, samples, channels);
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const W = 2 * S;
  const K = channels.length;
  const n = samples.length;
  if (into && into.length < n * K * W) throw new RangeError(`gatherFromWindow: into holds ${into.length} values, fewer than ${n * K * W}`);
  // Every value of the result is written below.
  const out = into ? into.subarray(0, n * K * W) : new Float32Array(n * K * W);
  const data = buf.data;
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const start = samples[i] - S;
    const m0 = Math.floor(start / S);
    const off = start - m0 * S;
    // A later spike's blocks, one load per block: on a window of gigabytes each block is a
    // cache and TLB miss, and issuing those loads early lets them overlap (a third off the
    // gather alone on a 3.1-GB window, ~6 % inside a 1536-channel sort, where the filter
    // threads share the memory bus). The values are only summed into `sink`.
    const ahead = i + GATHER_LOOKAHEAD < n ? Math.floor((samples[i + GATHER_LOOKAHEAD] - S) / S) : -1;
    for (let k = 0; k < K; k++) {
      const c = channels[k];
      if (ahead >= 0) {
        const a = ((baseMs + ahead) * C + c) * S;
        sink += data[a] + data[a + C * S] + (ahead + 2 < numMs ? data[a + 2 * C * S] : 0);
      }
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
  gatherSink = sink;
  return out;
}

/** How many spikes ahead gatherFromWindow touches (a microbenchmark: 1 to 4 all gain alike). */
const GATHER_LOOKAHEAD = 2;
/** Keeps the lookahead loads observable, so the compiler does not drop them. */
let gatherSink = 0;

/** §7.1: transposed minima and channel scores (see SortKernels.channelScores). */
export function channelScores(seg: SegmentMinima, thr: Float32Array): Float64Array {
  const { buf, numMs: M, minValT, minPosT } = seg;
  const C = buf.numChannels;
  if (M > buf.capacityMs) throw new RangeError(`channelScores: a ${M}-ms segment does not fit its ${buf.capacityMs}-ms window`);
  if (M * C > minValT.length || M * C > minPosT.length) {
    throw new RangeError(`channelScores: a ${M}-ms segment of ${C} channels does not fit the ${minValT.length / C}-ms transposed rows`);
  }
  // A window in a WebAssembly memory: the interior in SIMD (subtract-wasm.ts), the last
  // ms blocks and channels (past multiples of 4) here; otherwise all of it here.
  const w = buf.wasm;
  const done = w ? transposeMinimaWasm(w.memory, w.scratch, buf.samplesPerMs, buf.minVal, buf.minPos, M, C, minValT, minPosT) : null;
  if (done) transposeEdges(buf.minVal, buf.minPos, M, C, minValT, minPosT, done.M4, done.C4);
  else transposeMinima(buf.minVal, buf.minPos, M, C, minValT, minPosT);
  const score = new Float64Array(C);
  scoreRows(minValT, thr, M, C, score);
  return score;
}

// channelScores' two passes are functions of their own (see "Code shape" above).

/** minValT[c * M + m] = minVal[m * C + c] (and the positions alike), ms blocks [0, M). */
function transposeMinima(mv: Float32Array, mp: Int32Array, M: number, C: number, minValT: Float32Array, minPosT: Int32Array): void {
  // Tiled transpose: a tile's rows and columns both stay in cache (a plain double loop misses
  // the cache on every write once C x M exceeds it).
  const TM = 64;
  const TC = 64;
  for (let m0 = 0; m0 < M; m0 += TM) {
    const m1 = Math.min(M, m0 + TM);
    for (let c0 = 0; c0 < C; c0 += TC) {
      const c1 = Math.min(C, c0 + TC);
      for (let c = c0; c < c1; c++) {
        const o = c * M;
        for (let m = m0; m < m1; m++) {
          minValT[o + m] = mv[m * C + c];
          minPosT[o + m] = mp[m * C + c];
        }
      }
    }
  }
}

/** transposeMinima outside ms blocks [0, M4) x channels [0, C4): the rows from M4 on, and channels from C4 on before them. */
function transposeEdges(mv: Float32Array, mp: Int32Array, M: number, C: number, minValT: Float32Array, minPosT: Int32Array, M4: number, C4: number): void {
  for (let m = 0; m < M; m++) {
    for (let c = m < M4 ? C4 : 0; c < C; c++) {
      minValT[c * M + m] = mv[m * C + c];
      minPosT[c * M + m] = mp[m * C + c];
    }
  }
}

/** score[c] = sum over ms of min(0, fround(minValT[c * M + m] - thr[c])). */
function scoreRows(minValT: Float32Array, thr: Float32Array, M: number, C: number, score: Float64Array): void {
  for (let c = 0; c < C; c++) {
    const t = thr[c];
    let sc = 0;
    const o = c * M;
    for (let m = 0; m < M; m++) {
      const e = Math.fround(minValT[o + m] - t);
      if (e < 0) sc += e;
    }
    score[c] = sc;
  }
}

/** §7.10 over all C channels. The ms-major minima make this a contiguous pass per spike. */
export function meanMinima(seg: SegmentMinima, spikeMs: Int32Array): Float32Array {
  const C = seg.buf.numChannels;
  const mv = seg.buf.minVal;
  const n = spikeMs.length;
  const acc = new Float64Array(C);
  const out = new Float32Array(C);
  sumRows(mv, spikeMs, C, acc);
  for (let c = 0; c < C; c++) out[c] = acc[c] / n;
  return out;
}

/** acc[c] += mv[m * C + c] over the ms blocks m of spikeMs (a function of its own: see "Code shape" above). */
function sumRows(mv: Float32Array, spikeMs: Int32Array, C: number, acc: Float64Array): void {
  for (let i = 0; i < spikeMs.length; i++) {
    const row = spikeMs[i] * C;
    for (let c = 0; c < C; c++) acc[c] += mv[row + c];
  }
}

/**
 * §7.11: mean over all spikes of the window [s - 2S, s + 2S) on each affected channel, read
 * from the buffer before any subtraction: affected.length rows of 4S float32 values.
 */
export function meanWindows(buf: FilteredBuffer, spikes: Int32Array, affected: Int32Array): Float32Array {
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const data = buf.data;
  const W = 4 * S;
  const n = spikes.length;
  const A = affected.length;
  const means = new Float32Array(A * W);
  if (n === 0) return means;
  // Spike outer, channel inner: one spike's blocks of neighbouring channels sit side by side
  // in the (ms, channel, S) layout. Each accumulator still sums its spikes in ascending order.
  const acc = new Float64Array(A * W);
  for (let i = 0; i < n; i++) {
    const w0 = spikes[i] - 2 * S;
    const blk0 = Math.floor(w0 / S);
    const off0 = w0 - blk0 * S;
    for (let a = 0; a < A; a++) {
      const c = affected[a];
      const ao = a * W;
      let blk = blk0;
      let off = off0;
      let q = 0;
      while (q < W) {
        const len = Math.min(S - off, W - q);
        const base = (blk * C + c) * S + off;
        for (let j = 0; j < len; j++) acc[ao + q + j] += data[base + j];
        q += len;
        blk++;
        off = 0;
      }
    }
  }
  for (let k = 0; k < A * W; k++) means[k] = acc[k] / n;
  return means;
}

/**
 * §7.11-7.12 (see SortKernels.subtractAndRescan). Each spike's blocks are re-scanned right
 * after its own subtraction while they are in cache; a block shared with a later spike is
 * re-scanned again after that one, so the final minima are those of the fully subtracted data,
 * and each score changes by (final - original) contributions as in the reference order.
 */
export function subtractAndRescan(seg: SegmentMinima, spikes: Int32Array, affected: Int32Array, means: Float32Array,
  thr: Float32Array, score: Float64Array): void {
  const { buf, numMs: M, minValT, minPosT } = seg;
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const data = buf.data;
  const mvMajor = buf.minVal;
  const mpMajor = buf.minPos;
  const W4 = 4 * S;
  const n = spikes.length;
  for (let i = 0; i < n; i++) {
    const m = Math.floor(spikes[i] / S);
    const w0 = spikes[i] - 2 * S;
    const blk0 = Math.floor(w0 / S);
    const off0 = w0 - blk0 * S;
    for (let a = 0; a < affected.length; a++) {
      const c = affected[a];
      const mo = a * W4;
      let blk = blk0;
      let off = off0;
      let q = 0;
      while (q < W4) {
        const len = Math.min(S - off, W4 - q);
        const base = (blk * C + c) * S + off;
        for (let j = 0; j < len; j++) data[base + j] -= means[mo + q + j];
        q += len;
        blk++;
        off = 0;
      }
      const tc = thr[c];
      const o = c * M;
      let sc = score[c];
      for (let b = m - 2; b <= m + 2; b++) {
        const old = Math.fround(minValT[o + b] - tc);
        if (old < 0) sc -= old;
        const base = (b * C + c) * S;
        let mv = data[base];
        let mp = 0;
        for (let t = 1; t < S; t++) {
          const v = data[base + t];
          if (v < mv) {
            mv = v;
            mp = t;
          }
        }
        minValT[o + b] = mv;
        minPosT[o + b] = mp;
        mvMajor[b * C + c] = mv;
        mpMajor[b * C + c] = mp;
        const now = Math.fround(mv - tc);
        if (now < 0) sc += now;
      }
      score[c] = sc;
    }
  }
}

/** Recovery template scores (see SortKernels.templateScores): float32 products and sums, channels in order. */
export function templateScores(minVal: Float32Array, M: number, C: number, channels: Int32Array, weights: Float32Array, J: number,
  into?: Float32Array): Float32Array {
  const K = checkTemplateScores(minVal, M, C, channels, weights, J);
  if (into && into.length < K * M) throw new RangeError(`templateScores: into holds ${into.length} values, fewer than ${K * M}`);
  // Every value of the result is written below.
  const out = into ? into.subarray(0, K * M) : new Float32Array(K * M);
  // Blocks outer: each block's row of C minima is read from memory once for all K templates
  // (templates outer read J scattered values of every row per template: a cache miss each at
  // 1536 channels, where a row is 6 KB).
  // Four templates side by side: each score is a chain of J dependent float32 additions, which
  // one template at a time ran at the adder's latency; each keeps its own order (same bits).
  for (let m = 0; m < M; m++) {
    const row = m * C;
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const b0 = k * J;
      const b1 = b0 + J;
      const b2 = b1 + J;
      const b3 = b2 + J;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0; j < J; j++) {
        a0 = Math.fround(a0 + Math.fround(weights[b0 + j] * minVal[row + channels[b0 + j]]));
        a1 = Math.fround(a1 + Math.fround(weights[b1 + j] * minVal[row + channels[b1 + j]]));
        a2 = Math.fround(a2 + Math.fround(weights[b2 + j] * minVal[row + channels[b2 + j]]));
        a3 = Math.fround(a3 + Math.fround(weights[b3 + j] * minVal[row + channels[b3 + j]]));
      }
      out[k * M + m] = a0;
      out[(k + 1) * M + m] = a1;
      out[(k + 2) * M + m] = a2;
      out[(k + 3) * M + m] = a3;
    }
    for (; k < K; k++) {
      const b = k * J;
      let acc = 0;
      for (let j = 0; j < J; j++) acc = Math.fround(acc + Math.fround(weights[b + j] * minVal[row + channels[b + j]]));
      out[k * M + m] = acc;
    }
  }
  return out;
}
