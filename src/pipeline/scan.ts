/**
 * Pass 1 of the two-pass pipeline: one stream over the recording, filter → per-ms minima →
 * thresholds (§5, first window) → segment boundaries (§6), keeping only what these need: the
 * minima of the window the drift heuristic looks at (4L ms x C values) and, for the first
 * window, |y| of each ms block's first sample. The filtered chunks themselves are dropped; pass
 * 2 filters each segment again into its own window.
 *
 * Why the boundaries can be found without sorting: a segment's spikes lie in its ms blocks
 * 2..M-3 and its subtraction window is ±2 ms, so sorting a segment never changes the data
 * after it; the drift heuristic of the next segment reads only unsubtracted minima. The
 * sequential path (sequential.ts) and this scan therefore cut the recording at the same
 * places (test/pipeline/two-pass.test.ts checks it).
 */
import type { Recording } from '../formats/recording.js';
import { allocateFilteredBuffer, allocateMinimaBuffer, arenaBlocks, windowBlocks, windowBytes, type ArenaLayout, type FilteredBuffer } from '../core/window.js';
import type { SharedWasmMemory } from '../core/wasm-memory.js';
import type { SignalProcessor } from '../engines/engine.js';
import { excessRows, segmentLengthFromExcess } from '../stages/segment/segmenter.js';
import { ThresholdAccumulator } from '../stages/segment/thresholds.js';

/** A segment of the sortable range: absolute ms blocks [startMs, startMs + numMs). */
export interface SegmentPlan {
  index: number;
  startMs: number;
  numMs: number;
}

export interface ScanTimings {
  /** Wall time of the filter requests of pass 1 (ms). */
  filterMs: number;
  /** Time the scan waited for the filter. */
  filterWaitMs: number;
  thresholdMs: number;
  segmentMs: number;
  /** Moving the unconsumed minima to the front of the scan buffer. */
  copyMs: number;
}

/**
 * The first segment's window past its head, as `rows` x C floats, where it has room: the
 * threshold accumulator's rows (the first window plus a chunk: at 1536 channels ~250 MB, at
 * 384 ~64 MB) live there, not in pages of their own. Pass 1 writes only the head's slots before
 * the thresholds (the head lies inside the first window, and no request past the thresholds
 * writes first samples: run() checks it), and pass 2 writes past them (the segment's remainder,
 * later a longer segment) only after, so a segment longer than the head by rows/S ms finds those
 * pages already resident instead of faulting them in a second time.
 */
function headTail(head: { win: FilteredBuffer; ms: number }, rows: number): Float32Array | null {
  const { win, ms } = head;
  const C = win.numChannels;
  const from = ms * C * win.samplesPerMs;
  if (!(win.data.buffer instanceof SharedArrayBuffer) || from + rows * C > win.capacityMs * C * win.samplesPerMs) return null;
  return win.data.subarray(from, from + rows * C);
}

/** Raw-filtered bytes per pass-1 chunk: large enough to keep the filter threads busy, small beside the windows. */
const CHUNK_BYTES = 32 * 1024 * 1024;
/**
 * Minima-only chunks (the refiltering path: 8 bytes per ms and channel, not 4S + 8) cover this
 * many times as long: a request costs the filter threads a message, a read and a partly
 * recomputed grid block at each end, and at 1536 channels the 182-ms chunks were ~20 ms apart
 * for ~12 ms of filtering each. Four times as long (728 ms at 1536 channels, 2.9 s at 384):
 * np2-1536 thresholds ~0.2 s and the second segment's boundary ~0.6 s sooner.
 */
const MINIMA_CHUNK_FACTOR = 4;

export class BoundaryScan {
  readonly timings: ScanTimings = { filterMs: 0, filterWaitMs: 0, thresholdMs: 0, segmentMs: 0, copyMs: 0 };
  private readonly C: number;
  private readonly S: number;
  private readonly endMs: number;
  private readonly window: number;
  private readonly chunkMs: number;
  private stopped = false;
  /** keepSamples: filtered chunks not yet copied into a segment window, in time order. */
  private readonly kept: { start: number; n: number; buf: FilteredBuffer }[] = [];
  private readonly spare: FilteredBuffer[] = [];
  /** Run once, when the first chunk has been taken (the filter is busy with the next ones). */
  onFirstChunk: (() => void) | null = null;

