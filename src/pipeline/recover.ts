/**
 * Recovery pass (mode 'improved', beyond the reference): after tracking, each segment is
 * filtered again and the listed tracks' templates are matched against its per-ms minima, to
 * recover spikes of known units in segments where they were not clustered (a rare unit with
 * fewer than minSpikesPerCluster spikes there, a unit the clustering missed), and the spikes a
 * segment's clustering left out of a track's unit (completion, below).
 *
 * A track's template in segment s is its amplitude vector (noise floor removed) in the nearest
 * segment where it has a unit, so it follows drift; only segments inside a track's span
 * (between its first and last unit) are searched, so recovery never creates a unit nor
 * extends one beyond where it was clustered. Scores (SortKernels.templateScores: the
 * template's J largest channels, weights -a_j, against minVal) are accepted at ms block m when
 *  - m is a local maximum of the template's score (m-1 .. m+1),
 *  - the score exceeds the noise: median + RECOVERY_NOISE_SDS x (1.4826 MAD) of that template's
 *    scores over every block of the segment (almost all blocks hold no spike of it), and
 *    lies nearer the template's own level than the noise's: above median + |a_J|² / 2,
 *  - the template's best channel has minVal[m] below half its detection threshold,
 *  - no spike of any unit of the segment (found or recovered) lies within 1 ms,
 *  - no other template fits the block better: the segment's other units (listed or not: the
 *    partner of a close pair, a fragment) and the other tracks compete, in noise sds, at m-1 .. m+1.
 * Candidates are taken best first (score above the noise level, in noise sds).
 *
 * Completion: in a segment where the track has a unit, the template is that unit's own vector
 * and the spikes found join the unit (its amplitude vector becomes the spike-weighted mean of
 * its §7.10 vector and the added spikes' unsubtracted minima). A short segment gives §7's
 * clustering few spikes of a unit near the threshold, and the final split often keeps only its larger ones (measured, bench/QUALITY.md: 5-9 of 9-19
 * spikes in a 5-s segment, the rest explained by no unit). Two more conditions hold there, as
 * the candidates are the unit's own missed spikes or those of another unit at the same place
 * that no clustering found:
 *  - the best channel crosses the detection threshold itself (a spike §7 saw and left
 *    unexplained; a gap's spikes need only half of it): below it, the spikes of sub-threshold
 *    units next to a unit near the threshold fit its template as well as its own (measured:
 *    24-43 such spikes per 10-s segment joined one unit, whose id then matched no unit);
 *  - the score lies within RECOVERY_NOISE_SDS noise sds of the template's own level |a_J|²: a
 *    spike of the unit scores its level plus noise; a large rare unit's template otherwise took
 *    in about one foreign spike at half its size per segment (measured: a 0.6-Hz SNR-11 unit
 *    of 5-11 spikes per 10-s segment).
 */
import type { Recording } from '../formats/recording.js';
import type { SignalProcessor } from '../engines/engine.js';
import { allocateMinimaBuffer, copyMinima } from '../core/window.js';
import type { SortKernels } from '../stages/sort/kernels.js';
import { aboveFloor } from '../stages/track/tracks.js';
import { largestIndices, medianOf } from '../stages/segment/thresholds.js';
import { SortedRecording, type SegmentResult } from '../result/sorted-recording.js';

/** Channels per template. */
export const RECOVERY_CHANNELS = 6;
/** Noise sds a recovered spike's score must exceed the median score by. */
export const RECOVERY_NOISE_SDS = 6;

export interface SegmentSpan {
  startMs: number;
  numMs: number;
}

/**
 * A segment's per-ms minima before any subtraction (ms-major, m*C + c), kept by pass 2. The
 * positions (0..S-1) are kept in bytes where S <= 256 (see keepRecoveryMinima).
 */
export interface RecoveryMinima {
  minVal: Float32Array;
  minPos: Int32Array | Uint8Array;
}

/** Bytes per ms block and channel of a RecoveryMinima at S samples per ms. */
export function recoveryMinimaBytes(samplesPerMs: number): number {
  return samplesPerMs <= 256 ? 5 : 8;
}

/**
 * A copy of a window's first n minima (n = M x C) for the recovery pass. The copies of all
 * segments are held until the end of the sort and each of their pages is touched once, which on
 * a virtual machine costs a page fault of 4-20 us per 4 KiB: positions in one byte instead of
 * four take 8 -> 5 bytes per ms and channel (1536 channels x 60 s: 737 -> 461 MB).
 */
