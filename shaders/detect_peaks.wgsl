// Peak detection (spec §7.2) on one channel's per-ms minima, read from the segment's
// device-resident minima (channel-major, row c at c*cap): the peaks m in 2..M-3, ascending,
// as segment-local samples m*S + min_pos[m] (out[0] = count, out[1..] = samples).

struct Params {
  M: u32,
  S: u32,
  cap: u32,        // row stride of the minima (the window's capacity in ms)
  channel: u32,
  h: f32,          // threshold
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> min_val: array<f32>;
@group(0) @binding(1) var<storage, read> min_pos: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include peak_rule.wgsl
//! include ordered_select.wgsl

fn keep(m: u32) -> bool {
  return is_peak(p.channel * p.cap, m, p.h);
}

@compute @workgroup_size(256)
fn detect_peaks(@builtin(local_invocation_index) lid: u32) {
  select_ordered(lid, p.M, p.S, p.channel * p.cap);
}
