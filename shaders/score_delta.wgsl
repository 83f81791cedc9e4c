// Score update after a subtraction (spec §7.12): one workgroup per affected channel of one
// group sums that channel's block deltas from rescan.wgsl; out[a] is added to the host's
// float64 score.

struct Params {
  n5: u32,         // deltas per channel (5 per spike)
  pairs: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> deltas: array<f32>;
@group(0) @binding(1) var<storage, read> slots: array<u32>;    // a per affected channel of the group
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include tree_sum.wgsl

@compute @workgroup_size(64)
fn score_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let j = wid.y * nwg.x + wid.x;
  if (j >= p.pairs) {
    return;
  }
  var acc = 0.0;
  for (var k = lid; k < p.n5; k += 64u) {
    acc += deltas[j * p.n5 + k];
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    out[slots[j]] = total;
  }
}