export function keepRecoveryMinima(minVal: Float32Array, minPos: Int32Array, n: number, samplesPerMs: number): RecoveryMinima {
  const kept = allocateRecoveryMinima(n, samplesPerMs);
  copyMinima(kept, minVal, minPos, 0, n);
  return kept;
}

/**
 * Room for n minima (M x C) of a segment, filled part by part (core/window.ts copyMinima, or the filter itself: FilteredBuffer.minimaCopy); in shared
 * memory, so a recovery helper thread reads them without a copy (RecoveryOffload).
 */
export function allocateRecoveryMinima(n: number, samplesPerMs: number): RecoveryMinima {
  const wide = recoveryMinimaBytes(samplesPerMs) === 8;
  return {
    minVal: new Float32Array(new SharedArrayBuffer(n * 4)),
    minPos: wide ? new Int32Array(new SharedArrayBuffer(n * 4)) : new Uint8Array(new SharedArrayBuffer(n)),
  };
}


export interface RecoveryStats {
  /** Spikes added to tracks in segments where they had no unit. */
  addedInGaps: number;
  /** Spikes added to a track's unit in its own segment (completion). */
  addedToUnits: number;
  /** New units (a track's spikes in a segment where it was not clustered). */
  newUnits: number;
  /** Time filtering segments again (none where pass 2 kept their minima). */
  filterMs: number;
  /** Time searching segments (scores and candidates). */
  scoreMs: number;
  /** Segment searches that ran on a helper thread (RecoveryOffload). */
  offloaded: number;
}

/**
 * One template's scores in noise sds, z[m] = (row[m] - median) / sd with sd = 1.4826 MAD (at
 * least 1e-12); returns sd. z may be row itself. `dev` is scratch of the row's length. (A
 * function of its own: inside the long async pass these loops ran several times slower.)
 */
function noiseUnits(row: Float32Array, dev: Float32Array, z: Float32Array): number {
  const med = medianOf(row);
  absDeviations(row, med, dev);
  const sd = Math.max(1.4826 * medianOf(dev), 1e-12);
  scaledDeviations(row, med, sd, z);
  return sd;
}

// noiseUnits' loops are functions of their own (see "Code shape" in stages/sort/kernels-cpu.ts).

/** dev[m] = |row[m] - med|. */
function absDeviations(row: Float32Array, med: number, dev: Float32Array): void {
  for (let m = 0; m < row.length; m++) dev[m] = Math.abs(row[m] - med);
}

/** z[m] = (row[m] - med) / sd. */
function scaledDeviations(row: Float32Array, med: number, sd: number, z: Float32Array): void {
  for (let m = 0; m < row.length; m++) z[m] = (row[m] - med) / sd;
}

/**
 * One segment's recovery search: everything recoverSegment reads. (The search as a function of
 * its own, out of the long async pass: the pass took 0.34 -> 0.25 s at 32 channels x 600 s.)
 */
export interface RecoveryJob {
  numMs: number;
  numChannels: number;
  samplesPerMs: number;
  /** Sample index of the segment's ms block 0 (recording time). */
  base: number;
  /** The segment's unsubtracted minima, [m * C + c]. */
  minVal: Float32Array;
  minPos: Int32Array | Uint8Array;
  /** The chosen tracks' templates (their first `numChosen` entries), then the rivals'. */
  templates: Float32Array[];
  numChosen: number;
  /**
   * Per chosen track, its own unit of this segment (completion) as that unit's spike count and
   * amplitude vector, or null (a gap).
   */
  units: ({ count: number; amplitude: Float32Array } | null)[];
  /** Every spike train of the segment (blocks within 1 ms of one are taken). */
  spikes: Float64Array[];
  thresholds: Float32Array;
}

/** Per chosen track: the spikes found (sorted) and the amplitude vector of its unit with them, or null when none was found. */
export type RecoveryFound = ({ add: Float64Array; amplitude: Float32Array } | null)[];

// recoverSegment's loops over blocks are functions of their own (see "Code shape" in
// stages/sort/kernels-cpu.ts; seven compilations per sort at 384 channels before).

/** Marks the blocks within 1 ms of each spike of `train` (segment-local ms from `base`). */
function markTaken(train: Float64Array, base: number, S: number, taken: Uint8Array): void {
  const M = taken.length;
  for (let i = 0; i < train.length; i++) {
    const m = Math.floor((train[i] - base) / S);
    for (let d = -1; d <= 1; d++) if (m + d >= 0 && m + d < M) taken[m + d] = 1;
  }
}

/**
 * Template k's candidates into `cands`: blocks 2..M-3 not taken where its score (in noise sds)
 * is a local maximum above needZ, the best channel's minimum lies below h, and no other template
 * scores higher within 1 ms.
 */
