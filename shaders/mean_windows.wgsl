// Mean windows (spec §7.11): for each affected channel of one channel group, the mean over
// the spikes of the window [s - 2S, s + 2S), read before any subtraction:
// out[a * 4S + q]. One workgroup per (channel, q): its 64 invocations take every 64th spike,
// then their compensated f32 partial sums are merged in a tree (stand-in for the twin's
// float64 sums; a unit has up to thousands of spikes, so a loop over all of them per output
// value would leave the GPU mostly idle).

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

var<workgroup> part: array<vec2<f32>, 64>;

@compute @workgroup_size(64)
fn mean_windows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let W4 = 4u * p.S;
  if (g >= p.pairs * W4) {
    return;   // whole workgroup leaves together
  }
  let q = g % W4;
  let j = g / W4;
  let a = pairs[2u * j];
  let o = pairs[2u * j + 1u] * p.row_len + q;
  var acc = vec2<f32>(0.0, 0.0);
  for (var i = lid; i < p.n; i += 64u) {
    acc = csum_add(acc, data[o + u32(spikes[i] - 2 * i32(p.S))]);
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) {
      part[lid] = csum_merge(part[lid], part[lid + w]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[a * W4 + q] = (part[0].x + part[0].y) / f32(p.n);
  }
}
