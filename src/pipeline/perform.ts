/**
 * performSpikeSorting: the two-pass, segment-parallel pipeline.
 *
 * Pass 1 (scan.ts) streams the recording once through the engine's filter and keeps only the
 * per-ms minima the segmentation needs: it yields the thresholds (§5) and then the segment
 * boundaries (§6). Pass 2 filters each segment into its own window as soon as its boundaries
 * are known and sorts it (§7, plus the burst-fragment merge beyond the reference) on a sort
 * worker thread, several segments at once within `workers` and `memoryLimit`. Segments are
 * independent: a segment's spikes lie in its ms blocks 2..M-3 and its subtraction reaches
 * ±2 ms, so nothing a segment does reaches the data after it. The units of consecutive
 * segments are then linked by the drift-searched assignment (§10). Results are bit-identical
 * to the sequential path (sequential.ts) for any worker count (test/pipeline/two-pass.test.ts).
 *
 * Memory: the scan's minima (4L ms x C) and two filter chunks, plus the pooled windows of the
 * segments in flight, each numMs x C x (4S + 8) bytes; independent of the recording's length.
 */
import { isMainThread } from 'node:worker_threads';
import type { Recording } from '../formats/recording.js';
import { ParameterError } from '../core/errors.js';
import { arenaLayout, arenaWindow, copyMinima, windowBytes, type FilteredBuffer } from '../core/window.js';
import { WASM_MAX_PAGES, WASM_PAGE, sharedWasmMemory } from '../core/wasm-memory.js';
import { WindowPool } from './window-pool.js';
import { validateSortOptions, type ResolvedSortOptions, type SortOptions } from '../core/params.js';
import { createSignalProcessor, type SignalProcessor } from '../engines/select.js';
import type { SortKernels } from '../stages/sort/kernels.js';
import { computeNeighbourhoods } from '../stages/sort/neighbours.js';
import { emptyTimings, type SegmentTimings } from '../stages/sort/loop.js';
import { SortedRecording, type SegmentResult } from '../result/sorted-recording.js';
import { finishSegments, linkPair } from './link.js';
import { allocateRecoveryMinima, recoverSpikes, recoveryMinimaBytes, type RecoveryMinima, type SegmentSpan } from './recover.js';
import { poolResiduals } from './pool.js';
import { ProgressReporter } from './progress.js';
import { BoundaryScan, type SegmentPlan } from './scan.js';
import type { SegmentContext, SegmentOutcome } from './segment-job.js';
import { HybridSegmentRunner, LocalSegmentRunner, type SegmentRunner } from './segment-runner.js';
import { sortResidentSegment } from './segment-job.js';
import { ClusterPool } from './cluster-pool.js';
import { ShiftHelperThreads, SHIFT_HELPERS_MIN_TOTAL, predictedSearchTerms } from './shift-helpers.js';
import { driftShifts, roundDrift, withShiftHelpers } from '../stages/track/assignment.js';
import { sortSequential } from './sequential.js';
import { deliverWarnings, inputWarnings, rawStats, sortedRateWarnings, type RawStats } from './plausibility.js';
import type { SortStats } from './stats.js';
import type { EndToEndMeasure } from '../engines/calibrate.js';
import { filterHalo } from '../stages/filter/taps.js';
import { longestSegmentMs } from '../stages/segment/segmenter.js';
import { orderStages, packageVersion, type SortInfo } from '../result/info.js';

export type { SortOptions, ResolvedSortOptions, SortMode } from '../core/params.js';
export { validateSortOptions } from '../core/params.js';

export type { SortStats } from './stats.js';

export interface SortInternals {
  /** Sort with the one-stream sequential path (the reference for the two-pass results; tests). */
  sequential?: boolean;
  /** Sequential path only: use these kernels (tests). */
  kernels?: SortKernels;
  /** Use this processor instead of creating one (not disposed). */
  processor?: SignalProcessor;
  /** Sort segments on the calling thread even on the main thread (tests). */
  localRunner?: boolean;
  /**
   * Start the sort worker threads at once instead of when the calling thread is busy, and the
   * tracking's drift-search helpers at once for searches of any size (tests: both paths run even
   * on small recordings).
   */
  eagerWorkers?: boolean;
  /** Never keep the whole recording in one arena (tests: the kept-chunk path runs on small recordings). */
  noArena?: boolean;
  /**
   * Bytes the segment windows may take, instead of memoryLimit (tests: one window, with a
   * memoryLimit that keeps the recovery pass's minima).
   */
  windowBudget?: number;
}

