/**
 * Tracks (beyond §10): every unit of every segment belongs to a track. Segments are taken in
 * time order; each segment's units are matched to the tracks seen so far in stages:
 *  1. tracks seen in the previous segment, by the §10 drift-searched assignment (maxDrift);
 *  2. then, for g = 1 .. min(maxSkippedSegments, ONLINE_MAX_GAP), tracks last seen g + 1
 *     segments ago (they skipped g segments) against the units still free, searching the
 *     drift the recording showed over the gap plus maxDrift, at most (g + 1) x maxDrift
 *     (measuredDrift); a pair of such a stage is left to a later one when a track that
 *     skipped more segments fits the unit better, and a clustered unit's pair is left when a
 *     pooled unit of the segment fits the track better (pooledFitsBetter);
 *  3. after all segments, pieces separated by longer gaps (up to maxSkippedSegments) are
 *     joined (joinPieces);
 *  4. listed tracks that are one unit and never share a segment (a rare unit's piece inside
 *     another piece's gap) are merged (mergeRedundant), and with splitPieces also two that
 *     share one segment where their units are the early and late pieces of one cluster.
 * A track takes part by the per-channel median of its latest TEMPLATE_UNITS units' vectors.
 * An assigned pair is a link only when it is plausible (linkPlausible): the units' positions
 * (amplitude-weighted centroids) differ by no more than the drift allowed for the gap, and
 * their shifted amplitude vectors differ by no more than LINK_RELATIVE_DISTANCE of the larger
 * one. Units left free start new tracks; a track not seen for more than maxSkippedSegments
 * segments has ended. Track ids are those of each track's first piece, given in order of
 * creation (segment, then unit index).
 *
 * Cost: per segment, one assignment per stage (the §10 cost: units² x C per drift step).
 */
import { applyShiftPlan, cachedShiftPlan } from './drift.js';
import { assignClustersDetailed, DRIFT_STEP_UM } from './assignment.js';
import { sameFootprint } from '../sort/burst-merge.js';
import { medianOf } from '../segment/thresholds.js';

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
 * A track is listed (an id) when one of its pieces (what the segment-by-segment pass links,
 * before pieces are joined across long gaps) has units in at least this many segments (or in
 * every segment of a shorter result). Measured on ground truth (bench/QUALITY.md): pieces seen
 * in one segment only are mostly noise or fragments (the false-positive ids), also when two of
 * them are joined; the reference lists none of them unless the recording is one segment.
 */
export const MIN_TRACK_SEGMENTS = 2;
/** Channels where either unit has at least this fraction of the larger peak enter the comparison. */
const SUPPORT_FRACTION = 0.2;

export interface TrackOptions {
  /** µm, a multiple of 5 (already rounded). */
  maxDrift: number;
  /** A track keeps its id across at most this many consecutive segments without a unit. */
  maxSkippedSegments: number;
  /** Merge listed tracks that share one segment where their units are pieces of one split cluster (see mergeRedundant); off: absent or false. */
  splitPieces?: boolean;
}

export interface TrackResult {
  /** Per segment, per unit: track id (>= 0), or -1 when its track is not listed (MIN_TRACK_SEGMENTS). */
  tracks: Int32Array[];
  /** Per pair of consecutive segments: for each unit of segment i, the unit of segment i+1 in the same track, or -1. */
  links: Int32Array[];
  /** Assignment pairs refused as implausible (per reason), for the bench. */
  refused: { position: number; amplitude: number };
  /**
   * Units that are a piece of another unit of their segment (splitPieces): not listed
   * (track -1); their spikes belong to unit `into` of the same segment.
   */
  absorbed: { segment: number; unit: number; into: number }[];
}

