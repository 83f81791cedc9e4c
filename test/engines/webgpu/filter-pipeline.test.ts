import { truncateSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { calibrate, decideBackend } from '../../../src/engines/calibrate.js';
import { createSignalProcessor } from '../../../src/engines/select.js';
import { type GpuFilterStats } from '../../../src/engines/webgpu/engine.js';
import { allocateFilteredBuffer } from '../../../src/core/window.js';
import { spiky, worstDiff, writeRecording } from '../data.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('filter-pipeline');

afterAll(async () => {
  await releaseGpuContext();
});

describe.skipIf(!gpu.ok)('webgpu filter pipeline (double-buffered chunks)', () => {
  for (const dtype of ['int16', 'float64'] as const) {
    it(`many small chunks in flight give exactly the one-chunk output (${dtype})`, async () => {
      const C = 24;
      const fs = 30000;
      const S = 30;
      const rows = 24000;
      const t = writeRecording(spiky(rows, C, S, 7), C, fs, dtype);
      const one = await createSignalProcessor('webgpu');
      const many = await createSignalProcessor('webgpu', { chunkBytes: 40_000 });
      try {
        const numMs = Math.floor(rows / S) - 2;
        const a = allocateFilteredBuffer(C, S, numMs);
        const b = allocateFilteredBuffer(C, S, numMs + 3);
        await one.filterBlocks(t.rec, 1, numMs, -1, a, 0);
        await many.filterBlocks(t.rec, 1, numMs, -1, b, 3);
        const stats = (many as unknown as { stats: GpuFilterStats }).stats;
        expect(stats.chunks).toBeGreaterThan(10);
        const shift = 3 * C;
        expect(worstDiff(a.data, b.data.subarray(shift * S))).toBe(0);
        expect(worstDiff(a.minVal, b.minVal.subarray(shift))).toBe(0);
        expect(worstDiff(a.minPos, b.minPos.subarray(shift))).toBe(0);
      } finally {
        one.dispose();
        many.dispose();
        t.cleanup();
      }
    });
  }

  it('a read that fails mid-stream rejects the request, leaves nothing in flight, and the processor keeps working', async () => {
    const C = 16;
    const S = 30;
    const rows = 30000;
    const t = writeRecording(spiky(rows, C, S, 11), C, 30000, 'int16');
    const p = await createSignalProcessor('webgpu', { chunkBytes: 40_000 });
    try {
      const numMs = Math.floor(rows / S) - 2;
      const ref = allocateFilteredBuffer(C, S, 100);
      await p.filterBlocks(t.rec, 1, 100, -1, ref, 0);
      truncateSync(t.rec.binaryFile, Math.floor(rows / 2) * C * 2);   // the Recording still believes the old size
      const buf = allocateFilteredBuffer(C, S, numMs);
      await expect(p.filterBlocks(t.rec, 1, numMs, -1, buf, 0)).rejects.toThrow(/unexpected end/);
      const again = allocateFilteredBuffer(C, S, 100);
      await p.filterBlocks(t.rec, 1, 100, -1, again, 0);
      expect(worstDiff(ref.data, again.data)).toBe(0);
    } finally {
      p.dispose();
      t.cleanup();
    }
  });

  it('calibration times both paths on the same block and they agree (no timing assertions)', async () => {
    const C = 8;
    const t = writeRecording(spiky(9000, C, 30, 3), C, 30000, 'int16');
    const cpu = await createSignalProcessor('cpu', { cpuWorkers: 0 });
    const g = await createSignalProcessor('webgpu');
    try {
      const fromRecording = await calibrate(cpu, g, t.rec);
      expect(fromRecording.workload).toMatch(/^29\d ms of 8 ch int16 from the recording$/);
      const synthetic = await calibrate(cpu, g, { numChannels: 5, samplesPerMs: 25, dataType: 'uint16' });
      expect(synthetic.workload).toBe('500 ms of 5 ch uint16 synthetic');
      for (const c of [fromRecording, synthetic]) {
        expect(c.agree).toBe(true);
        expect(c.cpuMBps).toBeGreaterThan(0);
        expect(c.gpuMBps).toBeGreaterThan(0);
        expect(['cpu', 'webgpu']).toContain(decideBackend(c));
      }
    } finally {
      cpu.dispose();
      g.dispose();
      t.cleanup();
    }
  });
});
