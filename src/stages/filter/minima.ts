/**
 * Per-millisecond minima (spec §4), TypeScript reference.
 *
 * Layout: data[((m*C) + c)*S + s] holds sample m*S + s of channel c; minVal/minPos[m*C + c].
 * minPos is the first s attaining the minimum (strict `<` while scanning upwards).
 */

export interface MsMinima { minVal: Float32Array; minPos: Int32Array }

/** Minima of `numMs` ms blocks of (ms, C, S) data starting at ms slot `firstMs` (default 0). */
export function msMinimaReference(
  data: Float32Array,
  numMs: number,
  numChannels: number,
  samplesPerMs: number,
  firstMs = 0,
): MsMinima {
  const C = numChannels;
  const S = samplesPerMs;
  const minVal = new Float32Array(numMs * C);
  const minPos = new Int32Array(numMs * C);
  for (let i = 0; i < numMs * C; i++) {
    const o = (firstMs * C + i) * S;
    let mv = data[o];
    let mp = 0;
    for (let s = 1; s < S; s++) {
      const v = data[o + s];
      if (v < mv) { mv = v; mp = s; }
    }
    minVal[i] = mv;
    minPos[i] = mp;
  }
  return { minVal, minPos };
}

/**
 * Rearranges sample-major rows (numMs*S rows x C) into the (ms, C, S) layout; the readable
 * bridge between `dogFilterReference`'s output and a FilteredBuffer.
 */
export function toMsLayout(sampleMajor: Float32Array, numChannels: number, samplesPerMs: number, numMs: number): Float32Array {
  const C = numChannels;
  const S = samplesPerMs;
  const out = new Float32Array(numMs * C * S);
  for (let m = 0; m < numMs; m++) {
    for (let s = 0; s < S; s++) {
      const row = (m * S + s) * C;
      for (let c = 0; c < C; c++) out[(m * C + c) * S + s] = sampleMajor[row + c];
    }
  }
  return out;
}
