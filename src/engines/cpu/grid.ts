/** The absolute time grid of the CPU filter (shared by the TypeScript and WebAssembly paths). */

/**
 * Length in ms of the absolute time grid on which the fast path restarts its running sums.
 * Blocks start at ms 1 + k*G: the result for a given ms never depends on how a request was
 * chunked (bit-identical for every chunking, float inputs included), and ~1000-sample blocks
 * keep each channel's scratch in L1 (8w-sample halo overhead: ~5% at 30 kHz).
 */
export function cpuGridMs(samplesPerMs: number): number {
  return Math.max(1, Math.ceil(960 / samplesPerMs));
}

/** First ms of the grid block containing `ms` (ms >= 1). */
export function gridStartMs(ms: number, samplesPerMs: number): number {
  const g = cpuGridMs(samplesPerMs);
  return 1 + Math.floor((ms - 1) / g) * g;
}