  /**
   * @param keepSamples keep the filtered chunks until each segment's window is filled from them
   *   (copySegment), so pass 2 need not filter again. Memory: about keptBytes().
   */
  constructor(
    private readonly recording: Recording,
    private readonly engine: SignalProcessor,
    private readonly L: number,
    private readonly polarity: number,
    private readonly sensitivity: number,
    readonly keepSamples = false,
    /** Filter into the whole-recording arena instead (ms block m at arena slot m - 1); nothing is kept or copied. */
    private readonly arena: { memory: SharedWasmMemory; layout: ArenaLayout } | null = null,
    /**
     * Minima-only scans: filter ms blocks 1 .. head.ms with their samples into slots 0.. of
     * head.win, the first segment's window (it starts at ms 1 and is at least that long unless
     * the recording ends first), so pass 2 filters only the rest of it.
     */
    private readonly head: { win: FilteredBuffer; ms: number } | null = null,
  ) {
    this.C = recording.numChannels;
    this.S = recording.samplesPerMs;
    // Sorting covers ms blocks 1 .. T-1 with T = floor(numSamples / S) - 1 (§2).
    this.endMs = Math.floor(recording.numSamples / this.S) - 1;
    const totalMs = this.endMs - 1;
    this.window = Math.min(4 * L, totalMs);
    const factor = keepSamples || arena ? 1 : MINIMA_CHUNK_FACTOR;
    this.chunkMs = Math.max(1, Math.min(this.window, Math.floor((factor * CHUNK_BYTES) / (this.C * this.S * 4))));
  }

  /** Bytes of filtered chunks held at most when keeping samples: the 4L-ms lookahead and two chunks. */
  static keptBytes(C: number, S: number, L: number, totalMs: number): number {
    const window = Math.min(4 * L, totalMs);
    const chunkMs = Math.max(1, Math.min(window, Math.floor(CHUNK_BYTES / (C * S * 4))));
    return windowBytes(C, S, window + 3 * chunkMs);
  }

  /**
   * keepSamples: fills slots [0, plan.numMs) of `win` from the kept chunks. Call it before the
   * generator is resumed after yielding `plan` (the chunks it needs are released then).
   */
  copySegment(plan: SegmentPlan, win: FilteredBuffer): void {
    const { C, S } = this;
    const end = plan.startMs + plan.numMs;
    let filled = 0;
    for (const k of this.kept) {
      const a = Math.max(k.start, plan.startMs);
      const b = Math.min(k.start + k.n, end);
      if (a >= b) continue;
      const src = a - k.start;
      const dst = a - plan.startMs;
      win.data.set(k.buf.data.subarray(src * C * S, (b - k.start) * C * S), dst * C * S);
      win.minVal.set(k.buf.minVal.subarray(src * C, (b - k.start) * C), dst * C);
      win.minPos.set(k.buf.minPos.subarray(src * C, (b - k.start) * C), dst * C);
      filled += b - a;
    }
    if (filled !== plan.numMs) throw new Error(`internal error: the kept chunks cover ${filled} of segment ${plan.index}'s ${plan.numMs} ms`);
  }

