// Shared snippet (included once by detect_peaks.wgsl and template_match.wgsl; the TypeScript
// twin is isPeak in stages/sort/kernels.ts): the peak rule of spec §7.2 at ms m of the minima
// row that starts at index o, 2 <= m <= M-3:
//   min_val[m] < h, and (min_pos[m-1] <= min_pos[m] or min_val[m-1] > min_val[m]),
//   and (min_pos[m] <= min_pos[m+1] or min_val[m] <= min_val[m+1]).
// The including shader declares the storage bindings `min_val: array<f32>` and
// `min_pos: array<i32>` (the segment's minima, channel-major).
fn is_peak(o: u32, m: u32, h: f32) -> bool {
  let v = min_val[o + m];
  return v < h
    && (min_pos[o + m - 1u] <= min_pos[o + m] || min_val[o + m - 1u] > v)
    && (min_pos[o + m] <= min_pos[o + m + 1u] || v <= min_val[o + m + 1u]);
}
