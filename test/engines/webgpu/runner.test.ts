/**
 * The Runner: units requested in the same turn of the event loop go out in one submission,
 * each gets its own reads back, and a unit whose build throws fails alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getGpuContext, releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { BufferPool, STORAGE_INOUT } from '../../../src/engines/webgpu/buffers.js';
import { Runner } from '../../../src/engines/webgpu/program.js';
import type { DeviceStage } from '../../../src/result/info.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('runner');

afterAll(async () => {
  await releaseGpuContext();
});

describe.skipIf(!gpu.ok)('Runner', () => {
  it('batches units of one event-loop turn into one submission; a failing build fails alone', async () => {
    const ctx = await getGpuContext();
    const pool = new BufferPool(ctx);
    const runner = new Runner(ctx, pool, new Set<DeviceStage>());
    try {
      const unit = (k: number) => runner.run(`unit ${k}`, () => {
        const b = pool.get(`unit ${k}`, 32, STORAGE_INOUT());
        ctx.device.queue.writeBuffer(b, 0, Int32Array.from({ length: 8 }, (_, i) => 100 * k + i));
        const out = pool.get(`out ${k}`, 32, STORAGE_INOUT());
        return {
          steps: [
            { kind: 'clear', buffer: out, size: 32 },
            { kind: 'copy', from: b, fromOffset: 8, to: out, toOffset: 0, size: 16 },
          ],
          reads: [{ buffer: out, offset: 0, size: 20 }],
        };
      });
      const before = runner.submits;
      const failing = runner.run('broken', () => {
        throw new RangeError('bad input (test)');
      });
      const results = await Promise.all([unit(1), unit(2), unit(3), failing.catch((e: Error) => e)]);
      expect(runner.submits - before).toBe(1);
      expect(runner.largestBatch).toBeGreaterThanOrEqual(4);
      for (const k of [1, 2, 3]) expect(Array.from(new Int32Array((results[k - 1] as ArrayBuffer[])[0]))).toEqual([100 * k + 2, 100 * k + 3, 100 * k + 4, 100 * k + 5, 0]);
      expect((results[3] as Error).message).toMatch(/bad input/);
      // A later turn is a submission of its own.
      await unit(4);
      expect(runner.submits - before).toBe(2);
    } finally {
      runner.dispose();
      pool.destroy();
    }
  });
});
