// Mean windows (spec §7.11): for each affected channel of one channel group, the mean over
// the spikes of the window [s - 2S, s + 2S), read before any subtraction:
// out[a * 4S + q]. Compensated f32 sums in spike order stand in for the twin's float64 sums.

struct Params {
  n: u32,
  pairs: u32,      // affected channels in this group
  S: u32,
  row_len: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> spikes: array<i32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;    // (a, c - c0) per affected channel of the group
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//! include compensated_sum.wgsl

@compute @workgroup_size(64)
fn mean_windows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 64u + gid.x;
  let W4 = 4u * p.S;
  if (g >= p.pairs * W4) {
    return;
  }
  let q = g % W4;
  let j = g / W4;
  let a = pairs[2u * j];
  let o = pairs[2u * j + 1u] * p.row_len + q;
  var acc = vec2<f32>(0.0, 0.0);
  for (var i = 0u; i < p.n; i++) {
    acc = csum_add(acc, data[o + u32(spikes[i] - 2 * i32(p.S))]);
  }
  out[a * W4 + q] = (acc.x + acc.y) / f32(p.n);
}
