// The narrow view of a sorting result that the exporters and the report need. SortedRecording
// satisfies it; tests and other tools can pass any object with these members.

export interface SortingResultLike {
  /** Cluster ids, in ascending order. Ids for which validClusterId() is false are skipped. */
  clusterIds(): number[];
  /** Ascending spike times (samples, recordingOffset included) of one cluster, all segments. */
  spikes(id: number): Float64Array;
  /** One amplitude vector (C positive values) per segment where the cluster has a unit (every segment of a §10 chain). */
  amplitudeVectors(id: number): Float32Array[];
  /** The segment of each of amplitudeVectors(id) (tracks may skip segments); absent: one per segment in order. */
  segmentsOf?(id: number): number[];
  /** [start, end) of every segment in samples (recordingOffset included); they tile the result. */
  segmentBoundaries(): [number, number][];
  validClusterId?(id: number): boolean;
  readonly probeGeometry: number[][];
  readonly samplingFrequency: number;
}

/** The segment index of each of result.amplitudeVectors(id) (`count` of them). */
export function vectorSegments(result: SortingResultLike, id: number, count: number): number[] {
  return result.segmentsOf ? result.segmentsOf(id) : Array.from({ length: count }, (_, s) => s);
}

/** Cluster ids that are valid (whole chain), ascending. */
export function validIds(result: SortingResultLike): number[] {
  const ids = result.clusterIds().filter((id) => (result.validClusterId ? result.validClusterId(id) : true));
  return ids.sort((a, b) => a - b);
}

/** Every spike of `ids` in time order (ties keep unit order, so files are deterministic). */
export interface SpikesInTimeOrder {
  /** Spike times, in the result's own order (unit by unit). */
  times: Float64Array;
  /** Index into `ids` of each spike's unit, same order as `times`. */
  unitOf: Int32Array;
  /** Indices into `times`/`unitOf`, ascending by time then unit. */
  order: Uint32Array;
}

export function spikesInTimeOrder(result: SortingResultLike, ids: readonly number[]): SpikesInTimeOrder {
  const trains = ids.map((id) => result.spikes(id));
  let total = 0;
  for (const t of trains) total += t.length;
  const times = new Float64Array(total);
  const unitOf = new Int32Array(total);
  let k = 0;
  trains.forEach((train, u) => {
    times.set(train, k);
    unitOf.fill(u, k, k + train.length);
    k += train.length;
  });
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => times[a] - times[b] || unitOf[a] - unitOf[b]);
  return { times, unitOf, order };
}

/**
 * Index of the segment holding sample time `t`, by binary search over the boundaries.
 * Times before the first segment map to 0 and after the last to the last segment, so a
 * spike on the closing boundary still gets a segment.
 */
export function segmentIndexOf(boundaries: readonly [number, number][], t: number): number {
  let lo = 0;
  let hi = boundaries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (boundaries[mid][0] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Channel with the largest mean amplitude over the cluster's segments. */
export function bestChannel(amplitudes: readonly Float32Array[]): number {
  if (amplitudes.length === 0) return 0;
  const c = amplitudes[0].length;
  let best = 0;
  let bestVal = -Infinity;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (const a of amplitudes) s += a[ch];
    if (s > bestVal) {
      bestVal = s;
      best = ch;
    }
  }
  return best;
}

/** Mean of the amplitude vectors over segments (C values). */
export function meanAmplitude(amplitudes: readonly Float32Array[], numChannels: number): Float32Array {
  const out = new Float32Array(numChannels);
  if (amplitudes.length === 0) return out;
  for (const a of amplitudes) for (let c = 0; c < numChannels; c++) out[c] += a[c];
  for (let c = 0; c < numChannels; c++) out[c] /= amplitudes.length;
  return out;
}
