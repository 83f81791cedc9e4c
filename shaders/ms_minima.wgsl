// Per-millisecond minima (spec §4) over filtered data in the (ms, channel, S) layout:
// min_val[m*C + c] = min_s y, min_pos = the first s attaining it (strict < while scanning up);
// first[m*C + c] = y at the block's first sample (what the thresholds of §5 read), so pass 1
// reads back minima and first samples only, never the filtered data.

struct Params {
  count: u32,            // ms blocks x channels in this chunk
  samples_per_ms: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read_write> min_val: array<f32>;
@group(0) @binding(2) var<storage, read_write> min_pos: array<i32>;
@group(0) @binding(3) var<storage, read_write> first: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//! include block_min.wgsl

@compute @workgroup_size(64)
fn ms_minima(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= p.count) {
    return;
  }
  let S = p.samples_per_ms;
  let o = i * S;
  let b = block_min(o, S);
  min_val[i] = b.v;
  min_pos[i] = i32(b.s);
  first[i] = data[o];
}
