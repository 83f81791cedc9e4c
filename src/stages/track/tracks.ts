/**
 * Tracks (beyond §10): every unit of every segment belongs to a track. Segments are taken in
 * time order; each segment's units are matched to the tracks seen so far in stages:
 *  1. tracks seen in the previous segment, by the §10 drift-searched assignment (maxDrift);
 *  2. then, for g = 1 .. maxSkippedSegments, tracks last seen g + 1 segments ago (they skipped
 *     g segments) against the units still free, searching (g + 1) x maxDrift, since drift adds
 *     up over the gap.
 * An assigned pair is a link only when it is plausible (linkPlausible): the units' positions
 * (amplitude-weighted centroids) differ by no more than the drift allowed for the gap, and
 * their shifted amplitude vectors differ by no more than LINK_RELATIVE_DISTANCE of the larger
 * one. Units left free start new tracks; a track not seen for more than maxSkippedSegments
 * segments has ended. Track ids are given in order of creation (segment, then unit index),
 * and the decision for a segment depends only on the segments before it, so tracking the
 * concatenation of two results reproduces the first one's ids.
 *
 * Cost: per segment, one assignment per stage (the §10 cost: units² x C per drift step).
 */
import { applyShiftPlan, cachedShiftPlan } from './drift.js';
import { assignClustersDetailed, DRIFT_STEP_UM } from './assignment.js';

/**
 * Largest relative difference between the shifted amplitude vectors of a link, over the
 * channels where either unit is large (see linkPlausible). Measured on ground truth
 * (bench/QUALITY.md): correct links stay far below it, links between unrelated units do not.
 */
export const LINK_RELATIVE_DISTANCE = 0.5;
/** Tolerance (µm) of the centroid comparison: a centroid's position is uncertain by about a site pitch. */
export const LINK_POSITION_TOLERANCE_UM = 20;
/** Channels within this distance (µm) of a unit's best site enter its centroid. */
const CENTROID_RADIUS_UM = 60;
/**
 * A track is listed (an id) when it has units in at least this many segments (or in every
 * segment of a shorter result). Measured on ground truth (bench/QUALITY.md): tracks seen in one
 * segment only are mostly noise or fragments (the false-positive ids), and the reference lists
 * none of them either unless the recording is one segment.
 */
export const MIN_TRACK_SEGMENTS = 2;
/** Channels where either unit has at least this fraction of the larger peak enter the comparison. */
const SUPPORT_FRACTION = 0.2;

export interface TrackOptions {
  /** µm, a multiple of 5 (already rounded). */
  maxDrift: number;
  /** A track keeps its id across at most this many consecutive segments without a unit. */
  maxSkippedSegments: number;
}

export interface TrackResult {
  /** Per segment, per unit: track id (>= 0), or -1 when its track is not listed (MIN_TRACK_SEGMENTS). */
  tracks: Int32Array[];
  /** Per pair of consecutive segments: for each unit of segment i, the unit of segment i+1 in the same track, or -1. */
  links: Int32Array[];
  /** Assignment pairs refused as implausible (per reason), for the bench. */
  refused: { position: number; amplitude: number };
}

/** A unit's amplitude vector minus its noise floor (the median over channels), clipped at 0. */
export function aboveFloor(v: Float32Array): Float32Array {
  const sorted = Float32Array.from(v).sort();
  const n = sorted.length;
  const median = n % 2 ? sorted[n >> 1] : 0.5 * (sorted[(n >> 1) - 1] + sorted[n >> 1]);
  const out = new Float32Array(n);
  for (let c = 0; c < n; c++) out[c] = Math.max(0, v[c] - median);
  return out;
}

/** Amplitude-weighted centroid [x, y] (µm) of a floor-removed vector around its best site. */
export function centroid(a: Float32Array, geometry: Float32Array): [number, number] {
  let best = 0;
  for (let c = 1; c < a.length; c++) if (a[c] > a[best]) best = c;
  const bx = geometry[2 * best];
  const by = geometry[2 * best + 1];
  let sw = 0, sx = 0, sy = 0;
  for (let c = 0; c < a.length; c++) {
    const w = a[c];
    if (w <= 0) continue;
    const dx = geometry[2 * c] - bx;
    const dy = geometry[2 * c + 1] - by;
    if (dx * dx + dy * dy > CENTROID_RADIUS_UM * CENTROID_RADIUS_UM) continue;
    sw += w;
    sx += w * geometry[2 * c];
    sy += w * geometry[2 * c + 1];
  }
  return sw > 0 ? [sx / sw, sy / sw] : [bx, by];
}

/**
 * Relative difference of two (shifted, floor-removed) amplitude vectors over the channels where
 * either reaches SUPPORT_FRACTION of the larger peak: |a - b| / max(|a|, |b|) there.
 * On the whole probe the many channels without signal would dilute any difference.
 */
