// Amplitude vectors (spec §7.10): per channel, the mean over the spikes of the minimum at
// each spike's ms block, from the segment's device-resident minima. Compensated (Neumaier)
// f32 summation in spike order stands in for the twin's float64 sum.

struct Params {
  n: u32,
  cap: u32,
  C: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> min_val: array<f32>;
@group(0) @binding(1) var<storage, read> spike_ms: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include compensated_sum.wgsl

@compute @workgroup_size(64)
fn mean_minima(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.y * nwg.x * 64u + gid.x;
  if (c >= p.C) {
    return;
  }
  var acc = vec2<f32>(0.0, 0.0);
  let o = c * p.cap;
  for (var i = 0u; i < p.n; i++) {
    acc = csum_add(acc, min_val[o + u32(spike_ms[i])]);
  }
  out[c] = (acc.x + acc.y) / f32(p.n);
}
