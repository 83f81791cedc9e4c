// Shared snippet (included once by channel_scores.wgsl and score_delta.wgsl): the sum of one
// f32 per invocation of a 64-wide workgroup, as a tree (pairs 32 apart, then 16, ... 1), the
// same order in every including shader. Call it from uniform control flow (it has barriers);
// every invocation gets the total.
var<workgroup> part: array<f32, 64>;

fn workgroup_sum(lid: u32, acc: f32) -> f32 {
  part[lid] = acc;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) {
      part[lid] += part[lid + w];
    }
    workgroupBarrier();
  }
  return part[0];
}