  /** Ends the scan early (a pass-2 failure): the generator returns at its next step. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Yields the thresholds first (once), then the segments in order. The filter works one
   * chunk ahead of the minima being consumed (two chunk buffers).
   */
  async *run(): AsyncGenerator<{ thresholds: Float32Array } | SegmentPlan> {
    const { C, S, endMs, window, chunkMs, L } = this;
    const t = this.timings;
    // Minima-only chunks: the filter writes no samples.
    const keep = this.keepSamples;
    const arena = this.arena;
    const chunks: FilteredBuffer[] = keep || arena ? [] : [allocateMinimaBuffer(C, S, chunkMs), allocateMinimaBuffer(C, S, chunkMs)];
    const head = keep || arena ? null : this.head;
    // Within the first window the filter threads also write y at each ms block's first sample,
    // straight into the threshold accumulator's shared rows (a gather of every 30th value of the
    // chunk just written, by another core, took the calling thread ~20 ms per 8.7-s chunk at 32
    // channels), which the refiltering path keeps in the first segment's window (headTail).
    const acc = new ThresholdAccumulator(C, window, window + chunkMs, head ? headTail(head, window + chunkMs) : null);
    const withFirst = (buf: FilteredBuffer, start: number, n: number): FilteredBuffer =>
      start < 1 + window ? { ...buf, firstSamples: acc.firstSamples.subarray((start - 1) * C, (start - 1 + n) * C) } : buf;
    // The chunk pipeline: chunk k is [1 + k*chunkMs, ...) in chunks[k % 2].
    let nextStart = 1;
    let which = 0;
    const inFlight: { start: number; n: number; buf: FilteredBuffer; done: Promise<void> }[] = [];
    const requestNext = (): void => {
      if (nextStart >= endMs) return;
      let n = Math.min(chunkMs, endMs - nextStart);
      let buf: FilteredBuffer;
      if (head && nextStart < 1 + head.ms) {
        // Within the first segment's head (inside the first window): samples into its window.
        n = Math.min(n, 1 + head.ms - nextStart);
        buf = windowBlocks(head.win, nextStart - 1, n);
      } else if (arena || keep) {
        buf = arena ? arenaBlocks(arena.memory, arena.layout, nextStart - 1, n) : this.spare.pop() ?? allocateFilteredBuffer(C, S, chunkMs);
        // A spare chunk was kept with the first samples it took inside the first window.
        if (buf.firstSamples) buf = { ...buf, firstSamples: undefined };
      } else {
        // Once the thresholds are known, the minima are needed exactly only below them (all
        // excessRows keeps); the CPU engine then skips most of the exact work (exactBelow).
        buf = thresholds ? { ...chunks[which], exactBelow: thresholds } : chunks[which];
        which ^= 1;
      }
      // The accumulator's rows may lie in the head window, which pass 2 fills once the
      // thresholds are out: no first samples may be asked for after them (see headTail).
      if (thresholds && nextStart < 1 + window) throw new Error(`internal error: pass 1 asked for ms ${nextStart} of the first window after its thresholds`);
      buf = withFirst(buf, nextStart, n);
      const start = nextStart;
      nextStart += n;
      const t0 = performance.now();
      const done = this.engine.filterBlocks(this.recording, start, n, this.polarity, buf, 0).then(() => {
        t.filterMs += performance.now() - t0;
      });
      done.catch(() => undefined);  // rethrown when awaited below; never an unhandled rejection
      inFlight.push({ start, n, buf, done });
    };

    // From absolute ms `pos` on, rows [0, have): the raw minima until the thresholds are known,
    // then each block's sub-threshold excess (all the drift heuristic reads; excessRows).
    const mv = new Float32Array((window + chunkMs) * C);
    const H = new Float64Array(window + 1);
    let pos = 1;
    let have = 0;
    let thresholds: Float32Array | null = null;

    const takeChunk = async (): Promise<void> => {
      const c = inFlight.shift()!;
      const t0 = performance.now();
      await c.done;
      t.filterWaitMs += performance.now() - t0;
      // The first window's first samples give the thresholds (§5: ms blocks 1 .. window).
      const firstEnd = Math.min(c.n, 1 + window - c.start);
      if (firstEnd > 0) acc.count(c.start - 1, c.start - 1 + firstEnd);
      if (thresholds) excessRows(c.buf.minVal, thresholds, c.n, mv, c.start - pos);
      else mv.set(c.buf.minVal.subarray(0, c.n * C), (c.start - pos) * C);
      have = c.start + c.n - pos;
      if (keep) this.kept.push(c);
      // Only now is c.buf free for the chunk after next (or, keeping samples, a spare one).
      requestNext();
      const first = this.onFirstChunk;
      this.onFirstChunk = null;
      first?.();
    };

    try {
      requestNext();
      requestNext();
      while (pos + have < 1 + window) await takeChunk();
      let t0 = performance.now();
      thresholds = acc.thresholds(this.sensitivity);
      t.thresholdMs += performance.now() - t0;
      t0 = performance.now();
      excessRows(mv, thresholds, have, mv);
      t.segmentMs += performance.now() - t0;
      yield { thresholds };

      let index = 0;
      while (pos < endMs && !this.stopped) {
        const need = Math.min(window, endMs - pos);
        while (have < need) await takeChunk();
        t0 = performance.now();
        const d = segmentLengthFromExcess(mv, C, need, L, H);
        t.segmentMs += performance.now() - t0;
        yield { index: index++, startMs: pos, numMs: d };
        t0 = performance.now();
        mv.copyWithin(0, d * C, have * C);
        t.copyMs += performance.now() - t0;
        pos += d;
        have -= d;
        // Chunks wholly before the next segment were copied into their windows.
        while (this.kept.length > 0 && this.kept[0].start + this.kept[0].n <= pos) this.spare.push(this.kept.shift()!.buf);
      }
    } finally {
      // Leave no request running into a buffer that is about to be dropped.
      for (const c of inFlight) await c.done.catch(() => undefined);
      this.kept.length = 0;
      this.spare.length = 0;
    }
  }
}