function candidatesOf(k: number, z: Float32Array, M: number, K: number, C: number, needZ: number, taken: Uint8Array,
  minVal: Float32Array, best: number, h: number, cands: { k: number; m: number; z: number }[]): void {
  for (let m = 2; m <= M - 3; m++) {
    if (taken[m]) continue;
    const v = z[k * M + m];
    if (!(v > needZ) || v < z[k * M + m - 1] || v < z[k * M + m + 1]) continue;
    if (!(minVal[m * C + best] < h)) continue;
    let rival = false;
    for (let j = 0; j < K && !rival; j++) {
      if (j === k) continue;
      for (let d = -1; d <= 1; d++) if (z[j * M + m + d] > v) rival = true;
    }
    if (!rival) cands.push({ k, m, z: v });
  }
}

/** Scores the job's templates against its minima and picks the recovered spikes (the file comment's rules). */
export async function recoverSegment(job: RecoveryJob, kernels: SortKernels): Promise<RecoveryFound> {
  const { numMs: M, numChannels: C, samplesPerMs: S, base, minVal, minPos, templates, numChosen, units, thresholds } = job;
  const J = Math.min(RECOVERY_CHANNELS, C);
  const K = templates.length;
  const channels = new Int32Array(K * J);
  const weights = new Float32Array(K * J);
  const best = new Int32Array(K);
  const selfHalf = new Float64Array(K);
  const top = new Int32Array(J);
  templates.forEach((a, k) => {
    const order = largestIndices(a, top) ? top : Array.from(a.keys()).sort((x, y) => a[y] - a[x] || x - y).slice(0, J);
    best[k] = order[0];
    let ss = 0;
    order.forEach((c, j) => {
      channels[k * J + j] = c;
      weights[k * J + j] = -a[c];
      ss += a[c] * a[c];
    });
    selfHalf[k] = ss / 2;
  });
  // Every template's scores, then (in place, row by row: a second K x M array was ~13 MB of
  // fresh pages per segment at 1536 channels) in noise sds.
  const z = await kernels.templateScores(minVal, M, C, channels, weights, J);
  const needZ = new Float64Array(K);
  const dev = new Float32Array(M);
  for (let k = 0; k < K; k++) {
    const row = z.subarray(k * M, (k + 1) * M);
    const sd = noiseUnits(row, dev, row);
    needZ[k] = Math.max(RECOVERY_NOISE_SDS, selfHalf[k] / sd);
    // Completion: within RECOVERY_NOISE_SDS of the template's own level (see the file comment).
    if (k < numChosen && units[k]) needZ[k] = Math.max(needZ[k], (2 * selfHalf[k]) / sd - RECOVERY_NOISE_SDS);
  }
  // Blocks within 1 ms of a spike of the segment are taken. (Known before the candidates: a
  // completed unit's own spikes are its template's best local maxima, and testing each of them
  // against every rival cost most of the pass.)
  const taken = new Uint8Array(M);
  for (const train of job.spikes) markTaken(train, base, S, taken);
  // Candidates of the chosen tracks, best first.
  const cands: { k: number; m: number; z: number }[] = [];
  for (let k = 0; k < numChosen; k++) {
    // Completion: the detection threshold itself; a gap: half of it (see the file comment).
    const h = units[k] ? thresholds[best[k]] : thresholds[best[k]] / 2;
    candidatesOf(k, z, M, K, C, needZ[k], taken, minVal, best[k], h, cands);
  }
  const out: RecoveryFound = new Array<null>(numChosen).fill(null);
  if (cands.length === 0) return out;
  cands.sort((x, y) => y.z - x.z || x.m - y.m || x.k - y.k);
  const found: number[][] = Array.from({ length: numChosen }, () => []);
  for (const { k, m } of cands) {
    if (taken[m]) continue;
    for (let d = -1; d <= 1; d++) if (m + d >= 0 && m + d < M) taken[m + d] = 1;
    found[k].push(base + m * S + minPos[m * C + best[k]]);
  }
  for (let k = 0; k < numChosen; k++) {
    const add = Float64Array.from(found[k].sort((x, y) => x - y));
    if (add.length === 0) continue;
    const unit = units[k];
    const amp = new Float64Array(C);
    if (unit) {
      // Completion: the spike-weighted mean of the unit's vector and the added spikes' minima.
      const n = unit.count + add.length;
      for (let c = 0; c < C; c++) amp[c] = unit.amplitude[c] * unit.count;
      for (const x of add) {
        const m = Math.floor((x - base) / S);
        for (let c = 0; c < C; c++) amp[c] -= minVal[m * C + c];
      }
      out[k] = { add, amplitude: Float32Array.from(amp, (v) => v / n) };
    } else {
      // A new unit of the track: its amplitude vector by §7.10 over the recovered spikes.
      for (const x of add) {
        const m = Math.floor((x - base) / S);
        for (let c = 0; c < C; c++) amp[c] += minVal[m * C + c];
      }
      out[k] = { add, amplitude: Float32Array.from(amp, (v) => -v / add.length) };
    }
  }
  return out;
}