/** A unit's amplitude vector minus its noise floor (the median over channels), clipped at 0. */
export function aboveFloor(v: Float32Array): Float32Array {
  const n = v.length;
  const median = medianOf(v);
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
  if (positionRefused(centroid(a, geometry), centroid(b, geometry), allowedUm)) return 'position';
  if (relativeDistance(sa, sb) > LINK_RELATIVE_DISTANCE) return 'amplitude';
  return null;
}

/**
 * linkPlausible's position test on the two centroids (of the unshifted vectors): it does not
 * depend on the drift, so callers test it before a drift search they would otherwise discard.
 */
export function positionRefused([ax, ay]: [number, number], [bx, by]: [number, number], allowedUm: number): boolean {
  return Math.abs(by - ay) > allowedUm + LINK_POSITION_TOLERANCE_UM || Math.abs(bx - ax) > LINK_POSITION_TOLERANCE_UM;
}

/** One segment's units for tracking. */
export interface TrackInput {
  amplitudes: readonly Float32Array[];
  /** Units from this index on are pooled ones (pipeline/pool.ts), matched after the others. */
  firstPooled?: number;
  /** Spike times of each unit, ascending (splitPieces needs them; the larger piece keeps the id). */
  spikes?: readonly Float64Array[];
}

interface Track {
  id: number;
  lastSegment: number;
  /** What it is compared by: the per-channel median of `recent`. */
  vector: Float32Array;
  firstSegment: number;
  firstVector: Float32Array;
  /** Floor-removed vectors of its latest TEMPLATE_UNITS units (oldest first). */
  recent: Float32Array[];
}
/**
 * A track is compared by the per-channel median of its latest units' vectors: one odd unit
 * (a segment's cluster that mixed in another unit's spikes) then neither breaks the track nor
 * leads it to another unit. Measured (bench/QUALITY.md): 3 units, +0.24 summed mean accuracy
 * over the 14 improved sorts of the bench and +0.33 over 10 held-out sorts, against the latest
 * unit alone.
 */
export const TEMPLATE_UNITS = 3;
/** Per-channel median of equal-length vectors. */
function channelMedian(vs: Float32Array[]): Float32Array {
  const C = vs[0].length;
  const out = new Float32Array(C);
  const tmp = new Float32Array(vs.length);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < vs.length; i++) tmp[i] = vs[i][c];
    tmp.sort();
    const n = vs.length;
    out[c] = n % 2 ? tmp[n >> 1] : 0.5 * (tmp[(n >> 1) - 1] + tmp[n >> 1]);
  }
  return out;
}

/**
 * Joining track pieces (after the segment-by-segment pass): a unit that fires too rarely to be
 * clustered in most segments (e.g. 1 Hz in 5-s segments with minSpikesPerCluster 5) leaves
 * pieces separated by more than maxSkippedSegments. A piece that starts after another ends
 * continues it when the pair is plausible, the drift allowed growing with the gap up to
 * JOIN_MAX_DRIFT_STEPS x maxDrift (drift is bounded over long times: a probe settles, it does not
 * move maxDrift every segment) and at most the drift measured over the gap plus maxDrift
 * (measuredDrift), for gaps longer than ONLINE_MAX_GAP up to maxSkippedSegments
 * segments. Best pairs first.
 */
const JOIN_MAX_DRIFT_STEPS = 3;
/** The segment-by-segment pass tries gaps up to this many segments; longer ones (up to maxSkippedSegments) are joined after it. */
export const ONLINE_MAX_GAP = 3;

/** Stacks vectors row-major (k x C). */
function stack(vectors: Float32Array[], C: number): Float32Array {
  const out = new Float32Array(vectors.length * C);
  vectors.forEach((v, i) => out.set(v, i * C));
  return out;
}

/**
 * Whether an active track that skipped more than g segments before s (at most
 * min(K, ONLINE_MAX_GAP)) forms a plausible link with the floor-removed vector `v` whose
 * relative distance (after its own drift search) is below `d`, the candidate pair's.
 * Cost: active tracks x one drift-searched comparison, for assigned pairs of stages g >= 1 only.
 */
