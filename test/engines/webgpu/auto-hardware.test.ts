// 'auto' on a hardware adapter, exercised on the software adapter made to look like hardware:
// it calibrates once per shape, keeps the path it measured faster, says both rates in one line.
import { afterAll, describe, expect, it } from 'vitest';
import { probeAdapter, releaseGpuContext, setAdapterRequester } from '../../../src/engines/webgpu/context.js';
import { clearAutoDecisions } from '../../../src/engines/calibrate.js';
import { createSignalProcessor } from '../../../src/engines/select.js';
import { allocateFilteredBuffer } from '../../../src/core/window.js';
import { spiky, writeRecording } from '../data.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateRecording } from '../../../src/groundtruth/index.js';
import { Recording } from '../../../src/formats/recording.js';
import { performSpikeSortingDetailed } from '../../../src/pipeline/perform.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('auto-hardware');

afterAll(async () => {
  await setAdapterRequester(null);
  await releaseGpuContext();
  clearAutoDecisions();
});

/** The adapter as a hardware GPU would present itself (lavapipe reports a software one). */
function disguise<T extends object>(real: T): T {
  return new Proxy(real, {
    get(target, key) {
      if (key === 'info') return { description: 'Test Discrete GPU', vendor: 'test', device: '', architecture: '', isFallbackAdapter: false };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe.skipIf(!gpu.ok)("'auto' with a hardware adapter", () => {
  it('calibrates once per shape, picks a path, says both rates, and the chosen processor filters', async () => {
    const real = (await probeAdapter()).adapter!;
    await setAdapterRequester(async () => disguise(real));
    const C = 8;
    const t = writeRecording(spiky(9000, C, 30, 5), C, 30000, 'int16');
    const lines: string[] = [];
    try {
      const first = await createSignalProcessor('auto', { cpuWorkers: 0, workload: t.rec, log: (l) => lines.push(l) });
      const rates = /(\d+|\d\.\d) MB\/s.*faster than .*: (\d+|\d\.\d) MB\/s; calibrated on \d+ ms of 8 ch int16 from the recording in \d+\.\d\d s/;
      console.log(`auto on a disguised ${gpu.name}: ${first.description}`);
      expect(first.description).toMatch(rates);
      expect(first.description).toMatch(first.backend === 'webgpu'
        ? /^webgpu on Test Discrete GPU \(hardware\): .* faster than cpu \(/
        : /^cpu \(TypeScript|^cpu \(WebAssembly/);
      expect(lines).toEqual([`spikesift: backend ${first.description}`]);
      const buf = allocateFilteredBuffer(C, 30, 50);
      await first.filterBlocks(t.rec, 1, 50, -1, buf, 0);
      expect(buf.minVal.some((v) => v !== 0)).toBe(true);
      first.dispose();
      // Same shape again: no new calibration, same choice.
      const second = await createSignalProcessor('auto', { cpuWorkers: 0, workload: { numChannels: C, samplesPerMs: 30, dataType: 'int16' } });
      expect(second.backend).toBe(first.backend);
      expect(second.description).toMatch(/calibrated earlier in this process on \d+ ms of 8 ch int16 from the recording\)?$/);
      second.dispose();
    } finally {
      t.cleanup();
    }
  });

  it('sorting with auto decides by sorting a slice end to end with each whole engine, and says so in one line', async () => {
    await setAdapterRequester(null);   // a fresh adapter: the one above made its device
    const real = (await probeAdapter()).adapter!;
    await setAdapterRequester(async () => disguise(real));
    clearAutoDecisions();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-auto-e2e-'));
    try {
      const g = await generateRecording({ out: dir, preset: 'linear32', duration: 8, seed: 4, snrRange: [8, 20] });
      const rec = new Recording({ binaryFile: g.binaryFile, dataType: g.dataType, probeGeometry: g.probeGeometry, samplingFrequency: g.samplingFrequency });
      const out = await performSpikeSortingDetailed(rec, { verbose: false, backend: 'auto', minSegmentLength: 2, detectionPolarity: g.detectionPolarity });
      const line = out.stats.backendDescription;
      console.log(`auto end to end on a disguised ${gpu.name}: ${line}`);
      expect(line).not.toMatch(/\n/);
      expect(line).toMatch(/x real time end to end.*faster than .*x real time end to end; calibrated on 1\.0 s of 32 ch int16 from the recording in \d+\.\d\d s/);
      expect(out.sorted.info?.engine).toBe(out.stats.backend);
      expect(out.sorted.info?.engineDescription).toBe(line);
      // Only the real sort's device steps are recorded, not the calibration's.
      if (out.stats.backend === 'cpu') expect(out.sorted.info?.stagesOnDevice).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await setAdapterRequester(null);
    }
  }, 300_000);
});
