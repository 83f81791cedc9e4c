/** The readable definition of the Difference-of-Gaussians filter (spec §3): the twin every engine is tested against. */
import { filterWidths } from './taps.js';

/**
 * Readable reference of spec §3. `input` is sample-major (rows x C); the output is sample-major
 * (rows - 2*halo) x C float32, output row i being input row i + halo. Each input value is
 * rounded to float32 first; each box sum is a float64 running sum over the whole range.
 */
export function dogFilterReference(
  input: ArrayLike<number>,
  numChannels: number,
  samplesPerMs: number,
  polarity: number,
): Float32Array {
  const C = numChannels;
  const rows = Math.floor(input.length / C);
  const { narrow: n, wide: w } = filterWidths(samplesPerMs);
  const halo = 4 * w;
  const outRows = rows - 2 * halo;
  if (outRows < 0) throw new RangeError(`dogFilterReference: ${rows} rows cannot hold the ${halo}-sample halo on both sides`);
  const out = new Float32Array(outRows * C);
  const x = new Float64Array(rows);
  const a = new Float64Array(rows);
  const b = new Float64Array(rows);
  const aw = polarity / (2 * w + 1) ** 4;
  const an = polarity / (2 * n + 1) ** 4;
  const gw = new Float64Array(outRows);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < rows; t++) x[t] = Math.fround(input[t * C + c]);
    // G_w: four box passes, each shortening the valid range by 2w.
    let len = rows;
    boxPass(x, 0, len, w, a, 0); len -= 2 * w;
    boxPass(a, 0, len, w, b, 0); len -= 2 * w;
    boxPass(b, 0, len, w, a, 0); len -= 2 * w;
    boxPass(a, 0, len, w, gw, 0);
    // G_n on the input shifted so that both end up centred on the same sample.
    len = rows - 8 * (w - n);
    boxPass(x, 4 * (w - n), len, n, a, 0); len -= 2 * n;
    boxPass(a, 0, len, n, b, 0); len -= 2 * n;
    boxPass(b, 0, len, n, a, 0); len -= 2 * n;
    boxPass(a, 0, len, n, b, 0);
    for (let t = 0; t < outRows; t++) out[t * C + c] = aw * gw[t] - an * b[t];
  }
  return out;
}

/**
 * dst[dstOff + i] = sum_{j=0..2k} src[srcOff + i + j] for i in [0, len - 2k), as a float64
 * running sum. k = 0 is a copy (a running sum would add and remove the same float value).
 */
export function boxPass(src: Float64Array, srcOff: number, len: number, k: number, dst: Float64Array, dstOff: number): void {
  const L = 2 * k + 1;
  const n = len - L + 1;
  if (n <= 0) return;
  if (k === 0) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
    return;
  }
  let s = 0;
  for (let j = 0; j < L; j++) s += src[srcOff + j];
  dst[dstOff] = s;
  let lo = srcOff;
  let hi = srcOff + L;
  for (let i = 1; i < n; i++) {
    s += src[hi++] - src[lo++];
    dst[dstOff + i] = s;
  }
}

