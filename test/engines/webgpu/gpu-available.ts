// Shared by the GPU tests: whether a WebGPU adapter exists here, printed once per file.
import { probeAdapter } from '../../../src/engines/webgpu/context.js';

export async function gpuAvailability(file: string): Promise<{ ok: boolean; name: string }> {
  const probe = await probeAdapter();
  if (!probe.adapter) {
    console.log(`[${file}] skipping GPU tests: ${probe.reason} (install lavapipe: npm run setup)`);
    return { ok: false, name: 'none' };
  }
  console.log(`[${file}] WebGPU adapter: ${probe.name} (${probe.isSoftware ? 'software' : 'hardware'})`);
  return { ok: true, name: probe.name };
}