/**
 * Other threads that take segments' searches (recoverSegment, with the CPU kernels) of the
 * recovery pass: `share` posts every job, and each helper claims jobs through `next`
 * (Atomics.add) as the calling thread does, until none is left. It settles with the helpers'
 * results by job index once every helper is done; a job a helper claimed and did not finish is
 * missing there (the caller computes it). Null: no helper can take part.
 */
export interface RecoveryOffload {
  share(jobs: readonly RecoveryJob[], next: Int32Array): Promise<Map<number, RecoveryFound>> | null;
}

/**
 * The searches of `jobs`, each claimed by the calling thread or a helper (results in job order:
 * a search's result does not depend on where it runs). The claims go through shared memory, so
 * a helper takes its next job without waiting for the calling thread's event loop.
 */
async function runRecoveryJobs(jobs: readonly RecoveryJob[], kernels: SortKernels, offload: RecoveryOffload | undefined, stats: RecoveryStats): Promise<RecoveryFound[]> {
  const out: (RecoveryFound | undefined)[] = new Array(jobs.length);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const remote = jobs.length > 1 ? offload?.share(jobs, next) ?? null : null;
  for (let i = Atomics.add(next, 0, 1); i < jobs.length; i = Atomics.add(next, 0, 1)) out[i] = await recoverSegment(jobs[i], kernels);
  if (remote) {
    for (const [i, found] of await remote) {
      out[i] = found;
      stats.offloaded++;
    }
  }
  // A job a helper claimed and did not finish (it failed): here, with the same result.
  for (let i = 0; i < jobs.length; i++) out[i] ??= await recoverSegment(jobs[i], kernels);
  return out as RecoveryFound[];
}

