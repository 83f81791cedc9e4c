// Peak detection over one channel's per-ms minima (spec §7.2): ms block m in 2..M-3 is a peak
// when min_val[m] < h, and (min_pos[m-1] <= min_pos[m] or min_val[m-1] > min_val[m]), and
// (min_pos[m] <= min_pos[m+1] or min_val[m] <= min_val[m+1]).
// Output is a bit mask (bit m of word m/32), so the host reads peaks back in ascending order
// without a sort and the compaction needs no prefix sum.

struct Params {
  count: u32,       // M
  threshold: f32,   // h
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> min_val: array<f32>;
@group(0) @binding(1) var<storage, read> min_pos: array<i32>;
@group(0) @binding(2) var<storage, read_write> bits: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn detect_peaks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let m = gid.y * nwg.x * 64u + gid.x;
  if (m < 2u || m + 3u > p.count) {
    return;
  }
  let v = min_val[m];
  if (v < p.threshold
      && (min_pos[m - 1u] <= min_pos[m] || min_val[m - 1u] > v)
      && (min_pos[m] <= min_pos[m + 1u] || v <= min_val[m + 1u])) {
    atomicOr(&bits[m >> 5u], 1u << (m & 31u));
  }
}
