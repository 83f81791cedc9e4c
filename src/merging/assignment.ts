/**
 * Cluster assignment between two sets of amplitude vectors under simulated drift (spec §10).
 */
import { applyShiftPlan, cachedShiftPlan } from './drift.js';
import { solveAssignment } from './linear-assignment.js';

/** Drift search step in µm. */
export const DRIFT_STEP_UM = 5;

/** Round half to even on the float64 value (JavaScript's Math.round rounds halves up). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** maxDrift rounded half-to-even to a multiple of 5 µm (2.5 -> 0, 7.5 -> 10, 12.5 -> 10). */
export function roundDrift(maxDrift: number): number {
  const r = roundHalfEven(maxDrift / DRIFT_STEP_UM) * DRIFT_STEP_UM;
  return r === 0 ? 0 : r; // no -0
}

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

  const cost = new Float64Array(k1 * k2);
  let best: AssignmentDetail | null = null;
  // 0 - D rather than -D so that D = 0 gives +0, not -0.
  for (let s = 0 - D; s <= D; s += DRIFT_STEP_UM) {
    const S1 = applyShiftPlan(cachedShiftPlan(geometry, s / 2), A1, k1);
    const S2 = applyShiftPlan(cachedShiftPlan(geometry, -s / 2), A2, k2);
    for (let i = 0; i < k1; i++) {
      for (let j = 0; j < k2; j++) {
        let sum = 0;
        for (let c = 0; c < C; c++) {
          const d = S1[i * C + c] - S2[j * C + c];
          sum += d * d;
        }
        cost[i * k2 + j] = Math.sqrt(sum);
      }
    }
    const { rowToCol, total } = solveAssignment(cost, k1, k2);
    // Strictly lower wins: on ties the smaller (earlier) shift is kept.
    if (best === null || total < best.total) best = { mapping: rowToCol, shiftUm: s, total };
  }
  return best!;
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