function olderFitsBetter(active: readonly Track[], s: number, g: number, K: number, v: Float32Array, d: number, geometry: Float32Array, D: number, drifted: Drifted): boolean {
  const cv = centroid(v, geometry);
  for (const t of active) {
    const gap = s - 1 - t.lastSegment;
    if (gap <= g || gap > Math.min(K, ONLINE_MAX_GAP)) continue;
    const allowed = drifted(t.lastSegment, s, D * (gap + 1));
    // linkPlausible refuses it by position whatever the drift (at 1536 channels the drift
    // searches of every active track took seconds).
    if (positionRefused(centroid(t.vector, geometry), cv, allowed)) continue;
    const { shiftUm } = assignClustersDetailed([t.vector], [v], geometry, allowed);
    const sa = applyShiftPlan(cachedShiftPlan(geometry, shiftUm / 2), t.vector, 1);
    const sb = applyShiftPlan(cachedShiftPlan(geometry, -shiftUm / 2), v, 1);
    if (!linkPlausible(t.vector, v, sa, sb, geometry, allowed) && relativeDistance(sa, sb) < d) return true;
  }
  return false;
}

/**
 * Whether one of the segment's pooled units (`pooled`, floor-removed) forms a plausible link
 * with the track vector `tv` (the drift allowed: `allowed`) at a smaller relative distance than
 * `d`, that of the clustered unit the stage assigned. Pooled units are matched after the
 * clustered ones, so that a unit clustered in its segment keeps its track; across a skipped
 * segment that order let a unit starting mid-recording 34 µm away (within maxDrift plus the
 * position tolerance) take a rare unit's track while the rare unit's own pooled unit sat at the
 * track's place in that segment (measured, bench/QUALITY.md: held-out lin32-300s-seed3 at
 * L 5 s, both units' ids lost).
 * Cost: pooled units of the segment x one drift-searched comparison, for assigned pairs of stages g >= 1 only.
 */
function pooledFitsBetter(tv: Float32Array, pooled: readonly Float32Array[], d: number, geometry: Float32Array, allowed: number): boolean {
  const ct = centroid(tv, geometry);
  for (const v of pooled) {
    if (positionRefused(ct, centroid(v, geometry), allowed)) continue;
    const { shiftUm } = assignClustersDetailed([tv], [v], geometry, allowed);
    const sa = applyShiftPlan(cachedShiftPlan(geometry, shiftUm / 2), tv, 1);
    const sb = applyShiftPlan(cachedShiftPlan(geometry, -shiftUm / 2), v, 1);
    if (!linkPlausible(tv, v, sa, sb, geometry, allowed) && relativeDistance(sa, sb) < d) return true;
  }
  return false;
}

/**
 * How far apart in time two spike trains of one segment fire: the rank-sum (Mann-Whitney) z
 * score of their times, positive when `b` fires later than `a`. Trains firing through the
 * segment alike give |z| of about 1 or less; the early and late pieces of one cluster large ones.
 * Both ascending. Cost: O(|a| + |b|).
 */
export function timeSeparation(a: Float64Array, b: Float64Array): number {
  const n1 = a.length, n2 = b.length;
  if (n1 === 0 || n2 === 0) return 0;
  // U: pairs (x in a, y in b) with x < y, ties counting half.
  let u = 0, i = 0;
  for (let k = 0; k < n2; k++) {
    const y = b[k];
    while (i < n1 && a[i] < y) i++;
    let e = i;
    while (e < n1 && a[e] === y) e++;
    u += i + 0.5 * (e - i);
  }
  return (u - (n1 * n2) / 2) / Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
}

/**
 * Two units of one segment are pieces of one cluster only when their times differ beyond
 * chance: |timeSeparation| at the two-sided 5% level of the normal approximation.
 */
export const PIECE_MIN_SEPARATION = 1.96;

