// How visible each unit is to the sorter's detector: its trough after the Difference-of-
// Gaussians filter of spec §3, relative to the filtered noise. The raw SNR (peak / broadband
// noise sd) says little about detection because the filter removes most of the noise's high
// frequencies but also part of a broad spike; this number says it directly.

/** Box sum of half-width k applied four times, normalised to unit gain: the spec's G_k / (2k+1)^4. */
function gaussApprox(k: number): Float64Array {
  let h: Float64Array = Float64Array.of(1);
  const box = new Float64Array(2 * k + 1).fill(1 / (2 * k + 1));
  for (let r = 0; r < 4; r++) h = convolve(h, box);
  return h;
}

export function convolve(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length - 1);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i + j]! += a[i]! * b[j]!;
  return out;
}

/**
 * Impulse response (centred, length 8w+1) of the detector's filter with polarity -1:
 * y = G_n(x) - G_w(x), widths n = floor(S/9.5), w = floor(S/4.75), S = floor(fs/1000).
 * Null below 5 kHz, where the spec's filter is identically zero.
 */
export function detectorKernel(samplingFrequency: number): Float64Array | null {
  const S = Math.floor(samplingFrequency / 1000);
  const n = Math.floor(S / 9.5), w = Math.floor(S / 4.75);
  if (w === 0) return null;
  const gw = gaussApprox(w), gn = gaussApprox(n);
  const h = new Float64Array(gw.length);
  const off = 4 * (w - n);
  for (let i = 0; i < gn.length; i++) h[off + i] = gn[i]!;
  for (let i = 0; i < gw.length; i++) h[i]! -= gw[i]!;
  return h;
}

/** Sd of the filtered noise for AR(1) noise x[t] = alpha x[t-1] + sqrt(1-alpha^2) sd e[t]. */
export function filteredNoiseSd(kernel: Float64Array, alpha: number, sd: number): number {
  const len = alpha > 0 ? Math.min(4096, Math.ceil(Math.log(1e-9) / Math.log(alpha)) + 1) : 1;
  const ar = new Float64Array(len);
  const g = Math.sqrt(1 - alpha * alpha);
  for (let k = 0; k < len; k++) ar[k] = g * alpha ** k;
  const r = convolve(kernel, ar);
  let ss = 0;
  for (const v of r) ss += v * v;
  return sd * Math.sqrt(ss);
}

/** Most negative value of the filtered waveform (samples at integer offsets). */
export function filteredTrough(kernel: Float64Array, waveform: Float64Array): number {
  const y = convolve(waveform, kernel);
  let m = 0;
  for (const v of y) if (v < m) m = v;
  return m;
}
