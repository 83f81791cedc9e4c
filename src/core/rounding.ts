/** The rounding rules of the parameters (spec §1): both half-to-even on the float64 value. */

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