/** The drift (µm) allowed for a link between segments `from` < `to`, at most `cap` (see measuredDrift). */
type Drifted = (from: number, to: number, cap: number) => number;

/**
 * The drift allowed for a link across a gap, from segment `from` to `to` (the drift search and
 * the position test): the net drift the recording showed over the gap plus one segment's
 * maxDrift `D`, at most `cap` (the allowance by gap length alone). `moved[j]` is the winning
 * shift of the assignment between the tracks of segment j-1 and the units of j (the §10 drift
 * search over all those units at once), NaN where none ran (counted as D). A probe that did
 * not move over a gap then allows D, not (gap + 1) x D: measured (bench/QUALITY.md), a rare
 * unit's track otherwise continued 70 µm away on a static probe, after a 2-segment gap, into a
 * cluster mixing it with another rare unit. On the bench's zigzag recordings the winning
 * shifts overstate the drift (5-15 µm between ~7-s segments for ~6 µm of drift), so the
 * allowance stays generous where the probe moves.
 */
export function measuredDrift(moved: Float64Array, from: number, to: number, D: number, cap: number): number {
  let net = 0, unknown = 0;
  for (let j = from + 1; j <= to; j++) {
    if (Number.isNaN(moved[j])) unknown++;
    else net += moved[j];
  }
  return Math.min(cap, Math.abs(net) + (unknown + 1) * D);
}

/** Tracks over `segments` (their units' amplitude vectors, in time order). */
export function buildTracks(segments: readonly TrackInput[], geometry: Float32Array, opts: TrackOptions): TrackResult {
  const C = geometry.length / 2;
  const K = opts.maxSkippedSegments;
  const D = opts.maxDrift;
  const tracks: Int32Array[] = [];
  const links: Int32Array[] = [];
  const refused = { position: 0, amplitude: 0 };
  let active: Track[] = [];
  const all: Track[] = [];
  let nextId = 0;
  // moved[s]: the drift between segments s-1 and s that their assignment measured (see drifted).
  const moved = new Float64Array(segments.length).fill(NaN);
  const drifted: Drifted = (from, to, cap) => measuredDrift(moved, from, to, D, cap);
  segments.forEach((seg, s) => {
    const floors = seg.amplitudes.map((v) => aboveFloor(v));
    const k = floors.length;
    const label = new Int32Array(k).fill(-1);
    const free = new Uint8Array(k).fill(1);
    if (s > 0) links.push(new Int32Array(segments[s - 1].amplitudes.length).fill(-1));
    // Pooled units (from `firstPooled` on) are matched after the clustered ones (round 1), to
    // the tracks round 0 left: they take no track from a clustered unit of their segment.
    const split = Math.min(k, seg.firstPooled ?? k);
    for (let round = 0; round < (split < k ? 2 : 1); round++) for (let g = 0; g <= Math.min(K, ONLINE_MAX_GAP) && s > 0; g++) {
      const cand = active.filter((t) => t.lastSegment === s - 1 - g);
      const units: number[] = [];
      for (let u = round ? split : 0; u < (round ? k : split); u++) if (free[u]) units.push(u);
      if (cand.length === 0 || units.length === 0) continue;
      const allowed = drifted(s - 1 - g, s, D * (g + 1));
      const a1 = cand.map((t) => t.vector);
      const a2 = units.map((u) => floors[u]);
      const { mapping, shiftUm } = assignClustersDetailed(a1, a2, geometry, allowed);
      if (g === 0 && round === 0) moved[s] = shiftUm;
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
        // Stage 0 stays the §10 assignment. In later stages a pooled unit of this segment that
        // fits the track better keeps it for round 1 (pooledFitsBetter), and a track that skipped
        // more segments and fits u better claims u at its own stage: two similar units at one
        // place, one of them missing for a segment, swapped ids otherwise (measured: bench/QUALITY.md).
        const dij = g > 0 ? relativeDistance(S1.subarray(i * C, (i + 1) * C), S2.subarray(j * C, (j + 1) * C)) : 0;
        if (g > 0 && round === 0 && split < k && pooledFitsBetter(t.vector, floors.slice(split), dij, geometry, allowed)) continue;
        if (g > 0 && olderFitsBetter(active, s, g, K, a2[j], dij, geometry, D, drifted)) continue;
        label[u] = t.id;
        free[u] = 0;
        if (g === 0) {
          // The track's unit in segment s - 1 continues into unit u.
          const prev = tracks[s - 1];
          for (let q = 0; q < prev.length; q++) if (prev[q] === t.id) links[s - 1][q] = u;
        }
        t.lastSegment = s;
        t.recent.push(floors[u]);
        if (t.recent.length > TEMPLATE_UNITS) t.recent.shift();
        t.vector = channelMedian(t.recent);
      }
    }
    for (let u = 0; u < k; u++) {
      if (!free[u]) continue;
      const t: Track = { id: nextId++, lastSegment: s, vector: floors[u], firstSegment: s, firstVector: floors[u], recent: [floors[u]] };
      active.push(t);
      all.push(t);
      label[u] = t.id;
    }
    active = active.filter((t) => t.lastSegment >= s - ONLINE_MAX_GAP);
    tracks.push(label);
  });
  // Evidence per piece, before joining.
  const need = Math.min(MIN_TRACK_SEGMENTS, segments.length);
  const seen = new Int32Array(nextId);
  for (const t of tracks) for (let u = 0; u < t.length; u++) seen[t[u]]++;
  const root = joinPieces(all, geometry, D, K, drifted);
  const listed = new Uint8Array(nextId);
  for (let id = 0; id < nextId; id++) if (seen[id] >= need) listed[root(id)] = 1;
  for (const t of tracks) for (let u = 0; u < t.length; u++) t[u] = listed[root(t[u])] ? root(t[u]) : -1;
  const absorbed = mergeRedundant(segments, tracks, links, geometry, D, K, drifted, opts.splitPieces === true);
  return { tracks, links, refused, absorbed };
}