export function relativeDistance(a: Float32Array, b: Float32Array): number {
  let peak = 0;
  for (let c = 0; c < a.length; c++) peak = Math.max(peak, a[c], b[c]);
  if (!(peak > 0)) return Infinity;
  const cut = SUPPORT_FRACTION * peak;
  let d2 = 0, na = 0, nb = 0;
  for (let c = 0; c < a.length; c++) {
    if (a[c] < cut && b[c] < cut) continue;
    const d = a[c] - b[c];
    d2 += d * d;
    na += a[c] * a[c];
    nb += b[c] * b[c];
  }
  return Math.sqrt(d2) / Math.sqrt(Math.max(na, nb));
}

/**
 * Whether an assigned pair may be a link: `a`, `b` floor-removed amplitude vectors of the two
 * units, `sa`, `sb` the same shifted by the assignment's winning drift (±s/2), `allowedUm` the
 * drift allowed for the gap between them. Returns null when plausible, else the reason.
 */
export function linkPlausible(
  a: Float32Array, b: Float32Array, sa: Float32Array, sb: Float32Array, geometry: Float32Array, allowedUm: number,
): 'position' | 'amplitude' | null {
  const [ax, ay] = centroid(a, geometry);
  const [bx, by] = centroid(b, geometry);
  if (Math.abs(by - ay) > allowedUm + LINK_POSITION_TOLERANCE_UM || Math.abs(bx - ax) > LINK_POSITION_TOLERANCE_UM) return 'position';
  if (relativeDistance(sa, sb) > LINK_RELATIVE_DISTANCE) return 'amplitude';
  return null;
}

interface Track {
  id: number;
  lastSegment: number;
  /** Floor-removed amplitude vector of its latest unit. */
  vector: Float32Array;
}

/** Stacks vectors row-major (k x C). */
function stack(vectors: Float32Array[], C: number): Float32Array {
  const out = new Float32Array(vectors.length * C);
  vectors.forEach((v, i) => out.set(v, i * C));
  return out;
}

/** Tracks over `segments` (their units' amplitude vectors, in time order). */
export function buildTracks(segments: readonly { amplitudes: readonly Float32Array[] }[], geometry: Float32Array, opts: TrackOptions): TrackResult {
  const C = geometry.length / 2;
  const K = opts.maxSkippedSegments;
  const D = opts.maxDrift;
  const tracks: Int32Array[] = [];
  const links: Int32Array[] = [];
  const refused = { position: 0, amplitude: 0 };
  let active: Track[] = [];
  let nextId = 0;
  segments.forEach((seg, s) => {
    const floors = seg.amplitudes.map((v) => aboveFloor(v));
    const k = floors.length;
    const label = new Int32Array(k).fill(-1);
    const free = new Uint8Array(k).fill(1);
    if (s > 0) links.push(new Int32Array(segments[s - 1].amplitudes.length).fill(-1));
    for (let g = 0; g <= K && s > 0; g++) {
      const cand = active.filter((t) => t.lastSegment === s - 1 - g);
      const units: number[] = [];
      for (let u = 0; u < k; u++) if (free[u]) units.push(u);
      if (cand.length === 0 || units.length === 0) continue;
      const allowed = D * (g + 1);
      const a1 = cand.map((t) => t.vector);
      const a2 = units.map((u) => floors[u]);
      const { mapping, shiftUm } = assignClustersDetailed(a1, a2, geometry, allowed);
      const S1 = applyShiftPlan(cachedShiftPlan(geometry, shiftUm / 2), stack(a1, C), a1.length);
      const S2 = applyShiftPlan(cachedShiftPlan(geometry, -shiftUm / 2), stack(a2, C), a2.length);
      for (let i = 0; i < cand.length; i++) {
        const j = mapping[i];
        if (j < 0) continue;
        const why = linkPlausible(a1[i], a2[j], S1.subarray(i * C, (i + 1) * C), S2.subarray(j * C, (j + 1) * C), geometry, allowed);
        if (why) {
          refused[why]++;
          continue;
        }
        const u = units[j];
        const t = cand[i];
        label[u] = t.id;
        free[u] = 0;
        if (g === 0) {
          // The track's unit in segment s - 1 continues into unit u.
          const prev = tracks[s - 1];
          for (let q = 0; q < prev.length; q++) if (prev[q] === t.id) links[s - 1][q] = u;
        }
        t.lastSegment = s;
        t.vector = floors[u];
      }
    }
    for (let u = 0; u < k; u++) {
      if (!free[u]) continue;
      const t: Track = { id: nextId++, lastSegment: s, vector: floors[u] };
      active.push(t);
      label[u] = t.id;
    }
    active = active.filter((t) => t.lastSegment >= s - K);
    tracks.push(label);
  });
  // Ids stay those of creation (so a result's ids do not depend on what follows it); tracks
  // with too little evidence are only hidden.
  const need = Math.min(MIN_TRACK_SEGMENTS, segments.length);
  const seen = new Int32Array(nextId);
  for (const t of tracks) for (let u = 0; u < t.length; u++) seen[t[u]]++;
  for (const t of tracks) for (let u = 0; u < t.length; u++) if (seen[t[u]] < need) t[u] = -1;
  return { tracks, links, refused };
}

export { DRIFT_STEP_UM };
