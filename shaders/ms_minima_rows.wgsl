// Per-millisecond minima (spec §4) of a device-resident window: the group's filtered data is
// channel-major (row c - c0 at (c - c0) * row_len, ms m at m * S in it); the minima go to the
// window's channel-major minima, min_val[c * cap + m] (first s attaining the minimum).

struct Params {
  M: u32,          // ms blocks filled
  count: u32,      // channels in this group
  c0: u32,
  S: u32,
  row_len: u32,
  cap: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read_write> min_val: array<f32>;
@group(0) @binding(2) var<storage, read_write> min_pos: array<i32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include block_min.wgsl

@compute @workgroup_size(64)
fn ms_minima_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 64u + gid.x;
  if (g >= p.M * p.count) {
    return;
  }
  let m = g % p.M;
  let r = g / p.M;
  let o = r * p.row_len + m * p.S;
  let b = block_min(o, p.S);
  let at = (p.c0 + r) * p.cap + m;
  min_val[at] = b.v;
  min_pos[at] = i32(b.s);
}
