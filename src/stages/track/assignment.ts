/**
 * Cluster assignment between two sets of amplitude vectors under simulated drift (spec §10).
 */
import { applyShiftPlan, cachedShiftPlan } from './drift.js';
import { solveAssignment } from './linear-assignment.js';
import { euclideanDistancesWasm } from './distance-wasm.js';
import { DRIFT_STEP_UM, roundDrift, roundHalfEven } from '../../core/rounding.js';

export { DRIFT_STEP_UM, roundDrift, roundHalfEven };

export function checkMaxDrift(maxDrift: unknown, fn: string): number {
  if (typeof maxDrift !== 'number' || !Number.isFinite(maxDrift) || maxDrift < 0) {
    throw new RangeError(
      `${fn}: maxDrift must be a finite number of µm >= 0, received ${String(maxDrift)}; use e.g. 30 (the default)`,
    );
  }
  return roundDrift(maxDrift);
}

export interface AssignmentDetail {
  /** Per row of a1: index into a2, or -1. */
  mapping: Int32Array;
  /** The relative shift s (µm) that won, or 0 when a side was empty. */
  shiftUm: number;
  /** The minimal total cost (sum of Euclidean distances) at that shift. */
  total: number;
}

function stack(vectors: Float32Array[], C: number, name: string): Float32Array {
  const out = new Float32Array(vectors.length * C);
  vectors.forEach((v, i) => {
    if (!(v instanceof Float32Array) || v.length !== C) {
      throw new RangeError(
        `assignClusters: ${name}[${i}] must be a Float32Array of ${C} values (one per channel), received length ${(v as { length?: number })?.length}`,
      );
    }
    out.set(v, i * C);
  });
  return out;
}

/**
 * cost[i * k2 + j] = sqrt(sum_c (a[i, c] - b[j, c])^2) in float64, channels summed in ascending
 * order. Blocks of 2 rows x 4 columns: eight independent sums (each still in channel order, so
 * every value is the same as one pair at a time) hide the latency of the dependent additions
 * and reuse each load.
 */
export function euclideanDistances(a: Float32Array, k1: number, b: Float32Array, k2: number, C: number, cost: Float64Array): void {
  const k1by2 = k1 - (k1 % 2);
  const k2by4 = k2 - (k2 % 4);
  let i = 0;
  for (; i < k1by2; i += 2) {
    const a0 = i * C;
    const a1 = a0 + C;
    const r0 = i * k2;
    const r1 = r0 + k2;
    for (let j = 0; j < k2by4; j += 4) {
      const b0 = j * C;
      const b1 = b0 + C;
      const b2 = b1 + C;
      const b3 = b2 + C;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let c = 0; c < C; c++) {
        const x0 = a[a0 + c];
        const x1 = a[a1 + c];
        const y0 = b[b0 + c];
        const y1 = b[b1 + c];
        const y2 = b[b2 + c];
        const y3 = b[b3 + c];
        let d = x0 - y0;
        s00 += d * d;
        d = x0 - y1;
        s01 += d * d;
        d = x0 - y2;
        s02 += d * d;
        d = x0 - y3;
        s03 += d * d;
        d = x1 - y0;
        s10 += d * d;
        d = x1 - y1;
        s11 += d * d;
        d = x1 - y2;
        s12 += d * d;
        d = x1 - y3;
        s13 += d * d;
      }
      cost[r0 + j] = Math.sqrt(s00);
      cost[r0 + j + 1] = Math.sqrt(s01);
      cost[r0 + j + 2] = Math.sqrt(s02);
      cost[r0 + j + 3] = Math.sqrt(s03);
      cost[r1 + j] = Math.sqrt(s10);
      cost[r1 + j + 1] = Math.sqrt(s11);
      cost[r1 + j + 2] = Math.sqrt(s12);
      cost[r1 + j + 3] = Math.sqrt(s13);
    }
    for (let j = k2by4; j < k2; j++) {
      cost[r0 + j] = distance(a, a0, b, j * C, C);
      cost[r1 + j] = distance(a, a1, b, j * C, C);
    }
  }
  for (; i < k1; i++) for (let j = 0; j < k2; j++) cost[i * k2 + j] = distance(a, i * C, b, j * C, C);
}

