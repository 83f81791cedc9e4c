/**
 * What backend: 'auto' chooses on this machine, and what the choice costs, for 32, 384 and
 * 1024 channels of int16 at 30 kHz (the one-line description includes both measured rates).
 *
 *   node --import ./scripts/ts-loader.mjs bench/auto-decision.ts
 */
import { createSignalProcessor } from '../src/engines/select.js';
import { releaseGpuContext } from '../src/engines/webgpu/context.js';

for (const C of [32, 384, 1024]) {
  const t0 = performance.now();
  const p = await createSignalProcessor('auto', { workload: { numChannels: C, samplesPerMs: 30, dataType: 'int16' } });
  console.log(`| ${C} | ${((performance.now() - t0) / 1000).toFixed(2)} s | ${p.backend} | ${p.description} |`);
  p.dispose();
}
await releaseGpuContext();
