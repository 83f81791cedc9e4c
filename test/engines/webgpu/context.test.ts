import { afterAll, describe, expect, it } from 'vitest';
import { BufferUsage, GpuError, describeAdapter, getGpuContext, releaseGpuContext } from '../../../src/engines/webgpu/context.js';
import { createBuffer, dispatchSize } from '../../../src/engines/webgpu/buffers.js';
import { pipelineFromSource } from '../../../src/engines/webgpu/pipelines.js';
import { gpuAvailability } from './gpu-available.js';

const gpu = await gpuAvailability('context');

afterAll(async () => {
  await releaseGpuContext();
});

describe('describeAdapter', () => {
  const fake = (info: Record<string, unknown>) => ({ info }) as unknown as GPUAdapter;
  it('recognises software adapters by flag or name', () => {
    expect(describeAdapter(fake({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).isSoftware).toBe(true);
    expect(describeAdapter(fake({ vendor: 'google', device: 'SwiftShader Device (Subzero)' })).isSoftware).toBe(true);
    expect(describeAdapter(fake({ description: 'Anything', isFallbackAdapter: true })).isSoftware).toBe(true);
    const h = describeAdapter(fake({ vendor: 'nvidia', description: 'NVIDIA H100 80GB HBM3' }));
    expect(h).toEqual({ name: 'NVIDIA H100 80GB HBM3', isSoftware: false });
    // What NVIDIA's Vulkan driver reports through Dawn (seen on an H100): the card is in `device`.
    const v = describeAdapter(fake({ vendor: 'nvidia', device: 'nvidia-h100-80gb-hbm3', description: 'NVIDIA: 580.159.04 580.159.4.0' }));
    expect(v).toEqual({ name: 'nvidia-h100-80gb-hbm3 (NVIDIA: 580.159.04 580.159.4.0)', isSoftware: false });
  });
});

describe.skipIf(!gpu.ok)('GPU context', () => {
  it('is one lazily created context, with limits and adapter name', async () => {
    const a = await getGpuContext();
    const b = await getGpuContext();
    expect(a).toBe(b);
    expect(a.adapterName.length).toBeGreaterThan(0);
    expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(a.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
  });

  it('turns validation errors into thrown GpuErrors carrying the message', async () => {
    const ctx = await getGpuContext();
    await expect(ctx.run('bad buffer', async () => {
      ctx.device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.STORAGE });
    })).rejects.toThrow(/bad buffer: WebGPU validation error: .+/);
    // The context stays usable afterwards.
    await expect(ctx.run('fine', async () => 42)).resolves.toBe(42);
  });

  it('reports WGSL compilation errors with line numbers', async () => {
    const ctx = await getGpuContext();
    const err = await ctx.run('compile', () => pipelineFromSource(ctx, 'broken.wgsl', () => '@compute @workgroup_size(1)\nfn main() { let x: u32 = 1.5; }', 'main')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as Error).message).toMatch(/broken\.wgsl[\s\S]*(:2:\d+|line 2)/);
  });

  it('refuses buffers beyond maxBufferSize and splits dispatches over two dimensions', async () => {
    const ctx = await getGpuContext();
    expect(() => createBuffer(ctx, ctx.limits.maxBufferSize + 4, BufferUsage.STORAGE, 'huge')).toThrow(/maxBufferSize/);
    const max = ctx.limits.maxComputeWorkgroupsPerDimension;
    expect(dispatchSize(ctx, 10)).toEqual([10, 1]);
    const [x, y] = dispatchSize(ctx, max * 3 + 1);
    expect(x).toBeLessThanOrEqual(max);
    expect(x * y).toBeGreaterThanOrEqual(max * 3 + 1);
  });

  it('after release, the old context refuses work and a new one can be created', async () => {
    const old = await getGpuContext();
    await releaseGpuContext();
    expect(old.lost).toBe(true);
    await expect(old.run('late', async () => 1)).rejects.toThrow(/released/);
    const fresh = await getGpuContext();
    expect(fresh).not.toBe(old);
    await expect(fresh.run('ok', async () => 1)).resolves.toBe(1);
  });
});
