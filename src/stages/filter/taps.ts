/**
 * Filter constants of spec §3, named once and shared by the TypeScript path and the WGSL
 * shaders (the host passes them to the shaders as uniforms / FIR taps).
 */

/** Difference-of-Gaussians box half-widths: narrow n = floor(S / 9.5), wide w = floor(S / 4.75). */
export function filterWidths(samplesPerMs: number): { narrow: number; wide: number } {
  if (!Number.isInteger(samplesPerMs) || samplesPerMs < 1) {
    throw new RangeError(`samplesPerMs must be a positive integer, got ${samplesPerMs}`);
  }
  return { narrow: Math.floor(samplesPerMs / 9.5), wide: Math.floor(samplesPerMs / 4.75) };
}

/** Raw samples needed on each side of a filtered range: the support of G_w is ±4w. */
export function filterHalo(samplesPerMs: number): number {
  return 4 * filterWidths(samplesPerMs).wide;
}

/**
 * The DoG as one symmetric FIR of length 8w+1 (closed form of spec §3), in float64:
 * taps[j] multiplies x[t + j - 4w]; y[t] = polarity * sum_j taps[j] * x[t + j - 4w].
 * G_k's kernel is the 4-fold self-convolution of a box of 2k+1 ones (integer coefficients,
 * a piecewise cubic), divided by (2k+1)^4. The taps sum to 0 up to rounding.
 */
export function dogTaps(samplesPerMs: number): Float64Array {
  const { narrow, wide } = filterWidths(samplesPerMs);
  const gw = boxPower(wide, 4);
  const gn = boxPower(narrow, 4);
  const taps = new Float64Array(8 * wide + 1);
  const sw = (2 * wide + 1) ** 4;
  const sn = (2 * narrow + 1) ** 4;
  const shift = 4 * (wide - narrow);
  for (let j = 0; j < gw.length; j++) taps[j] += gw[j] / sw;
  for (let j = 0; j < gn.length; j++) taps[j + shift] -= gn[j] / sn;
  return taps;
}

/** Integer coefficients of (box of 2k+1 ones)^p as a polynomial convolution (exact in float64). */
export function boxPower(k: number, p: number): Float64Array {
  let cur = new Float64Array([1]);
  const len = 2 * k + 1;
  for (let i = 0; i < p; i++) {
    const next = new Float64Array(cur.length + len - 1);
    for (let a = 0; a < cur.length; a++) for (let b = 0; b < len; b++) next[a + b] += cur[a];
    cur = next;
  }
  return cur;
}
