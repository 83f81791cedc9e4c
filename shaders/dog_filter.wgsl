// Difference-of-Gaussians filter with detection polarity (spec §3), written straight into the
// layout of its destination: output sample t of channel c goes to
//   out[out_base + (c - c0) * ch_stride + m * ms_stride + (t - m * S)],  m = t / S,
// which is the (ms, channel, S) layout of a host window (ch_stride = S, ms_stride = C * S) or
// the channel-major rows of a device-resident window's channel group (ch_stride = row length,
// ms_stride = S). A dispatch filters channels c0 .. c0 + c_count - 1.
//
// The DoG is applied as one symmetric FIR of 8w+1 taps (closed form of G_w/(2w+1)^4 -
// G_n/(2n+1)^4, computed in float64 on the host and multiplied by the polarity). For accuracy in
// f32 each output works on differences to its centre sample: the taps sum to zero, so
//   y[t] = sum_j h[j] * ((x[t+j] - x[t]) + (x[t-j] - x[t]))
// is the same value, but rounding now scales with the local signal swing, not with its DC level.
//
// One workgroup filters TILE consecutive output samples of one channel: it stages
// TILE + 8w raw samples (the 4w halo on each side) in workgroup memory, then each invocation
// computes PER_THREAD outputs.

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;
const TILE: u32 = 1024u;       // WG * PER_THREAD
const MAX_HALO2: u32 = 1024u;  // 8w upper bound (w <= 128, i.e. fs < 608 kHz); the host checks

struct Params {
  channels: u32,          // C
  samples_per_ms: u32,    // S
  out_samples: u32,       // output samples in this chunk (numMs * S)
  halo: u32,              // 4w; raw row r of the chunk is output sample r - halo
  mode: u32,              // raw encoding: 0 int16, 1 uint16, 2 int8, 3 uint8, 4 float32
  tiles_per_channel: u32,
  c0: u32,                // first channel of this dispatch
  c_count: u32,           // channels of this dispatch
  ch_stride: u32,
  ms_stride: u32,
  out_base: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> raw: array<u32>;
// taps[j] = h[4w + j] for j = 0..4w (the kernel is symmetric; taps[0] is not needed).
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> tile: array<f32, 2048>;  // TILE + MAX_HALO2

// Raw sample number `idx` (sample-major: row * C + channel) of the chunk, as f32.
fn load_raw(idx: u32) -> f32 {
  switch p.mode {
    case 0u: {
      let half = (raw[idx >> 1u] >> ((idx & 1u) * 16u)) & 0xffffu;
      return f32(i32(half << 16u) >> 16u);
    }
    case 1u: {
      return f32((raw[idx >> 1u] >> ((idx & 1u) * 16u)) & 0xffffu);
    }
    case 2u: {
      let b = (raw[idx >> 2u] >> ((idx & 3u) * 8u)) & 0xffu;
      return f32(i32(b << 24u) >> 24u);
    }
    case 3u: {
      return f32((raw[idx >> 2u] >> ((idx & 3u) * 8u)) & 0xffu);
    }
    default: {
      return bitcast<f32>(raw[idx]);
    }
  }
}

@compute @workgroup_size(256)
fn dog_filter(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= p.c_count * p.tiles_per_channel) {
    return;  // whole workgroup leaves together (padding of a 2-D dispatch)
  }
  // Channel varies fastest between neighbouring workgroups, so concurrent workgroups read
  // neighbouring bytes of the same sample-major rows.
  let cr = group % p.c_count;
  let c = p.c0 + cr;
  let t0 = (group / p.c_count) * TILE;
  let raw_rows = p.out_samples + 2u * p.halo;
  let span = TILE + 2u * p.halo;
  for (var i = lid; i < span; i += WG) {
    let r = t0 + i;
    var v = 0.0;
    if (r < raw_rows) {
      v = load_raw(r * p.channels + c);
    }
    tile[i] = v;
  }
  workgroupBarrier();
  let S = p.samples_per_ms;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = lid + k * WG;
    let t = t0 + i;
    if (t < p.out_samples) {
      let ci = i + p.halo;
      let centre = tile[ci];
      var acc = 0.0;
      for (var j = 1u; j <= p.halo; j++) {
        acc += taps[j] * ((tile[ci + j] - centre) + (tile[ci - j] - centre));
      }
      let m = t / S;
      out[p.out_base + cr * p.ch_stride + m * p.ms_stride + (t - m * S)] = acc;
    }
  }
}
