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


/**
 * Copies y at the first sample of each of `count` ms blocks of a (ms, channel, S) block, for
 * channels [c0, c1), into dest.firstSamples at ms slot `slot` (windows that ask for them).
 */
export function copyFirstSamples(data: Float32Array, count: number, C: number, S: number, c0: number, c1: number,
  firstSamples: Float32Array, slot: number): void {
  for (let m = 0; m < count; m++) {
    const src = m * C * S;
    const dst = (slot + m) * C;
    for (let c = c0; c < c1; c++) firstSamples[dst + c] = data[src + c * S];
  }
}

/**
 * The grid blocks of ms blocks [firstMs, firstMs + numMs): for each, the raw rows
 * it reads (from row r0 of `input`, which holds rows from inputStart on), its grid start gs, and
 * the ms blocks it outputs, [outMs0, outMs0 + count). (The TypeScript paths of filter.ts keep
 * the same loop inline: their per-sample loops ran ~25 % slower inside a callback.)
 */
export function forGridBlocks(input: ArrayLike<number>, inputStart: number, firstMs: number, numMs: number, S: number, w: number, C: number,
  fn: (r0: number, rows: number, gs: number, outMs0: number, count: number) => void): void {
  const G = cpuGridMs(S);
  const endMs = firstMs + numMs;
  for (let gs = gridStartMs(firstMs, S); gs < endMs; gs += G) {
    const ge = Math.min(gs + G, endMs);
    const rowStart = gs * S - 4 * w;
    const rows = (ge - gs) * S + 8 * w;
    const r0 = rowStart - inputStart;
    if (r0 < 0 || (r0 + rows) * C > input.length) {
      throw new RangeError(`filterBlocksCpu: input rows [${inputStart}, ${inputStart + input.length / C}) do not cover [${rowStart}, ${rowStart + rows})`);
    }
    const outMs0 = Math.max(gs, firstMs);
    fn(r0, rows, gs, outMs0, ge - outMs0);
  }
}
