// Channel scores (spec §7.1) on the segment's device-resident minima: one workgroup per
// channel sums min(0, min_val[c, m] - thr[c]) over m < M (f32 terms as the TypeScript twin;
// the sum is a tree in f32, the twin's is float64: they differ in the last bits only).

struct Params {
  M: u32,
  cap: u32,
  C: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> min_val: array<f32>;
@group(0) @binding(1) var<storage, read> thr: array<f32>;
@group(0) @binding(2) var<storage, read_write> score: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include tree_sum.wgsl

@compute @workgroup_size(64)
fn channel_scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let c = wid.y * nwg.x + wid.x;
  if (c >= p.C) {
    return;   // whole workgroup leaves together
  }
  let t = thr[c];
  let o = c * p.cap;
  var acc = 0.0;
  for (var m = lid; m < p.M; m += 64u) {
    let e = min_val[o + m] - t;
    if (e < 0.0) {
      acc += e;
    }
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    score[c] = total;
  }
}
