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

/** Neighbourhood of every channel: result[c] lists min(5, C) channel indices. */
export function computeNeighbourhoods(geometry: Float32Array, size = NEIGHBOURHOOD_SIZE): Int32Array[] {
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
    out.push(nb);
  }
  return out;
}
