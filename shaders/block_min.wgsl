// Shared snippet (included once by ms_minima.wgsl, ms_minima_rows.wgsl and rescan.wgsl; the
// TypeScript twins are the minima loops of the CPU filter and kernels-cpu.ts): the minimum of
// one ms block, spec §4: the S samples data[o .. o+S), scanned upwards with a strict <, so the
// position is the first s attaining the minimum and a NaN never wins.
// The including shader declares the storage binding `data: array<f32>`.
struct BlockMin {
  v: f32,
  s: u32,
}

fn block_min(o: u32, S: u32) -> BlockMin {
  var r = BlockMin(data[o], 0u);
  for (var s = 1u; s < S; s++) {
    let v = data[o + s];
    if (v < r.v) {
      r = BlockMin(v, s);
    }
  }
  return r;
}
