// Shared snippet: ordered compaction of one minima row in one workgroup of 256 invocations.
// The ms blocks m in 2..M-3 for which keep(m) holds are written in ascending order, as
// segment-local samples m*S + min_pos[o + m], to out[1..]; their count goes to out[0]. Each
// invocation takes a contiguous run of m, so a prefix sum over the 256 counts puts the output
// in order without a sort or atomics. The including shader defines `fn keep(m: u32) -> bool`
// and declares `out: array<i32>` (read_write) and `min_pos: array<i32>`.
const SELECT_WG: u32 = 256u;
var<workgroup> select_counts: array<u32, 256>;

fn select_ordered(lid: u32, M: u32, S: u32, o: u32) {
  var first = 2u;
  var n = 0u;
  if (M >= 5u) {
    n = M - 4u;   // m = 2 .. M-3
  }
  let per = (n + SELECT_WG - 1u) / SELECT_WG;
  let a = first + lid * per;
  let b = min(a + per, first + n);
  var c = 0u;
  for (var m = a; m < b; m++) {
    if (keep(m)) {
      c++;
    }
  }
  select_counts[lid] = c;
  workgroupBarrier();
  if (lid == 0u) {
    var acc = 0u;
    for (var i = 0u; i < SELECT_WG; i++) {
      let t = select_counts[i];
      select_counts[i] = acc;
      acc += t;
    }
    out[0] = i32(acc);
  }
  workgroupBarrier();
  var w = select_counts[lid] + 1u;
  for (var m = a; m < b; m++) {
    if (keep(m)) {
      out[w] = i32(m * S) + min_pos[o + m];
      w++;
    }
  }
}
