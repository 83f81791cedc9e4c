// Waveform gathering (spec §7.4): for spike i at segment-local sample s and neighbour k, the
// window [s - S, s + S) of that channel, concatenated channel by channel:
// out[i * (K * 2S) + k * 2S + t].
// The host stages, per (spike, channel), the three ms blocks m-1, m, m+1 (m = s / S) that
// contain the window, because the filtered buffer lives in host memory (the CPU subtracts
// spikes from it between calls); the window starts at offset s % S of that triplet.

struct Params {
  spikes: u32,
  channels: u32,          // K
  samples_per_ms: u32,    // S
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> triplets: array<f32>;   // (spikes * K) x 3S
@group(0) @binding(1) var<storage, read> offsets: array<u32>;    // spikes: s % S
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // (spikes * K) x 2S
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn gather_waveforms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.y * nwg.x * 64u + gid.x;
  let W = 2u * p.samples_per_ms;
  if (j >= p.spikes * p.channels * W) {
    return;
  }
  let row = j / W;            // spike * K + k
  let t = j - row * W;
  let i = row / p.channels;
  out[j] = triplets[row * 3u * p.samples_per_ms + offsets[i] + t];
}
