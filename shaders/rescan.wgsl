// Minima rescan after the subtraction (spec §7.12): for each affected channel of one group
// and each spike, ms blocks m-2 .. m+2 (m = s / S) get their minimum again from the
// subtracted data. A block touched by several spikes is owned by the first; its owner writes
// the new minimum and the change of the block's score term min(0, minVal - thr[c]) to
// deltas[(j * n + i) * 5 + d] (0 elsewhere), which score_delta.wgsl sums per channel.

struct Params {
  n: u32,
  pairs: u32,
  S: u32,
  row_len: u32,
  cap: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> spikes: array<i32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;    // (c - c0, c) per affected channel of the group
@group(0) @binding(3) var<storage, read> thr: array<f32>;
@group(0) @binding(4) var<storage, read_write> min_val: array<f32>;
@group(0) @binding(5) var<storage, read_write> min_pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> deltas: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

//! include block_min.wgsl

@compute @workgroup_size(64)
fn rescan(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 64u + gid.x;
  if (g >= p.pairs * p.n * 5u) {
    return;
  }
  let d = g % 5u;
  let i = (g / 5u) % p.n;
  let j = g / (5u * p.n);
  let m = u32(spikes[i]) / p.S;
  let b = m + d - 2u;
  var delta = 0.0;
  if (i == 0u || u32(spikes[i - 1u]) / p.S + 2u < b) {
    let c = pairs[2u * j + 1u];
    let o = pairs[2u * j] * p.row_len + b * p.S;
    let bm = block_min(o, p.S);
    let at = c * p.cap + b;
    let tc = thr[c];
    let old = min_val[at] - tc;
    let now = bm.v - tc;
    delta = min(now, 0.0) - min(old, 0.0);
    min_val[at] = bm.v;
    min_pos[at] = i32(bm.s);
  }
  deltas[g] = delta;
}
