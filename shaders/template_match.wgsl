// Template-matching feature test (spec §7.7). Candidates are the local minima of the target
// channel with threshold 0 (the rule of detect_peaks.wgsl with h = 0). A candidate at ms m is
// kept when feature . f > (f . f) / 2, where feature[k] = min_val of neighbour k at m and f is
// the per-channel minimum of the template. Dot products run in f32 in channel order, as the
// TypeScript twin does. Output: bit mask as in detect_peaks.wgsl.

struct Params {
  count: u32,       // M
  channels: u32,    // neighbours (rows of `rows`)
  half_ff: f32,     // (f . f) / 2, computed on the host in the same f32 order
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> rows: array<f32>;          // channels x M minima
@group(0) @binding(1) var<storage, read> target_val: array<f32>;    // M
@group(0) @binding(2) var<storage, read> target_pos: array<i32>;    // M
@group(0) @binding(3) var<storage, read> f: array<f32>;             // channels
@group(0) @binding(4) var<storage, read_write> bits: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64)
fn template_match(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let m = gid.y * nwg.x * 64u + gid.x;
  if (m < 2u || m + 3u > p.count) {
    return;
  }
  let v = target_val[m];
  if (!(v < 0.0
      && (target_pos[m - 1u] <= target_pos[m] || target_val[m - 1u] > v)
      && (target_pos[m] <= target_pos[m + 1u] || v <= target_val[m + 1u]))) {
    return;
  }
  var dot = 0.0;
  for (var k = 0u; k < p.channels; k++) {
    dot += rows[k * p.count + m] * f[k];
  }
  if (dot > p.half_ff) {
    atomicOr(&bits[m >> 5u], 1u << (m & 31u));
  }
}
