/**
 * Channel neighbourhoods (spec §7.3): the 5 sites nearest to each channel by float32
 * Euclidean distance in the probe plane, ties broken by channel index, so the channel itself
 * comes first unless another site has identical coordinates.
 */

export const NEIGHBOURHOOD_SIZE = 5;

/** float32 distance between sites a and b of geometry [x0, y0, x1, y1, ...]. */
export function siteDistance(geometry: Float32Array, a: number, b: number): number {
  const dx = Math.fround(geometry[2 * a] - geometry[2 * b]);
  const dy = Math.fround(geometry[2 * a + 1] - geometry[2 * b + 1]);
  return Math.fround(Math.sqrt(Math.fround(Math.fround(dx * dx) + Math.fround(dy * dy))));
}

/**
 * Neighbourhood of every channel: result[c] lists min(5, C) channel indices.
 *
 * `balanced` (mode 'improved', beyond §7.3): when the last distance that enters is shared by
 * more sites than there is room for (common on staggered probes such as Neuropixels 1.0), the
 * §7.3 rule takes the lowest indices, which all lie on one side of the target (a lopsided
 * neighbourhood). Balanced picks among those equidistant sites one at a time the one that
 * keeps the counts above and below the target most even, then left and right, then the lowest
 * index. The result is still ordered by (distance, index).
 */
export function computeNeighbourhoods(geometry: Float32Array, balanced = false, size = NEIGHBOURHOOD_SIZE): Int32Array[] {
  const C = geometry.length / 2;
  const k = Math.min(size, C);
  const dist = new Float32Array(C);
  const out: Int32Array[] = [];
  for (let t = 0; t < C; t++) {
    for (let c = 0; c < C; c++) {
      dist[c] = siteDistance(geometry, t, c);
    }
    // Partial selection of the k smallest (distance, index) pairs: k is tiny, C may be large.
    const nb = new Int32Array(k);
    let filled = 0;
    for (let c = 0; c < C; c++) {
      const dc = dist[c];
      if (filled === k && !(dc < dist[nb[k - 1]])) continue; // later index loses ties
      let pos = filled < k ? filled : k - 1;
      while (pos > 0 && dist[nb[pos - 1]] > dc) {
        nb[pos] = nb[pos - 1];
        pos--;
      }
      nb[pos] = c;
      if (filled < k) filled++;
    }
    if (balanced) balanceTies(geometry, t, dist, nb);
    out.push(nb);
  }
  return out;
}

/**
 * Replaces the sites of nb at its last distance by a balanced choice among every site at that
 * distance (see computeNeighbourhoods). nb is sorted by (distance, index) and stays so.
 */
function balanceTies(geometry: Float32Array, t: number, dist: Float32Array, nb: Int32Array): void {
  const k = nb.length;
  const cut = dist[nb[k - 1]];
  let first = k - 1;
  while (first > 0 && dist[nb[first - 1]] === cut) first--;
  const tied: number[] = [];
  for (let c = 0; c < dist.length; c++) if (dist[c] === cut) tied.push(c);
  if (tied.length <= k - first) return; // every equidistant site fits: no choice to make
  const tx = geometry[2 * t];
  const ty = geometry[2 * t + 1];
  const side = (c: number, axis: 0 | 1): number => Math.sign(geometry[2 * c + axis] - (axis === 0 ? tx : ty));
  let vertical = 0;
  let lateral = 0;
  for (let i = 0; i < first; i++) {
    if (nb[i] === t) continue;
    vertical += side(nb[i], 1);
    lateral += side(nb[i], 0);
  }
  const chosen: number[] = [];
  const left = tied.slice();
  for (let i = first; i < k; i++) {
    let best = 0;
    let bestKey = [Infinity, Infinity, Infinity];
    left.forEach((c, j) => {
      const key = [Math.abs(vertical + side(c, 1)), Math.abs(lateral + side(c, 0)), c];
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
        bestKey = key;
        best = j;
      }
    });
    const c = left.splice(best, 1)[0];
    vertical += side(c, 1);
    lateral += side(c, 0);
    chosen.push(c);
  }
  chosen.sort((a, b) => a - b);
  for (let i = first; i < k; i++) nb[i] = chosen[i - first];
}