export async function performSpikeSorting(recording: Recording, options: SortOptions = {}): Promise<SortedRecording> {
  return (await performSpikeSortingDetailed(recording, options)).sorted;
}

/** Pass 2 filters a segment's slots in this many requests at most (see refilter in sortTwoPass). */
const REFILTER_PIECES = 4;

/** performSpikeSorting plus stage timings (used by the benchmark). */
export async function performSpikeSortingDetailed(
  recording: Recording,
  options: SortOptions = {},
  internals: SortInternals = {},
): Promise<{ sorted: SortedRecording; stats: SortStats; thresholds: Float32Array }> {
  const opts = validateSortOptions(recording, options);
  const tStart = performance.now();
  const log = opts.verbose ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
  const ownProcessor = internals.processor === undefined;
  // 'auto' on a hardware GPU sorts a slice of this recording with each engine (endToEndCalibration).
  const processor = internals.processor ?? (await createSignalProcessor(opts.backend, {
    ...(log ? { log } : {}), workload: recording, ...(opts.backend === 'auto' ? endToEndCalibration(recording, opts) : {}),
  }));
  // What runs on the device is recorded from here on (an 'auto' calibration does not count).
  processor.stagesOnDevice.clear();
  try {
    const out = await sortWith(recording, opts, processor, internals, tStart);
    out.sorted.info = await sortInfo(opts, processor);
    return out;
  } finally {
    if (ownProcessor) processor.dispose();
  }
}

/** Calibration slices for 'auto' on a hardware GPU: warm-up 250 ms, timed up to 1 s (an eighth of the recording). */
const CAL_WARM_MS = 250;
const CAL_SLICE_MAX_MS = 1000;

/**
 * 'auto' on a hardware GPU decides by sorting the same slices (prefixes of the recording, one
 * segment each) end to end with each whole engine: a 250-ms warm-up, then the timed slice
 * (an eighth of the recording, at most 1 s); recordings under 2 s are decided by the filters
 * alone. The slice sorts are discarded.
 */
function endToEndCalibration(recording: Recording, opts: ResolvedSortOptions): { endToEnd?: { measure: EndToEndMeasure; sliceLabel: string } } {
  const S = recording.samplesPerMs;
  const totalMs = Math.floor(recording.numSamples / S) - 2;
  const timedMs = Math.min(CAL_SLICE_MAX_MS, Math.floor(totalMs / 8));
  if (timedMs < CAL_WARM_MS) return {};
  const slice = (ms: number): { rec: Recording; opts: ResolvedSortOptions } => ({
    rec: recording.prefix(Math.min(recording.numSamples, (ms + 2) * S + filterHalo(S))),
    opts: { ...opts, minSegmentMs: ms, verbose: false, onProgress: undefined, onWarning: undefined },
  });
  const slices = { warm: slice(CAL_WARM_MS), timed: slice(timedMs) };
  return {
    endToEnd: {
      sliceLabel: `${(timedMs / 1000).toFixed(1)} s of ${recording.numChannels} ch ${recording.dataType} from the recording`,
      measure: async (engine, which) => {
        const { rec, opts: o } = slices[which];
        const t0 = performance.now();
        const out = await sortTwoPass(rec, o, engine, t0, makeRunner(engine, o, false, false));
        const parts: number[] = [];
        for (const seg of out.sorted.segments) for (const u of seg.spikes) for (const t of u) parts.push(t);
        return { recordingSeconds: out.stats.recordingSeconds, seconds: (performance.now() - t0) / 1000, spikes: Float64Array.from(parts).sort() };
      },
    },
  };
}

/** The provenance saved with a result (SortedRecording.info). */
export async function sortInfo(opts: ResolvedSortOptions, engine: SignalProcessor): Promise<SortInfo> {
  const parameters: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) if (typeof v !== 'function' && v !== undefined) parameters[k] = v;
  return {
    version: await packageVersion(),
    parameters,
    engine: engine.backend,
    engineDescription: engine.description,
    adapter: engine.adapter,
    stagesOnDevice: orderStages(engine.stagesOnDevice),
    date: new Date().toISOString(),
  };
}