export async function recoverSpikes(
  sorted: SortedRecording,
  spans: readonly SegmentSpan[],
  recording: Recording,
  engine: SignalProcessor,
  kernels: SortKernels,
  thresholds: Float32Array,
  polarity: number,
  /** Per segment, its minima as pass 2 filtered them (absent: each searched segment is filtered again). */
  kept?: readonly (RecoveryMinima | undefined)[],
  /** Where segments' searches may also run (with the CPU kernels: only for an engine whose kernels are those); only when every segment's minima are kept. */
  offload?: RecoveryOffload,
): Promise<{ sorted: SortedRecording; stats: RecoveryStats }> {
  const stats: RecoveryStats = { addedInGaps: 0, addedToUnits: 0, newUnits: 0, filterMs: 0, scoreMs: 0, offloaded: 0 };
  const tracks = sorted.tracks;
  if (!tracks || sorted.numSegments !== spans.length) return { sorted, stats };
  const C = recording.numChannels;
  const S = recording.samplesPerMs;
  const offset = recording.recordingOffset;
  const nSeg = sorted.numSegments;
  const ids = sorted.clusterIds();
  const chains = ids.map((id) => sorted.chain(id));
  const longest = Math.max(...spans.map((p) => p.numMs));
  const segments: SegmentResult[] = sorted.segments.map((g) => ({ ...g, spikes: g.spikes.slice(), amplitudes: g.amplitudes.slice() }));
  const newTracks = tracks.map((t) => Array.from(t));
  // Only the minima are read: the filter writes no samples (a fraction of the memory and
  // of the filter's time: a full window of the longest segment is 1.4 GB at 384 channels).
  let win: ReturnType<typeof allocateMinimaBuffer> | null = null;
  // The searches run once all are set up: on helpers too where every segment's minima are kept
  // (segments filtered again here take the one minima buffer in turn).
  const allKept = kept !== undefined && spans.every((p, s) => kept[s]?.minVal.length === p.numMs * C);
  const pending: { s: number; chosen: { t: number; unit: number }[]; job: RecoveryJob }[] = [];
  const apply = (s: number, chosen: { t: number; unit: number }[], found: RecoveryFound): void => {
    const seg = segments[s];
    // The found spikes join their tracks.
    chosen.forEach(({ t, unit }, k) => {
      const f = found[k];
      if (!f) return;
      const { add, amplitude } = f;
      if (unit >= 0) {
        // Completion: the unit's train becomes the union, its vector the spike-weighted mean.
        const old = seg.spikes[unit];
        const train = new Float64Array(old.length + add.length);
        train.set(old);
        train.set(add, old.length);
        seg.spikes[unit] = train.sort();
        seg.amplitudes[unit] = amplitude;
        stats.addedToUnits += add.length;
        return;
      }
      seg.spikes.push(add);
      seg.amplitudes.push(amplitude);
      newTracks[s].push(ids[t]);
      stats.addedInGaps += add.length;
      stats.newUnits++;
    });
  };

  for (let s = 0; s < nSeg; s++) {
    // Tracks whose span covers s, with the template of their nearest unit.
    const chosen: { t: number; unit: number; a: Float32Array }[] = [];
    chains.forEach((chain, t) => {
      let first = -1, last = -1;
      for (let q = 0; q < nSeg; q++) if (chain[q] >= 0) { if (first < 0) first = q; last = q; }
      if (s < first || s > last) return;
      // Completion: the track's own unit of this segment is its template.
      if (chain[s] >= 0) {
        chosen.push({ t, unit: chain[s], a: aboveFloor(sorted.segments[s].amplitudes[chain[s]]) });
        return;
      }
      let near = -1;
      for (let d = 0; d < nSeg && near < 0; d++) {
        if (s - d >= 0 && chain[s - d] >= 0) near = s - d;
        else if (s + d < nSeg && chain[s + d] >= 0) near = s + d;
      }
      chosen.push({ t, unit: chain[s], a: aboveFloor(sorted.segments[near].amplitudes[chain[near]]) });
    });
    if (chosen.length === 0) continue;
    // Competitors: the segment's units that are not the unit of a chosen track.
    const own = new Set(chosen.map((c) => c.unit));
    const rivals: Float32Array[] = [];
    sorted.segments[s].amplitudes.forEach((v, u) => { if (!own.has(u)) rivals.push(aboveFloor(v)); });
    const { startMs, numMs: M } = spans[s];
    if (M < 5) continue;
    const t0 = performance.now();
    const fromPass2 = kept?.[s];
    let minVal: Float32Array;
    let minPos: Int32Array | Uint8Array;
    if (fromPass2 && fromPass2.minVal.length === M * C) {
      minVal = fromPass2.minVal;
      minPos = fromPass2.minPos;
    } else {
      win ??= allocateMinimaBuffer(C, S, longest);
      await engine.filterBlocks(recording, startMs, M, polarity, win, 0);
      minVal = win.minVal;
      minPos = win.minPos;
    }
    stats.filterMs += performance.now() - t0;
    const seg = segments[s];
    const job: RecoveryJob = {
      numMs: M, numChannels: C, samplesPerMs: S, base: offset + startMs * S, minVal, minPos,
      templates: [...chosen.map((c) => c.a), ...rivals], numChosen: chosen.length,
      units: chosen.map(({ unit }) => (unit >= 0 ? { count: seg.spikes[unit].length, amplitude: seg.amplitudes[unit] } : null)),
      spikes: seg.spikes, thresholds,
    };
    if (allKept) {
      pending.push({ s, chosen, job });
      continue;
    }
    const t1 = performance.now();
    const found = await recoverSegment(job, kernels);
    stats.scoreMs += performance.now() - t1;
    apply(s, chosen, found);
  }
  if (pending.length > 0) {
    const t1 = performance.now();
    const found = await runRecoveryJobs(pending.map((p) => p.job), kernels, offload, stats);
    stats.scoreMs += performance.now() - t1;
    pending.forEach(({ s, chosen }, i) => apply(s, chosen, found[i]));
  }
  // Links follow the tracks into and out of the recovered units.
  const links = sorted.links.map((l, i) => {
    const out = new Int32Array(segments[i].spikes.length).fill(-1);
    out.set(l);
    const next = new Map<number, number>();
    newTracks[i + 1].forEach((id, u) => { if (id >= 0) next.set(id, u); });
    newTracks[i].forEach((id, u) => { if (id >= 0 && next.has(id)) out[u] = next.get(id)!; });
    return out;
  });
  return {
    sorted: new SortedRecording({
      segments, links, tracks: newTracks.map((t) => Int32Array.from(t)),
      probeGeometry: sorted.probeGeometry, samplingFrequency: sorted.samplingFrequency, numChannels: sorted.numChannels,
    }),
    stats,
  };
}