function distance(a: Float32Array, ai: number, b: Float32Array, bj: number, C: number): number {
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const d = a[ai + c] - b[bj + c];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/**
 * The relative shifts of the drift search for maxDrift D (a multiple of DRIFT_STEP_UM): -D..D
 * by DRIFT_STEP_UM, built by the same additions as the search always used (0 - D rather than
 * -D so that D = 0 gives +0, not -0).
 */
export function driftShifts(D: number): Float64Array {
  const out: number[] = [];
  for (let s = 0 - D; s <= D; s += DRIFT_STEP_UM) out.push(s);
  return Float64Array.from(out);
}

/**
 * This thread's shifted vectors of the search in progress (one array per side, reused; they
 * stay as large as the largest search so far: 1.8 MB each for 300 units of 1536 channels).
 */
let shifted1 = new Float32Array(0);
let shifted2 = new Float32Array(0);

/** The assignment at one relative shift s: shift(a1, s/2) against shift(a2, -s/2); `cost` is k1 x k2 scratch. */
function assignAtShift(A1: Float32Array, k1: number, A2: Float32Array, k2: number, geometry: Float32Array, s: number, cost: Float64Array): { rowToCol: Int32Array; total: number } {
  const C = geometry.length / 2;
  if (shifted1.length < k1 * C) shifted1 = new Float32Array(k1 * C);
  if (shifted2.length < k2 * C) shifted2 = new Float32Array(k2 * C);
  const S1 = applyShiftPlan(cachedShiftPlan(geometry, s / 2), A1, k1, shifted1);
  const S2 = applyShiftPlan(cachedShiftPlan(geometry, -s / 2), A2, k2, shifted2);
  // The SIMD twin gives the same bits ~4x faster (1536 channels); the definition is below.
  if (!euclideanDistancesWasm(S1, k1, S2, k2, C, cost)) euclideanDistances(S1, k1, S2, k2, C, cost);
  return solveAssignment(cost, k1, k2);
}

/**
 * Threads that may take shifts of a large drift search (pipeline/shift-helpers.ts). The search
 * is a loop over independent shifts (at 1536 channels each is a ~250 x 250 x 1536 distance
 * matrix and an assignment, ~0.3 s, 13 of them per segment pair), and the segment-by-segment
 * tracking around it is synchronous; so helpers share the shifts through a job in shared memory
 * (ShiftJob) while the caller works on them too, and the caller waits (Atomics.wait) only for
 * the shifts a helper has started. Each shift is computed by the same code wherever it runs, and
 * the winner is chosen in shift order as always: the result does not depend on the helpers.
 */
export interface ShiftHelpers {
  /** Searches with fewer terms (k1 x k2 x C x shifts) than this run on the caller alone. */
  readonly minTerms: number;
  /** Offers the job to the helpers that are online; false when none is (the caller does every shift). */
  post(job: ShiftJob): boolean;
}

/**
 * A drift search shared with helpers: the shifts, the geometry, and one shared buffer (posted
 * without a copy) that holds the stacked vectors and the results, laid out by shiftJobViews.
 */
export interface ShiftJob {
  k1: number;
  k2: number;
  geometry: Float32Array;
  shifts: Float64Array;
  shared: SharedArrayBuffer;
}

interface ShiftJobViews {
  /** [0] next shift to claim, [1] shifts done, [2] non-zero: a helper gave up (its claimed shift is not coming). */
  control: Int32Array;
  done: Int32Array;
  totals: Float64Array;
  mappings: Int32Array;
  a1: Float32Array;
  a2: Float32Array;
}

/** The shared buffer of a job: control words, a done flag, total and mapping (k1 values) per shift, then a1 and a2 (k1 and k2 rows of C). */
export function shiftJobViews(job: ShiftJob): ShiftJobViews {
  const { k1, k2 } = job;
  const n = job.shifts.length;
  const C = job.geometry.length / 2;
  const totalsAt = Math.ceil((12 + 4 * n) / 8) * 8;
  const mappingsAt = totalsAt + 8 * n;
  const a1At = mappingsAt + 4 * n * k1;
  return {
    control: new Int32Array(job.shared, 0, 3),
    done: new Int32Array(job.shared, 12, n),
    totals: new Float64Array(job.shared, totalsAt, n),
    mappings: new Int32Array(job.shared, mappingsAt, n * k1),
    a1: new Float32Array(job.shared, a1At, k1 * C),
    a2: new Float32Array(job.shared, a1At + 4 * k1 * C, k2 * C),
  };
}

function shiftJobBytes(n: number, k1: number, k2: number, C: number): number {
  return Math.ceil((12 + 4 * n) / 8) * 8 + 8 * n + 4 * n * k1 + 4 * (k1 + k2) * C;
}

/** Claims and computes shifts of `job` until none is left (the caller and every helper run this). */
export function runShiftJob(job: ShiftJob): void {
  const v = shiftJobViews(job);
  const n = job.shifts.length;
  const cost = new Float64Array(job.k1 * job.k2);
  for (;;) {
    const i = Atomics.add(v.control, 0, 1);
    if (i >= n) return;
    computeShift(job, v, i, cost);
  }
}

/** A helper that failed says so, so that the caller computes the shifts it claimed without waiting. */
export function abandonShiftJob(job: ShiftJob): void {
  const { control } = shiftJobViews(job);
  Atomics.store(control, 2, 1);
  Atomics.notify(control, 1);
}

function computeShift(job: ShiftJob, v: ShiftJobViews, i: number, cost: Float64Array): void {
  const { control, done, totals, mappings } = v;
  const { rowToCol, total } = assignAtShift(v.a1, job.k1, v.a2, job.k2, job.geometry, job.shifts[i], cost);
  totals[i] = total;
  mappings.set(rowToCol, i * job.k1);
  // Published after the results; a late duplicate (see below) writes the same bits.
  if (Atomics.compareExchange(done, i, 0, 1) === 0) {
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
  }
}

let helpers: ShiftHelpers | null = null;

/** Runs `fn` (synchronous) with `h` taking shifts of the drift searches inside it. */
export function withShiftHelpers<T>(h: ShiftHelpers | null, fn: () => T): T {
  const before = helpers;
  helpers = h;
  try {
    return fn();
  } finally {
    helpers = before;
  }
}

/**
 * How long the caller waits for a helper's shift without any progress before computing it
 * itself (a helper that died holds its claim): many times one shift's time, at least 2 s.
 */
function patienceMs(shiftMs: number): number {
  return Math.max(2000, 20 * shiftMs);
}

/** Like assignClusters, also reporting the winning shift and its cost. */
export function assignClustersDetailed(
  a1: Float32Array[],
  a2: Float32Array[],
  geometry: Float32Array,
  maxDrift: number,
): AssignmentDetail {
  const D = checkMaxDrift(maxDrift, 'assignClusters');
  if (!(geometry instanceof Float32Array) || geometry.length % 2 !== 0) {
    throw new TypeError('assignClusters: geometry must be a Float32Array of C*2 values [x0, y0, x1, y1, ...] (e.g. recording.geometry)');
  }
  const C = geometry.length / 2;
  const k1 = a1.length;
  const k2 = a2.length;
  const A1 = stack(a1, C, 'a1');
  const A2 = stack(a2, C, 'a2');
  if (k1 === 0 || k2 === 0) return { mapping: new Int32Array(k1).fill(-1), shiftUm: 0, total: 0 };

  const shifts = driftShifts(D);
  const n = shifts.length;
  const h = helpers;
  if (h && n > 1 && k1 * k2 * C * n >= h.minTerms) {
    const job: ShiftJob = { k1, k2, geometry, shifts, shared: new SharedArrayBuffer(shiftJobBytes(n, k1, k2, C)) };
    const v = shiftJobViews(job);
    v.a1.set(A1);
    v.a2.set(A2);
    if (h.post(job)) return shared(job, v);
  }
  const cost = new Float64Array(k1 * k2);
  let best: AssignmentDetail | null = null;
  for (let i = 0; i < n; i++) {
    const { rowToCol, total } = assignAtShift(A1, k1, A2, k2, geometry, shifts[i], cost);
    // Strictly lower wins: on ties the smaller (earlier) shift is kept.
    if (best === null || total < best.total) best = { mapping: rowToCol, shiftUm: shifts[i], total };
  }
  return best!;
}

/** The caller's side of a job posted to helpers: its share of the shifts, the wait, the winner. */
function shared(job: ShiftJob, v: ShiftJobViews): AssignmentDetail {
  const n = job.shifts.length;
  const { control, done, totals, mappings } = v;
  const t0 = performance.now();
  const before = Atomics.load(control, 1);
  runShiftJob(job);
  const mine = Atomics.load(control, 1) - before;
  const shiftMs = (performance.now() - t0) / Math.max(1, mine);
  for (let d = Atomics.load(control, 1); d < n; d = Atomics.load(control, 1)) {
    const woke = Atomics.load(control, 2) === 0 ? Atomics.wait(control, 1, d, patienceMs(shiftMs)) : 'not-equal';
    if (Atomics.load(control, 2) !== 0 || (woke === 'timed-out' && Atomics.load(control, 1) === d)) {
      // A helper gave up, or none finished a shift for that long: compute the missing ones here.
      const cost = new Float64Array(job.k1 * job.k2);
      for (let i = 0; i < n; i++) if (Atomics.load(done, i) === 0) computeShift(job, v, i, cost);
    }
  }
  let best = 0;
  // Strictly lower wins: on ties the smaller (earlier) shift is kept, as in the loop above.
  for (let i = 1; i < n; i++) if (totals[i] < totals[best]) best = i;
  return { mapping: mappings.slice(best * job.k1, (best + 1) * job.k1), shiftUm: job.shifts[best], total: totals[best] };
}

/**
 * Per row of a1 (amplitude vectors of one segment), the index of the matching row of a2 or -1.
 * Tries every relative drift s in -D..D (step 5 µm, D = maxDrift rounded half-to-even),
 * comparing shift(a1, s/2) with shift(a2, -s/2); the shift with the strictly lowest total
 * Euclidean cost wins.
 */
export function assignClusters(a1: Float32Array[], a2: Float32Array[], geometry: Float32Array, maxDrift: number): Int32Array {
  return assignClustersDetailed(a1, a2, geometry, maxDrift).mapping;
}