async function sortWith(
  recording: Recording,
  opts: ResolvedSortOptions,
  processor: SignalProcessor,
  internals: SortInternals,
  tStart: number,
): Promise<{ sorted: SortedRecording; stats: SortStats; thresholds: Float32Array }> {
  if (internals.sequential) {
    const kernels = internals.kernels ?? processor.sortKernels();
    try {
      return await sortSequential(recording, opts, processor, kernels, tStart);
    } finally {
      if (internals.kernels === undefined) kernels.dispose?.();
    }
  }
  return sortTwoPass(recording, opts, processor, tStart, makeRunner(processor, opts, internals.localRunner === true, internals.eagerWorkers === true), internals.noArena !== true,
    internals.eagerWorkers === true, internals.windowBudget);
}

/**
 * The runner for `workers`: worker threads on the main thread, the calling thread inside a
 * worker. An engine with resident windows sorts its segments itself (on the calling thread).
 */
function makeRunner(engine: SignalProcessor, opts: ResolvedSortOptions, local: boolean, eagerWorkers: boolean): SegmentRunner {
  if (engine.resident) return new LocalSegmentRunner();
  // One segment at a time gains nothing from a thread of its own: the calling thread sorts it
  // (yielding to the scan every 25 ms) and no worker starts or warms up.
  if (local || !isMainThread || opts.workers === 1) return new LocalSegmentRunner();
  return new HybridSegmentRunner(opts.workers, eagerWorkers ? 0 : undefined);
}

/**
 * The items of `gen`, pulled as soon as each is ready (the producer never waits for the
 * consumer) and handed out in order; an error is thrown where it occurred in the sequence.
 * When the consumer stops early, `stop` ends the producer, which is awaited. `finished` runs
 * when the producer is done.
 */
async function* readAhead<T>(gen: AsyncGenerator<T>, stop: () => void, finished: () => void): AsyncGenerator<T> {
  const queue: T[] = [];
  // Written by the pump, read here (an object: the checks below must not be narrowed away).
  const state: { done: boolean; error: { e: unknown } | null; wake: (() => void) | null } = { done: false, error: null, wake: null };
  const pump = (async () => {
    try {
      for (let r = await gen.next(); !r.done; r = await gen.next()) {
        queue.push(r.value);
        state.wake?.();
      }
    } catch (e) {
      state.error = { e };
    } finally {
      state.done = true;
      finished();
      state.wake?.();
    }
  })();
  try {
    for (;;) {
      if (queue.length > 0) {
        yield queue.shift()!;
        continue;
      }
      if (state.error) throw state.error.e;
      if (state.done) return;
      await new Promise<void>((resolve) => { state.wake = resolve; });
      state.wake = null;
    }
  } finally {
    if (!state.done) stop();
    await pump;
  }
}

