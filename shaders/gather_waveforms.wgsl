// Waveform gathering (spec §7.4) from a device-resident window: for spike i at segment-local
// sample s and neighbour k, the window [s - S, s + S) of that channel, concatenated channel
// by channel: out[(i * K + k) * 2S + t]. The window's filtered data is channel-major in
// groups of channels (one buffer per group, row c - c0 at (c - c0) * row_len); one dispatch
// serves the neighbours that live in one group, listed as (k, c - c0) pairs.

struct Params {
  n: u32,          // spikes
  pairs: u32,      // neighbours in this group
  K: u32,          // neighbours in all
  S: u32,
  row_len: u32,    // samples per channel row of the group buffer
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> samples: array<i32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;     // (k, c - c0) per neighbour of the group
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn gather_waveforms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 64u + gid.x;
  let W = 2u * p.S;
  if (g >= p.n * p.pairs * W) {
    return;
  }
  let t = g % W;
  let j = (g / W) % p.pairs;
  let i = g / (W * p.pairs);
  let k = pairs[2u * j];
  let row = pairs[2u * j + 1u];
  let s = u32(samples[i] - i32(p.S)) + t;
  out[(i * p.K + k) * W + t] = data[row * p.row_len + s];
}
