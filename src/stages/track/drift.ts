/**
 * Drift simulation (spec §10): an amplitude vector (one value per channel) seen from a probe
 * moved vertically by delta µm. Each channel takes the value interpolated at y + delta from the
 * sites of its own column.
 */

/** Sites whose x differs by at most this many µm belong to the same column. */
export const SAME_COLUMN_TOLERANCE_UM = 2;

/**
 * Per-channel interpolation plan for one (geometry, delta): channel c's shifted value is
 * w0[c] * A[src0[c]] + w1[c] * A[src1[c]]. Built once per shift so applying it to k units costs
 * O(k C) instead of O(k C^2).
 */
export interface ShiftPlan {
  src0: Int32Array;
  src1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
}

function checkGeometry(geometry: Float32Array, fn: string): number {
  if (!(geometry instanceof Float32Array) || geometry.length % 2 !== 0) {
    throw new TypeError(`${fn}: geometry must be a Float32Array of C*2 values [x0, y0, x1, y1, ...]`);
  }
  return geometry.length / 2;
}

/**
 * Plans per geometry array and delta. The sorter and mergeRecordings pass the same geometry
 * array for every segment pair and try the same 2*D/5+1 shifts each time, and building a plan is
 * O(C^2), so plans are kept for as long as the geometry array lives. Geometry arrays are treated
 * as immutable once used here.
 */
const planCache = new WeakMap<Float32Array, Map<number, ShiftPlan>>();

/** buildShiftPlan, memoised on (geometry array, delta). Plans are shared: do not modify them. */
export function cachedShiftPlan(geometry: Float32Array, deltaUm: number): ShiftPlan {
  let byDelta = planCache.get(geometry);
  if (!byDelta) {
    byDelta = new Map();
    planCache.set(geometry, byDelta);
  }
  let plan = byDelta.get(deltaUm);
  if (!plan) {
    plan = buildShiftPlan(geometry, deltaUm);
    byDelta.set(deltaUm, plan);
  }
  return plan;
}

export function buildShiftPlan(geometry: Float32Array, deltaUm: number): ShiftPlan {
  const C = checkGeometry(geometry, 'buildShiftPlan');
  if (!Number.isFinite(deltaUm)) {
    throw new RangeError(`shiftAmplitudes: deltaUm must be a finite number of µm, received ${String(deltaUm)}`);
  }
  const src0 = new Int32Array(C);
  const src1 = new Int32Array(C);
  const w0 = new Float64Array(C);
  const w1 = new Float64Array(C);
  fillShiftPlan(geometry, deltaUm, src0, src1, w0, w1);
  return { src0, src1, w0, w1 };
}

/** buildShiftPlan's search over every pair of channels (a function of its own: see "Code shape" in sort/kernels-cpu.ts). */
function fillShiftPlan(geometry: Float32Array, deltaUm: number, src0: Int32Array, src1: Int32Array, w0: Float64Array, w1: Float64Array): void {
  const C = src0.length;
  for (let c = 0; c < C; c++) {
    const xc = geometry[2 * c];
    const target = geometry[2 * c + 1] + deltaUm;
    // Only sites of the same column are candidates; the reference's downward search could fall
    // through to another column's lowest site, which mixes unrelated channels (not copied).
    let below = -1;
    let belowY = -Infinity;
    let above = -1;
    let aboveY = Infinity;
    for (let d = 0; d < C; d++) {
      if (Math.abs(geometry[2 * d] - xc) > SAME_COLUMN_TOLERANCE_UM) continue;
      const yd = geometry[2 * d + 1];
      // Strict comparisons keep the lowest channel index among sites at the same height.
      if (yd < target) {
        if (yd > belowY) {
          belowY = yd;
          below = d;
        }
      } else if (yd < aboveY) {
        aboveY = yd;
        above = d;
      }
    }
    if (below >= 0 && above >= 0) {
      const span = aboveY - belowY;
      src0[c] = below;
      src1[c] = above;
      // Linear interpolation by distance: the closer site weighs more.
      w0[c] = (aboveY - target) / span;
      w1[c] = (target - belowY) / span;
    } else {
      // One side missing: use the other alone (channel c itself is always in its column, so
      // at least one side exists).
      const only = below >= 0 ? below : above;
      src0[c] = only;
      src1[c] = only;
      w0[c] = 1;
      w1[c] = 0;
    }
  }
}

/**
 * The k shifted vectors, into `out` when given (at least k x C values; the drift search reuses
 * one per side for its 13 shifts instead of two fresh arrays per shift: 1.8 MB each for 300
 * units of 1536 channels), else into a new array.
 */
export function applyShiftPlan(plan: ShiftPlan, amplitudes: Float32Array, k: number, out?: Float32Array): Float32Array {
  const { src0, src1, w0, w1 } = plan;
  const C = src0.length;
  if (out && out.length < k * C) throw new RangeError(`applyShiftPlan: out holds ${out.length} values, fewer than k*C = ${k}*${C}`);
  const o = out ? out.subarray(0, k * C) : new Float32Array(k * C);
  for (let u = 0; u < k; u++) {
    const base = u * C;
    for (let c = 0; c < C; c++) {
      o[base + c] = w0[c] * amplitudes[base + src0[c]] + w1[c] * amplitudes[base + src1[c]];
    }
  }
  return o;
}

/**
 * shift(A, delta) of spec §10 on k amplitude vectors stored row-major (k x C).
 * Returns a new array; the input is not modified.
 */
export function shiftAmplitudes(amplitudes: Float32Array, k: number, geometry: Float32Array, deltaUm: number): Float32Array {
  const C = checkGeometry(geometry, 'shiftAmplitudes');
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`shiftAmplitudes: k (number of vectors) must be a non-negative integer, received ${String(k)}`);
  }
  if (amplitudes.length !== k * C) {
    throw new RangeError(
      `shiftAmplitudes: amplitudes has ${amplitudes.length} values, expected k*C = ${k}*${C} = ${k * C}`,
    );
  }
  return applyShiftPlan(buildShiftPlan(geometry, deltaUm), amplitudes, k);
}
