// Shared snippet: Neumaier's compensated summation in f32; acc = (sum, compensation). The
// result acc.x + acc.y is close to the float64 sum the TypeScript twins take.
fn csum_add(acc: vec2<f32>, x: f32) -> vec2<f32> {
  let t = acc.x + x;
  var c = acc.y;
  if (abs(acc.x) >= abs(x)) {
    c += (acc.x - t) + x;
  } else {
    c += (x - t) + acc.x;
  }
  return vec2<f32>(t, c);
}

// Two compensated sums merged into one.
fn csum_merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let t = csum_add(a, b.x);
  return vec2<f32>(t.x, t.y + b.y);
}
