// Subtraction (spec §7.11-7.12) on a device-resident window: the mean window of each affected
// channel is subtracted at every spike. Windows of nearby spikes overlap, so each sample is
// owned by the first spike whose window covers it; that invocation subtracts the means of
// every spike covering the sample in ascending spike order, as the TypeScript twin does
// (same f32 operations in the same order: the same bits).

struct Params {
  n: u32,
  pairs: u32,      // affected channels in this group
  S: u32,
  row_len: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<storage, read> spikes: array<i32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;    // (a, c - c0)
@group(0) @binding(3) var<storage, read> means: array<f32>;    // A x 4S
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn subtract(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 64u + gid.x;
  let W4 = 4u * p.S;
  if (g >= p.pairs * p.n * W4) {
    return;
  }
  let q = g % W4;
  let i = (g / W4) % p.n;
  let j = g / (W4 * p.n);
  let half = 2 * i32(p.S);
  let t = spikes[i] - half + i32(q);
  if (i > 0u && spikes[i - 1u] + half > t) {
    return;   // an earlier spike's window covers t: that invocation owns it
  }
  let a = pairs[2u * j];
  let idx = pairs[2u * j + 1u] * p.row_len + u32(t);
  var v = data[idx];
  for (var k = i; k < p.n; k++) {
    let w0 = spikes[k] - half;
    if (w0 > t) {
      break;
    }
    v = v - means[a * W4 + u32(t - w0)];
  }
  data[idx] = v;
}
