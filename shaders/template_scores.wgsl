// Recovery template scores (beyond the reference, mode 'improved'): for K templates over the
// ms blocks of a window's minima, score[k * M + m] = sum_j w[k * J + j] * min_val[m * C + ch[k * J + j]],
// f32 products and sums with j ascending, as the TypeScript twin (kernels-cpu.ts templateScores)
// does. One invocation per (template, ms block).

struct Params {
  count: u32,      // M
  channels: u32,   // C
  per: u32,        // J, channels per template
  templates: u32,  // K
}

@group(0) @binding(0) var<storage, read> min_val: array<f32>;   // M x C, ms-major
@group(0) @binding(1) var<storage, read> ch: array<i32>;        // K x J
@group(0) @binding(2) var<storage, read> w: array<f32>;         // K x J
@group(0) @binding(3) var<storage, read_write> score: array<f32>; // K x M
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn template_scores(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= p.count * p.templates) {
    return;
  }
  let k = i / p.count;
  let m = i - k * p.count;
  let row = m * p.channels;
  var acc = 0.0;
  for (var j = 0u; j < p.per; j++) {
    acc = acc + w[k * p.per + j] * min_val[row + u32(ch[k * p.per + j])];
  }
  score[i] = acc;
}