async function sortTwoPass(
  recording: Recording,
  opts: ResolvedSortOptions,
  engine: SignalProcessor,
  tStart: number,
  runner: SegmentRunner,
  allowArena = true,
  eagerHelpers = false,
  windowBudget?: number,
): Promise<{ sorted: SortedRecording; stats: SortStats; thresholds: Float32Array }> {
  const C = recording.numChannels;
  const S = recording.samplesPerMs;
  const T = Math.floor(recording.numSamples / S) - 1;
  const totalMs = T - 1; // ms blocks 1 .. T-1
  const L = opts.minSegmentMs;
  const offset = recording.recordingOffset;
  const longest = longestSegmentMs(L, totalMs);
  // Refuse up front when even one of the longest segments (2L) cannot fit, rather than after
  // minutes of work.
  if (windowBytes(C, S, longest) > opts.memoryLimit) {
    const need = windowBytes(C, S, longest);
    throw new ParameterError('memoryLimit', opts.memoryLimit,
      `memoryLimit ${opts.memoryLimit} bytes cannot hold one segment: with minSegmentLength ${L / 1000} s a segment is up to ` +
      `${longest / 1000} s long, ${need} bytes of filtered window at ${C} channels x ${recording.samplingFrequency} Hz; ` +
      `raise memoryLimit to at least ${need} or lower minSegmentLength (memory grows linearly with it)`);
  }

  // An engine with resident windows (WebGPU: in GPU memory) fills and sorts each segment
  // where it keeps it, segments in flight on the calling thread; otherwise host windows go to
  // the sort workers (`runner`).
  const resident = engine.resident;
  const residentWindows = resident ? resident.plan(C, S, longest, opts.gpuMemoryLimit) : 0;
  // Their clustering on worker threads, one per segment in flight (within `workers`), so the
  // calling thread keeps driving the other segments' GPU steps meanwhile.
  const clusterThreads = resident && isMainThread ? Math.min(residentWindows, opts.workers) : 0;
  const clusterPool = clusterThreads > 1 ? new ClusterPool(clusterThreads) : null;
  // The scan's filtered chunks are kept and copied into the segment windows, so nothing is
  // filtered twice, when they and one longest window per sort thread take at most half the
  // memory budget (with a 6-GiB budget and two sort threads: up to ~300 channels at 30 kHz,
  // L = 10 s; 384 channels take 2.1 GB + 0.98 GB per thread, so only with one). Otherwise
  // pass 1 keeps only minima and pass 2 filters each segment again: the same bits, in bounded
  // memory, for one more filter pass. A larger memoryLimit buys the faster path.
  const keptBytes = BoundaryScan.keptBytes(C, S, L, totalMs);
  const keptFootprint = keptBytes + runner.concurrency * windowBytes(C, S, longest);
  const keepEligible = !resident && keptFootprint <= opts.memoryLimit / 2;
  // Better still, where the kept chunks would be used: when the whole filtered recording (and
  // one loop workspace per sort thread) takes no more than they and their windows would (short
  // recordings: 32 channels up to ~1.7 min, 128 channels up to ~85 s at L = 10 s) and fits one
  // WebAssembly memory, pass 1 filters into one arena and each segment is sorted where it lies:
  // no copy into a window (at 128 channels x 60 s the copies took ~0.2 s per segment on the
  // calling thread). Memory still never exceeds the bounded path's.
  // The engine's filter threads write WebAssembly windows (arena and pool) in place where it
  // says how (Engine.filterAreas), instead of copying out of their own memory.
  const areas = resident ? null : engine.filterAreas?.(C, S) ?? null;
  const withAreas = arenaLayout(C, S, totalMs, longest, runner.concurrency, areas);
  const layout = withAreas.bytes <= WASM_MAX_PAGES * WASM_PAGE ? withAreas : arenaLayout(C, S, totalMs, longest, runner.concurrency);
  const arenaMemory = allowArena && keepEligible && layout.bytes <= Math.min(keptFootprint, WASM_MAX_PAGES * WASM_PAGE)
    ? sharedWasmMemory(layout.bytes) : null;
  const arena = arenaMemory ? { memory: arenaMemory, layout } : null;
  const keepSamples = !arena && keepEligible;
  // Refiltering pass 2 may place a segment at the free end of a busy window (WindowPool.placeBeside).
  const pool = new WindowPool(C, S, longest, windowBudget ?? (keepSamples ? opts.memoryLimit - keptBytes : opts.memoryLimit), true, areas, !keepSamples && !arena && !resident);
  // Refiltering pass 2: the first segment's window is taken now, and pass 1 filters its first
  // L ms (the shortest it can be) into it with their samples, so that segment, which waits for
  // the thresholds, starts sorting after filtering only its remainder (at 384 channels ~2 s of
  // its ~12 s, instead of all of it).
  const head = !resident && !arena && !keepSamples ? { win: pool.tryAcquire(longest)!, ms: Math.min(L, longest) } : null;
  const scan = new BoundaryScan(recording, engine, L, opts.detectionPolarity, opts.detectionSensitivity, keepSamples, arena, head);
  const freeSlots = Array.from({ length: layout.slots }, (_, i) => layout.slots - 1 - i);
  const progress = new ProgressReporter(opts.verbose, totalMs, recording.samplingFrequency, S);
  const neighbours = computeNeighbourhoods(recording.geometry, opts.mode === 'improved');
  const loop = emptyTimings();
  const segments: SegmentResult[] = [];
  let thresholds: Float32Array | null = null;
  let context: SegmentContext | null = null;
  let filterMs = 0;
  let sortMs = 0;
  let doneMs = 0;
  let scanMs = 0;
  let peakInFlight = 0;
  let placedBeside = 0;
  let placedOverlapMs = 0;

  // Segments in flight (each with a window from the pool); the scheduler waits on them.
  const inFlight = new Set<Promise<void>>();
  let failure: Error | null = null;

  /** The first failure stops the scan and keeps new segments from starting. */
  const fail = (e: unknown): void => {
    failure ??= e instanceof Error ? e : new Error(String(e));
    scan.stop();
  };
  // A started segment's job: in flight until it settles; its failure is the first one or not.
  const track = (job: Promise<void>): void => {
    const tracked: Promise<void> = job.catch(fail).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    peakInFlight = Math.max(peakInFlight, inFlight.size);
  };

  // Each segment's unsubtracted minima (5 bytes per ms and channel at S <= 256, against 4S + 8
  // in its window: 1/26 at 30 kHz) are kept for the recovery pass when all of them take at most 1/8 of memoryLimit (at
  // a 6-GiB budget: 1536 channels up to ~100 s, 384 channels up to ~7 min, 64 channels up to ~40
  // min), which then filters nothing again; otherwise it filters each segment it searches a
  // second time (one more minima-only filter pass).
  const minimaForRecovery: RecoveryMinima[] | null =
    (opts.recoverSpikes || opts.poolResiduals) && totalMs * C * recoveryMinimaBytes(S) <= opts.memoryLimit / 8 ? [] : null;

  /**
   * Filters slots [a, b) of a segment's window (pass 2) in up to REFILTER_PIECES requests, all
   * queued at once, and hands each finished piece to `done` while the next ones filter: the
   * recovery pass's copy of the minima (at 1536 channels 0.2-0.4 s per segment on the calling
   * thread, which the segment's sort waited for) then waits only for the last piece.
   */
  const refilter = async (plan: SegmentPlan, win: FilteredBuffer, a: number, b: number, done: (a: number, b: number) => void): Promise<void> => {
    if (a >= b) return;
    const t0 = performance.now();
    // Cuts on the filter's grid where it has one (no block is then computed twice).
    const G = engine.filterGridMs?.(S) ?? 1;
    const cuts = [a];
    for (let i = 1; i < REFILTER_PIECES; i++) {
      const abs = plan.startMs + a + Math.round(((b - a) * i) / REFILTER_PIECES);
      const cut = 1 + Math.round((abs - 1) / G) * G - plan.startMs;
      if (cut > cuts[cuts.length - 1] && cut < b) cuts.push(cut);
    }
    cuts.push(b);
    const pieces = cuts.length - 1;
    const requests = cuts.slice(1).map((e, i) => engine.filterBlocks(recording, plan.startMs + cuts[i], e - cuts[i], opts.detectionPolarity, win, cuts[i]));
    // Observed below, in order; never an unhandled rejection meanwhile.
    for (const r of requests) r.catch(() => undefined);
    try {
      for (let i = 0; i < pieces; i++) {
        await requests[i];
        done(cuts[i], cuts[i + 1]);
      }
    } catch (e) {
      // Nothing new starts meanwhile, but no request may still write the window once its
      // segment lets it go.
      fail(e);
      await Promise.allSettled(requests);
      throw e;
    }
    filterMs += performance.now() - t0;
  };

  /**
   * `beside`: the window lies at the free end of one whose segment still sorts (placeBeside);
   * its slots outside [waitFrom, waitTo) are filtered at once, the rest and the sort wait for it.
   */
  const start = (plan: SegmentPlan, win: FilteredBuffer, ctx: SegmentContext, release: () => void,
    beside: { waitFrom: number; waitTo: number; waitFor: Promise<void> } | null = null): void => {
    const job = (async () => {
      try {
        // The recovery pass scores the unsubtracted minima: keep a copy before sorting
        // subtracts from them (when they fit; otherwise it filters the segment again), each
        // part as soon as it is filtered.
        const kept = minimaForRecovery ? allocateRecoveryMinima(plan.numMs * C, S) : null;
        const keep = (a: number, b: number): void => {
          if (kept) copyMinima(kept, win.minVal, win.minPos, a * C, b * C);
        };
        if (!keepSamples && !arena) {
          // Pass 1 filtered the first segment's head into its window already.
          const from = head && plan.index === 0 ? Math.min(head.ms, plan.numMs) : 0;
          const wa = beside ? Math.max(from, beside.waitFrom) : plan.numMs;
          const wb = beside ? Math.max(wa, beside.waitTo) : plan.numMs;
          // Where the engine copies the minima it filters (its filter threads: at 1536 channels
          // ~0.9 s of copies and conversions per sort on this, the sorting thread), it copies
          // them; otherwise each piece here as it is done.
          const byEngine = kept !== null && engine.copiesMinima === true;
          const target: FilteredBuffer = byEngine ? { ...win, minimaCopy: kept } : win;
          const piece = byEngine ? (): void => undefined : keep;
          // Every part is requested at once, the slots shared with the segment beside as soon as
          // it lets them go: requested only after this segment's other parts were done, they
          // queued behind the next segment's first part (a later window's, while this segment's
          // sort waited for them: np2-1536, 2.6 s of filtering ahead of 7.7 s of overlap).
          let skipped = false;
          const parts = [
            refilter(plan, target, from, wa, piece),
            refilter(plan, target, wb, plan.numMs, piece),
            beside
              ? beside.waitFor.then(() => {
                // The segment before failed: the sort is over, nothing more to filter.
                if (failure) {
                  skipped = true;
                  return;
                }
                placedOverlapMs += wb - wa;
                return refilter(plan, target, wa, wb, piece);
              })
              : refilter(plan, target, wa, wb, piece),
          ];
          // The head's copy while the rest filters (which must settle before the window can go).
          try {
            keep(0, from);
          } finally {
            const settled = await Promise.allSettled(parts);
            const bad = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
            if (bad) throw bad.reason;
          }
          if (skipped) return;
        } else {
          keep(0, plan.numMs);
        }
        if (kept) minimaForRecovery![plan.index] = kept;
        const out: SegmentOutcome = await runner.sort(win, plan.numMs, ctx);
        record(plan, out);
      } finally {
        release();
      }
    })();
    track(job);
  };

  const startResident = (plan: SegmentPlan, ctx: SegmentContext): void => {
    const r = resident!;
    const job = (async () => {
      const seg = await r.acquire();
      try {
        const t0 = performance.now();
        await r.fill(recording, plan.startMs, plan.numMs, opts.detectionPolarity, seg);
        filterMs += performance.now() - t0;
        record(plan, await sortResidentSegment(seg, r.kernels, ctx, clusterPool?.cluster));
      } finally {
        r.release(seg);
      }
    })();
    track(job);
  };

  // Links between neighbouring segments are computed as soon as both are sorted, while later
  // segments still sort (at 1536 channels each link is O(units² x C x drift steps), seconds).
  const links: (Int32Array | undefined)[] = [];
  const spans: SegmentSpan[] = [];
  let linkMs = 0;
  // The tracks' drift searches (mode 'improved', after the last segment) take helper threads
  // where they are large (1536 channels: ~4 s on one thread, 4 searches of ~300 x 300 units x
  // 13 shifts). The tracking is synchronous, so the helpers start before it: once every segment
  // is under way, when the units of those sorted so far predict such searches (the last
  // segments' sort leaves the helpers time to come online, and none sits idle through a long
  // recording).
  const numShifts = driftShifts(roundDrift(opts.maxDrift)).length;
  const searchTerms = (units: readonly number[]): number => predictedSearchTerms(units, C, numShifts);
  // (An object: a closure sets it, and the checks after the loop must not be narrowed away.)
  const helpers: { threads: ShiftHelperThreads | null; closed: boolean } = { threads: null, closed: false };
  const startShiftHelpers = (): void => {
    if (helpers.threads === null && !helpers.closed && opts.mode === 'improved' && isMainThread && opts.workers > 1 && numShifts > 1) {
      helpers.threads = new ShiftHelperThreads(Math.min(opts.workers - 1, numShifts - 1), eagerHelpers ? 0 : undefined);
    }
  };
  let numPlans = 0;
  /** Starts the helpers when the segments sorted so far, extrapolated to all `numSegments`, predict large searches. */
  const considerShiftHelpers = (numSegments: number): void => {
    const sorted = segments.filter((g) => g !== undefined);
    if (sorted.length === 0) return;
    const mean = sorted.reduce((n, g) => n + g.spikes.length, 0) / sorted.length;
    if (searchTerms(new Array<number>(numSegments).fill(mean)) >= SHIFT_HELPERS_MIN_TOTAL) startShiftHelpers();
  };
  const record = (plan: SegmentPlan, out: SegmentOutcome): void => {
    if (eagerHelpers) startShiftHelpers();
    const base = offset + plan.startMs * S;
    const { spikes, amplitudes } = out.units;
    for (const sp of spikes) for (let i = 0; i < sp.length; i++) sp[i] += base;
    const k = plan.index;
    spans[k] = { startMs: plan.startMs, numMs: plan.numMs };
    segments[k] = { start: base, end: offset + (plan.startMs + plan.numMs) * S, spikes, amplitudes };
    const t0 = performance.now();
    // Tracks (mode 'improved') are built once all segments are in.
    if (opts.mode === 'reference') for (const j of [k - 1, k]) {
      if (j >= 0 && segments[j] && segments[j + 1] && !links[j]) links[j] = linkPair(segments[j], segments[j + 1], recording, opts.maxDrift);
    }
    linkMs += performance.now() - t0;
    sortMs += out.sortMs;
    for (const k of Object.keys(loop) as (keyof SegmentTimings)[]) loop[k] += out.timings[k];
    doneMs += plan.numMs;
    progress.update(doneMs);
    opts.onProgress?.({ doneMs, totalMs });
  };

  // The bar from the start: the first segment can take many seconds to scan and sort.
  progress.update(0);
  // The raw-data checks of plausibility.ts need only the file: they run once pass 1 has its
  // first chunk, while the filter threads work on the next ones, instead of after the
  // thresholds, where the first segment waited for them (45-100 ms cold at 32 channels), or at
  // the start, where they kept the calling thread from noticing the filter threads come online.
  // A read error there is left to the second attempt after the thresholds, which throws in
  // the scan's context.
  let raw: RawStats | undefined;
  scan.onFirstChunk = () => {
    try {
      raw = rawStats(recording);
    } catch {
      raw = undefined;
    }
  };
  // Pass 1 runs ahead of the windows: segments wait for a window in a queue of plans, not with
  // the scan suspended, so the filter threads keep scanning while the segments before sort.
  // (Suspended, at 1536 channels the filter threads idled through each segment's sort and the
  // calling thread through each refilter.) Not where the scan's kept chunks are released
  // as it resumes, nor for resident windows (their own pacing).
  let scanEnd = 0;
  const items = keepSamples || resident ? scan.run() : readAhead(scan.run(), () => scan.stop(), () => { scanEnd = performance.now(); });
  try {
    for await (const item of items) {
      if (failure) break;
      if ('thresholds' in item) {
        thresholds = item.thresholds;
        deliverWarnings(inputWarnings(recording, thresholds, neighbours, raw), opts.onWarning, opts.verbose);
        context = {
          thresholds, neighbours, mergeBursts: opts.mergeBursts, samplingFrequency: recording.samplingFrequency,
          params: { minSpikesPerCluster: opts.minSpikesPerCluster, mergingThreshold: opts.mergingThreshold },
        };
        continue;
      }
      numPlans = item.index + 1;
      if (resident) {
        while (!failure && inFlight.size >= residentWindows) await Promise.race(inFlight);
        if (failure) break;
        startResident(item, context!);
        continue;
      }
      if (arena) {
        // In place in the arena, `concurrency` segments at once, each with a loop workspace.
        while (!failure && freeSlots.length === 0) await Promise.race(inFlight);
        if (failure) break;
        const slot = freeSlots.pop()!;
        start(item, arenaWindow(arena.memory, arena.layout, item.startMs - 1, item.numMs, slot), context!, () => freeSlots.push(slot));
        continue;
      }
      // `concurrency` segments sort at once, each filtering pass 2 itself first; a window must
      // fit the memory budget (one of the longest always does). A single sort thread gets one
      // more window, so the filter works on the next segment while it sorts; with two or more,
      // a window freed by one segment is refilled while the others sort, and a window filtered
      // ahead only waited: at 384 channels x 60 s on 2 cores it held 0.5 GiB more (peak RSS 2630
      // -> 2100 MiB) for 0.5 s more CPU (page faults, sys time) and no gain in wall time
      // (bench/RESULTS.md).
      const windowsInFlight = keepSamples ? runner.concurrency : Math.max(2, runner.concurrency);
      let win: FilteredBuffer | null = head && item.index === 0 ? head.win : null;
      if (win) pool.trim(win, item.numMs);
      let beside: ReturnType<WindowPool['placeBeside']> = null;
      while (!failure && !win) {
        if (inFlight.size < windowsInFlight) win = pool.tryAcquire(item.numMs);
        if (win) break;
        // No window of its own within the budget: the free end of a busy one, filtered while it sorts.
        if (inFlight.size < windowsInFlight) beside = pool.placeBeside(item.numMs);
        if (beside) {
          win = beside.win;
          placedBeside++;
          break;
        }
        if (inFlight.size === 0) throw new Error(`internal error: no window for a ${item.numMs}-ms segment with nothing in flight`);
        await Promise.race(inFlight);
      }
      if (failure || !win) break;
      // Kept chunks are released when the scan resumes: copy now.
      if (keepSamples) scan.copySegment(item, win);
      const w = win;
      start(item, w, context!, () => pool.release(w), beside);
    }
    scanMs = (scanEnd || performance.now()) - tStart;
    considerShiftHelpers(numPlans);
    await Promise.all(inFlight);
    if (failure) throw failure;
  } catch (e) {
    // Segments still in flight finish below; none of them may start helpers now.
    helpers.closed = true;
    helpers.threads?.dispose();
    throw e;
  } finally {
    scan.stop();
    await Promise.all(inFlight);
    runner.dispose();
    clusterPool?.dispose();
    pool.clear();
  }
  const deviceMemory = resident?.memory();

  // Or now, from every segment's units (those sorted before may have predicted too few).
  if (searchTerms(segments.map((g) => g.spikes.length)) >= SHIFT_HELPERS_MIN_TOTAL) startShiftHelpers();
  let poolMs = 0;
  let tm = 0;
  let tr = 0;
  let mergeMs = 0;
  let recoverySearchesOnHelpers = 0;
  let sorted: SortedRecording;
  try {
    const tp = performance.now();
    const pooled = opts.poolResiduals
      ? await poolResiduals(segments, spans, recording, engine, thresholds!, opts.detectionPolarity, opts.minSpikesPerCluster, minimaForRecovery ?? undefined)
      : null;
    poolMs = performance.now() - tp;
    tm = performance.now();
    // The tracking is synchronous: helpers not online by then would only start after it.
    if (segments.length > 1) await helpers.threads?.whenOnline(2000);
    sorted = withShiftHelpers(helpers.threads, () => (pooled
      ? finishSegments(pooled.segments, recording, opts, links, segments.map((g) => g.spikes.length), thresholds!)
      : finishSegments(segments, recording, opts, links, undefined, thresholds!)));
    mergeMs = linkMs + performance.now() - tm;
    tr = performance.now();
    if (opts.recoverSpikes) {
      const kernels = engine.sortKernels();
      // The tracking's helpers also take segments' recovery searches (with the CPU kernels,
      // so only for the CPU engine): at 1536 channels ~1 s on the calling thread alone.
      const offload = engine.backend === 'cpu' ? helpers.threads ?? undefined : undefined;
      try {
        const r = await recoverSpikes(sorted, spans, recording, engine, kernels, thresholds!, opts.detectionPolarity, minimaForRecovery ?? undefined, offload);
        sorted = r.sorted;
        recoverySearchesOnHelpers = r.stats.offloaded;
      } finally {
        kernels.dispose?.();
      }
    }
  } finally {
    helpers.closed = true;
    helpers.threads?.dispose();
  }
  const recoverMs = performance.now() - tr;
  deliverWarnings(sortedRateWarnings(sorted, C, totalMs / 1000), opts.onWarning, opts.verbose);
  const totalWall = performance.now() - tStart;
  const numUnits = sorted.length;
  progress.finish(
    `spikesift: sorted ${(totalMs / 1000).toFixed(1)} s x ${C} channels in ${(totalWall / 1000).toFixed(2)} s ` +
      `(${(totalMs / totalWall).toFixed(1)}x real time) on ${engine.description}, segments on ${resident ? `the device, ${residentWindows} in flight` : runner.description}: ` +
      `${segments.length} segment${segments.length === 1 ? '' : 's'}, ${numUnits} unit${numUnits === 1 ? '' : 's'}`,
  );
  const st = scan.timings;
  return {
    sorted,
    thresholds: thresholds!,
    stats: {
      backend: engine.backend,
      backendDescription: engine.description,
      runnerDescription: resident
        ? `device-resident windows, ${residentWindows} in flight, host clustering on ${clusterPool ? `${clusterThreads} worker threads` : 'the calling thread'}`
        : runner.description,
      pass2: resident ? 'device' : arena ? 'arena' : keepSamples ? 'kept' : 'refiltered',
      filterMs: filterMs + st.filterMs,
      filterWaitMs: st.filterWaitMs,
      sortMs,
      segmentMs: st.segmentMs,
      thresholdMs: st.thresholdMs,
      copyMs: st.copyMs,
      scanMs,
      mergeMs,
      searchHelpers: helpers.threads?.onlineCount ?? 0,
      recoverMs,
      recoverySearchesOnHelpers,
      poolMs,
      recoveryMinima: !opts.recoverSpikes ? 'off' : minimaForRecovery ? 'kept' : 'refiltered',
      totalMs: totalWall,
      loop,
      numSegments: segments.length,
      numUnits,
      peakInFlight,
      placedBeside,
      placedOverlapMs,
      peakWindowBytes: arena ? arena.layout.bytes : pool.peakBytes,
      ...(deviceMemory ? { gpuPeakBytes: deviceMemory.peakBytes, deviceMs: resident!.deviceTimes(), deviceSubmissions: resident!.submissions() } : {}),
      recordingSeconds: totalMs / 1000,
    },
  };
}