/**
 * Merges listed tracks that are one unit (after joining): a unit too rare to be clustered in
 * most segments leaves pieces that interleave in time (one piece inside another's gap, or two
 * alternating), which the in-order joining cannot chain (it joins a piece only after another
 * ends, and prefers the best single pair). Two tracks are merged when no segment has a unit
 * of both (one unit is one cluster per segment) and, where they are nearest (one segment of
 * each track, more than ONLINE_MAX_GAP and at most maxSkippedSegments segments skipped between
 * them, as in the joining), the per-channel medians of each track's TEMPLATE_UNITS units nearest
 * the other's segment form a plausible link (linkPlausible, the drift allowed as in the joining). Best pairs first; the merged track keeps the
 * smaller id. Measured on ground truth (bench/QUALITY.md): the false-positive ids of the
 * sparse units were such pieces, each with too few spikes to match its unit.
 * Cost: tracks² x (segments + one drift-searched comparison); tracks are few (listed ones only).
 */
function mergeRedundant(
  segments: readonly TrackInput[], tracks: Int32Array[], links: Int32Array[], geometry: Float32Array, D: number, K: number, drifted: Drifted,
  splitPieces: boolean,
): { segment: number; unit: number; into: number }[] {
  const absorbed: { segment: number; unit: number; into: number }[] = [];
  // Per listed track: its segments (ascending) and its unit there.
  const members = new Map<number, { seg: number[]; unit: number[] }>();
  tracks.forEach((t, s) => t.forEach((id, u) => {
    if (id < 0) return;
    let m = members.get(id);
    if (!m) members.set(id, (m = { seg: [], unit: [] }));
    m.seg.push(s);
    m.unit.push(u);
  }));
  const ids = [...members.keys()].sort((a, b) => a - b);
  if (ids.length < 2) return absorbed;
  // Each unit's floor-removed vector and its centroid, computed once (pairs reuse them).
  const floors = new Map<number, { v: Float32Array; c: [number, number] }>();
  const floor = (s: number, u: number): { v: Float32Array; c: [number, number] } => {
    const key = s * 1_000_000 + u;
    let f = floors.get(key);
    if (!f) {
      const v = aboveFloor(segments[s].amplitudes[u]);
      floors.set(key, (f = { v, c: centroid(v, geometry) }));
    }
    return f;
  };
  /** Nearest pair of segments (one of each), and how many segments both have (then i, j: the first shared one). */
  const nearest = (a: { seg: number[] }, b: { seg: number[] }): { i: number; j: number; shared: number } => {
    let i = 0, j = 0, bi = 0, bj = 0, bd = Infinity, shared = 0;
    while (i < a.seg.length && j < b.seg.length) {
      const d = a.seg[i] - b.seg[j];
      if (d === 0) {
        if (shared++ === 0) { bi = i; bj = j; bd = 0; }
        i++;
        j++;
        continue;
      }
      if (shared === 0 && Math.abs(d) < bd) { bd = Math.abs(d); bi = i; bj = j; }
      if (d < 0) i++; else j++;
    }
    return { i: bi, j: bj, shared };
  };
  /**
   * The per-channel median of a track's TEMPLATE_UNITS units nearest segment `at`, and its
   * centroid: as in the segment-by-segment pass, one odd cluster where two pieces meet does not
   * decide (measured: bench/QUALITY.md, a cluster mixing two rare units kept a unit's two pieces apart).
   */
  const medians = new WeakMap<object, Map<string, { v: Float32Array; c: [number, number] }>>();
  const around = (m: { seg: number[]; unit: number[] }, at: number): { v: Float32Array; c: [number, number] } => {
    // m.seg ascends: the nearest units are a run around `at` (ties: the earlier one).
    const n = m.seg.length;
    let hi = 0;
    while (hi < n && m.seg[hi] < at) hi++;
    let lo = hi - 1;
    const near: number[] = [];
    while (near.length < TEMPLATE_UNITS && (lo >= 0 || hi < n)) {
      if (hi >= n || (lo >= 0 && at - m.seg[lo] <= m.seg[hi] - at)) near.push(lo--);
      else near.push(hi++);
    }
    if (near.length === 1) return floor(m.seg[near[0]], m.unit[near[0]]);
    // Pairs share these runs (a track's last or first units): each median is computed once per track.
    let cache = medians.get(m);
    if (!cache) medians.set(m, (cache = new Map()));
    const key = near.sort((x, y) => x - y).join(',');
    let f = cache.get(key);
    if (!f) {
      const v = channelMedian(near.map((k) => floor(m.seg[k], m.unit[k]).v));
      cache.set(key, (f = { v, c: centroid(v, geometry) }));
    }
    return f;
  };
  const plausibleScore = (a: { seg: number[]; unit: number[] }, b: { seg: number[]; unit: number[] }): number => {
    const { i, j, shared } = nearest(a, b);
    if (shared > 0) return splitPieces && shared === 1 ? pieceScore(a, i, b, j) : Infinity;
    const gap = Math.abs(a.seg[i] - b.seg[j]);
    // Gaps the segment-by-segment pass tried are its assignment's to decide (it weighs each
    // pair against the others; alone, two rare units at one place can look like one).
    // Interleaved tracks (one has segments on both sides of one of the other's) are exempt:
    // the segment-by-segment pass never compares them as a whole.
    const interleaved = a.seg[0] < b.seg[b.seg.length - 1] && b.seg[0] < a.seg[a.seg.length - 1];
    if ((!interleaved && gap - 1 <= ONLINE_MAX_GAP) || gap - 1 > K) return Infinity;
    const allowed = drifted(Math.min(a.seg[i], b.seg[j]), Math.max(a.seg[i], b.seg[j]), D * Math.min(gap, JOIN_MAX_DRIFT_STEPS));
    const fa = around(a, b.seg[j]);
    const fb = around(b, a.seg[i]);
    // Refused by position whatever the drift: no drift search (linkPlausible's first test).
    if (positionRefused(fa.c, fb.c, allowed)) return Infinity;
    const va = fa.v;
    const vb = fb.v;
    const { shiftUm } = assignClustersDetailed([va], [vb], geometry, allowed);
    const sa = applyShiftPlan(cachedShiftPlan(geometry, shiftUm / 2), va, 1);
    const sb = applyShiftPlan(cachedShiftPlan(geometry, -shiftUm / 2), vb, 1);
    return linkPlausible(va, vb, sa, sb, geometry, allowed) ? Infinity : relativeDistance(sa, sb);
  };
  /**
   * splitPieces: two tracks that share one segment s, where their units have the same footprint
   * (sameFootprint: peak channel, shape) and fire in different parts of s (timeSeparation), are
   * one unit whose cluster the probe's movement split in two within s (measured,
   * bench/QUALITY.md, held-out np64-zigzag-120s-seed6 at L 10 s: units split in one 16.7-s
   * segment into an early and a late piece, |z| 2.6-6.6, each id broken in two there). Two units
   * at one place fire through the segment alike (measured: |z| 0.98 for the one such pair the
   * footprint test let through). The medians of each track's units nearest s (its piece there
   * included) must form a plausible link with one segment's drift allowed; the score is their
   * distance.
   */
  const pieceScore = (a: { seg: number[]; unit: number[] }, i: number, b: { seg: number[]; unit: number[] }, j: number): number => {
    const s = a.seg[i];
    const times = segments[s].spikes;
    if (!times || Math.abs(timeSeparation(times[a.unit[i]], times[b.unit[j]])) < PIECE_MIN_SEPARATION) return Infinity;
    if (!sameFootprint(floor(s, a.unit[i]).v, floor(s, b.unit[j]).v)) return Infinity;
    const fa = around(a, s);
    const fb = around(b, s);
    if (positionRefused(fa.c, fb.c, D)) return Infinity;
    const { shiftUm } = assignClustersDetailed([fa.v], [fb.v], geometry, D);
    const sa = applyShiftPlan(cachedShiftPlan(geometry, shiftUm / 2), fa.v, 1);
    const sb = applyShiftPlan(cachedShiftPlan(geometry, -shiftUm / 2), fb.v, 1);
    return linkPlausible(fa.v, fb.v, sa, sb, geometry, D) ? Infinity : relativeDistance(sa, sb);
  };
  const pairs: { a: number; b: number; score: number }[] = [];
  for (let x = 0; x < ids.length; x++) {
    for (let y = x + 1; y < ids.length; y++) {
      const score = plausibleScore(members.get(ids[x])!, members.get(ids[y])!);
      if (score < Infinity) pairs.push({ a: ids[x], b: ids[y], score });
    }
  }
  pairs.sort((p, q) => p.score - q.score || p.a - q.a || p.b - q.b);
  const parent = new Map<number, number>();
  const find = (id: number): number => {
    let r = id;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
  for (const { a, b } of pairs) {
    const ra = find(a), rb = find(b);
    if (ra === rb) continue;
    const ma = members.get(ra)!, mb = members.get(rb)!;
    // The merged tracks must stay disjoint and plausible where they now meet.
    if (plausibleScore(ma, mb) === Infinity) continue;
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    const mk = members.get(keep)!, md = members.get(drop)!;
    // keep's unit first in a shared segment (a stable sort), then the larger piece wins there.
    const order = [...mk.seg.map((s, k) => [s, mk.unit[k]]), ...md.seg.map((s, k) => [s, md.unit[k]])].sort((p, q) => p[0] - q[0]);
    const merged: number[][] = [];
    for (const p of order) {
      const last = merged[merged.length - 1];
      if (!last || last[0] !== p[0]) { merged.push(p); continue; }
      const n = segments[p[0]].spikes!;
      const [stay, gone] = n[p[1]].length > n[last[1]].length ? [p[1], last[1]] : [last[1], p[1]];
      absorbed.push({ segment: p[0], unit: gone, into: stay });
      last[1] = stay;
    }
    members.set(keep, { seg: merged.map((p) => p[0]), unit: merged.map((p) => p[1]) });
    members.delete(drop);
    parent.set(drop, keep);
  }
  if (parent.size === 0) return absorbed;
  for (const t of tracks) for (let u = 0; u < t.length; u++) if (t[u] >= 0) t[u] = find(t[u]);
  for (const { segment: s, unit: u } of absorbed) {
    tracks[s][u] = -1;
    if (s + 1 < tracks.length) links[s][u] = -1;
    if (s > 0) for (let q = 0; q < links[s - 1].length; q++) if (links[s - 1][q] === u) links[s - 1][q] = -1;
  }
  // Links between consecutive segments now in one track.
  for (const m of members.values()) {
    for (let k = 0; k + 1 < m.seg.length; k++) if (m.seg[k + 1] === m.seg[k] + 1) links[m.seg[k]][m.unit[k]] = m.unit[k + 1];
  }
  return absorbed;
}

/** Joins pieces (see ONLINE_MAX_GAP); returns each piece's track id (that of its first piece). */
function joinPieces(all: Track[], geometry: Float32Array, D: number, K: number, drifted: Drifted): (id: number) => number {
  const pos = new Map<number, [number, number]>();
  for (const t of all) {
    pos.set(t.id, centroid(t.vector, geometry));
    pos.set(-1 - t.id, centroid(t.firstVector, geometry));
  }
  const pairs: { a: Track; b: Track; score: number }[] = [];
  for (const a of all) {
    const [ax, ay] = pos.get(a.id)!;
    for (const b of all) {
      const gap = b.firstSegment - a.lastSegment - 1;
      // Gaps up to ONLINE_MAX_GAP were tried by the segment-by-segment pass.
      if (gap <= ONLINE_MAX_GAP || gap > K) continue;
      const allowed = drifted(a.lastSegment, b.firstSegment, D * Math.min(gap + 1, JOIN_MAX_DRIFT_STEPS));
      if (positionRefused([ax, ay], pos.get(-1 - b.id)!, allowed)) continue;
      const { shiftUm } = assignClustersDetailed([a.vector], [b.firstVector], geometry, allowed);
      const sa = applyShiftPlan(cachedShiftPlan(geometry, shiftUm / 2), a.vector, 1);
      const sb = applyShiftPlan(cachedShiftPlan(geometry, -shiftUm / 2), b.firstVector, 1);
      const why = linkPlausible(a.vector, b.firstVector, sa, sb, geometry, allowed);
      if (why) continue;
      pairs.push({ a, b, score: relativeDistance(sa, sb) });
    }
  }
  // Best first; ties by earlier pieces, so the result does not depend on the order of `all`.
  pairs.sort((x, y) => x.score - y.score || x.a.id - y.a.id || x.b.id - y.b.id);
  const hasNext = new Set<number>();
  const hasPrev = new Set<number>();
  const root = new Map<number, number>();
  const find = (id: number): number => {
    let r = id;
    while (root.has(r)) r = root.get(r)!;
    return r;
  };
  for (const { a, b } of pairs) {
    if (hasNext.has(a.id) || hasPrev.has(b.id)) continue;
    hasNext.add(a.id);
    hasPrev.add(b.id);
    root.set(b.id, find(a.id));
  }
  return find;
}

export { DRIFT_STEP_UM };
