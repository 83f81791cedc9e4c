// Template-matching feature test (spec §7.7) on the segment's device-resident minima.
// Candidates are the local minima of the target channel with threshold 0 (the peak rule with
// h = 0); a candidate at ms m is kept when feature . f > (f . f) / 2, where feature[k] is the
// minimum of neighbour channels[k] at m and f the template's per-channel minimum. The dot
// product runs in f32 in channel order, as the TypeScript twin does. Output as detect_peaks.

struct Params {
  M: u32,
  S: u32,
  cap: u32,
  target_channel: u32,
  K: u32,
  half_ff: f32,    // (f . f) / 2, computed on the host in the same f32 order
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> min_val: array<f32>;
@group(0) @binding(1) var<storage, read> min_pos: array<i32>;
@group(0) @binding(2) var<storage, read> channels: array<u32>;
@group(0) @binding(3) var<storage, read> f: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<i32>;
@group(0) @binding(5) var<uniform> p: Params;

//! include peak_rule.wgsl
//! include ordered_select.wgsl

fn keep(m: u32) -> bool {
  if (!is_peak(p.target_channel * p.cap, m, 0.0)) {
    return false;
  }
  var dot = 0.0;
  for (var k = 0u; k < p.K; k++) {
    dot += min_val[channels[k] * p.cap + m] * f[k];
  }
  return dot > p.half_ff;
}

@compute @workgroup_size(256)
fn template_match(@builtin(local_invocation_index) lid: u32) {
  select_ordered(lid, p.M, p.S, p.target_channel * p.cap);
}
