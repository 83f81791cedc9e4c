/**
 * Planning the WebGPU engine's device windows from the GPU memory budget (plain arithmetic,
 * no GPU): 1536 channels fit within 8 GB, fewer windows are in flight when more would exceed
 * the budget, and a budget or binding limit that cannot hold one window is a clear error.
 */
import { describe, expect, it } from 'vitest';
import { DEVICE_RESERVE_BYTES, MAX_DEVICE_WINDOWS, planDeviceWindows } from '../../src/engines/webgpu/device-window.js';
import { SORT_DEFAULTS, sortDefaults } from '../../src/core/params.js';

// A hardware GPU's limits (2 GiB bindings, 4 GiB buffers, as Dawn reports on many NVIDIA cards) and lavapipe's.
const HW = { maxBufferSize: 4 * 1024 ** 3, maxStorageBufferBindingSize: 2 * 1024 ** 3 - 4 };
const LAVAPIPE = { maxBufferSize: 4 * 1024 ** 3, maxStorageBufferBindingSize: 128 * 1024 ** 2 };
const GB8 = 8e9;
const S = 30;
const LONGEST = 30_000;   // 3L at the default minSegmentLength (10 s)

describe('planDeviceWindows', () => {
  it('fits 1536 channels (one window of the longest segment) within 8 GB, in channel groups that fit one binding', () => {
    const p = planDeviceWindows(1536, S, LONGEST, HW, GB8);
    expect(p.windows).toBe(1);
    expect(p.bytesPerWindow + DEVICE_RESERVE_BYTES).toBeLessThanOrEqual(GB8);
    expect(p.groupChannels * LONGEST * S * 4).toBeLessThanOrEqual(HW.maxStorageBufferBindingSize);
    expect(p.groups).toBe(Math.ceil(1536 / p.groupChannels));
    expect(p.groups).toBeGreaterThan(1);
  });

  it('puts several 384-channel windows in flight, capped, and fewer under a smaller budget', () => {
    expect(planDeviceWindows(384, S, LONGEST, HW, GB8).windows).toBe(MAX_DEVICE_WINDOWS);
    const p = planDeviceWindows(384, S, LONGEST, HW, 3.5e9);
    expect(p.windows).toBe(Math.floor((3.5e9 - DEVICE_RESERVE_BYTES) / p.bytesPerWindow));
    expect(p.windows).toBe(1);
    expect(planDeviceWindows(384, S, LONGEST, LAVAPIPE, GB8).groups).toBe(Math.ceil(384 / Math.floor(LAVAPIPE.maxStorageBufferBindingSize / (LONGEST * S * 4))));
  });

  it('names gpuMemoryLimit and the bytes needed when one window does not fit', () => {
    expect(() => planDeviceWindows(1536, S, LONGEST, HW, 4e9)).toThrow(/gpuMemoryLimit 4000000000 bytes cannot hold one segment window.*raise gpuMemoryLimit to at least \d+/);
  });

  it('refuses limits that cannot hold one channel row or the minima', () => {
    expect(() => planDeviceWindows(4, S, LONGEST, { maxBufferSize: 1 << 20, maxStorageBufferBindingSize: 1 << 20 }, GB8)).toThrow(/storage binding limit/);
    expect(() => planDeviceWindows(1536, S, LONGEST, LAVAPIPE, 64e9)).toThrow(/minima of 1536 channels/);
  });

  it('the default gpuMemoryLimit is 8 GiB (from the parameter table)', () => {
    expect(sortDefaults().gpuMemoryLimit).toBe(8 * 1024 ** 3);
    expect((SORT_DEFAULTS as Record<string, unknown>).gpuMemoryLimit).toBe(8 * 1024 ** 3);
  });
});
