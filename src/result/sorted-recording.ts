/**
 * The result of sorting: segments (each with its units' spike trains and amplitude vectors)
 * plus the links between each segment's units and the next segment's, and the cluster ids.
 *
 * Two kinds of ids:
 *  - chains (spec §10, mode 'reference', and every result without `tracks`): ids are the first
 *    segment's unit indices whose chain of links never breaks;
 *  - tracks (mode 'improved'): `tracks[s][k]` is the track id of unit k of segment s. A track
 *    has at most one unit per segment; it may skip segments, start after segment 0 and end.
 *    Ids are the track ids; -1 marks a unit that belongs to no listed track.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { checkSortInfo, type SortInfo } from './info.js';

export type { SortInfo } from './info.js';

export interface SegmentResult {
  /** [start, end) in sample times including recordingOffset. */
  start: number;
  end: number;
  /** Per unit (index = acceptance order): ascending sample times including recordingOffset. */
  spikes: Float64Array[];
  /** Per unit: C values (positive, negated means of the per-ms minima). */
  amplitudes: Float32Array[];
}

export interface SortedRecordingInit {
  segments: SegmentResult[];
  /** links.length = segments.length - 1; links[i][k] = unit of segment i+1 continuing unit k of segment i, or -1. */
  links: Int32Array[];
  probeGeometry: number[][];
  samplingFrequency: number;
  numChannels: number;
  /** Per segment, per unit: its track id (>= 0) or -1 (in no listed track). Absent: ids are §10 chains. */
  tracks?: Int32Array[];
}

/**
 * A structured-clone friendly, flat form of a SortedRecording (a handful of typed arrays):
 * used to send results between worker threads and as the payload of saved files.
 */
export interface TransferableSortedRecording {
  kind: 'spikesift.SortedRecording';
  samplingFrequency: number;
  numChannels: number;
  probeGeometry: number[][];
  /** Per segment: start and end sample time. */
  starts: Float64Array;
  ends: Float64Array;
  /** Per segment: number of units. */
  unitCounts: Int32Array;
  /** Per unit of every segment, in segment order: number of spikes. */
  spikeCounts: Int32Array;
  /** All spike times, unit after unit, segment after segment. */
  spikes: Float64Array;
  /** All amplitude vectors (C values each), unit after unit, segment after segment. */
  amplitudes: Float32Array;
  /** links[0], links[1], ... concatenated (lengths = unitCounts[0 .. numSegments-2]). */
  links: Int32Array;
  /** tracks[0], tracks[1], ... concatenated (one per unit), when the ids are tracks. */
  tracks?: Int32Array;
  /** Provenance (SortedRecording.info), when known. */
  info?: SortInfo | null;
}

/** File format constants of save()/load(). */
export const SORTED_FILE_MAGIC = 'SPKSIFT\0';
/** Version 2 adds the `tracks` block; results without tracks are still written as version 1. */
export const SORTED_FILE_VERSION = 2;
const CHAIN_FILE_VERSION = 1;
const PREAMBLE_BYTES = 56; // magic 8 + version 4 + header length 4 + payload length 8 + sha256 32

function fail(message: string): never {
  throw new RangeError(`SortedRecording: ${message}`);
}

function describeValidIds(valid: number[], total: number): string {
  if (total === 0) return 'this recording has no clusters';
  if (valid.length === 0) return `no cluster id is valid (ids 0..${total - 1} all break in a later segment)`;
  if (valid.length === total) return `valid ids are 0..${total - 1}`;
  const shown = valid.length <= 20 ? valid.join(', ') : `${valid.slice(0, 20).join(', ')}, ...`;
  return `valid ids are ${shown} (${valid.length} of 0..${total - 1}; the others break in a later segment)`;
}

export class SortedRecording {
  readonly probeGeometry: number[][];
  readonly samplingFrequency: number;
  readonly numChannels: number;
  readonly segments: readonly SegmentResult[];
  readonly links: readonly Int32Array[];
  /** Probe geometry as float32 [x0, y0, x1, y1, ...] (what the drift simulation uses). */
  readonly geometry: Float32Array;
  /**
   * Provenance of the sort (version, parameters, engine, adapter, steps run on the GPU); set by
   * the pipeline, saved and loaded with the result; null for results without it (older files,
   * merged or split results).
   */
  info: SortInfo | null = null;

  /** chains[id * numSegments + s] = unit index of cluster id in segment s, or -1 once broken. */
  readonly #chains: Int32Array;
  readonly #validIds: number[];
  /** Row of each valid id in #chains (tracks); for chains the row is the id itself. */
  readonly #rowOf: Map<number, number> | null;
  readonly #tracks: readonly Int32Array[] | null;

  /**
   * Takes ownership of the typed arrays in `init` (they are not copied); do not modify them
   * afterwards. Everything is validated: malformed input is a clear error, never a wrong result.
   */
  constructor(init: SortedRecordingInit) {
    if (init === null || typeof init !== 'object') fail('constructor needs { segments, links, probeGeometry, samplingFrequency, numChannels }');
    const { segments, links, probeGeometry, samplingFrequency, numChannels } = init;
    if (!Number.isInteger(numChannels) || numChannels < 1) fail(`numChannels must be a positive integer, received ${String(numChannels)}`);
    if (typeof samplingFrequency !== 'number' || !Number.isFinite(samplingFrequency) || samplingFrequency <= 0) {
      fail(`samplingFrequency must be a positive number of Hz, received ${String(samplingFrequency)}`);
    }
    if (!Array.isArray(probeGeometry) || probeGeometry.length !== numChannels) {
      fail(`probeGeometry must be an array of ${numChannels} [x, y] pairs (one per channel), received ${Array.isArray(probeGeometry) ? probeGeometry.length + ' rows' : typeof probeGeometry}`);
    }
    const geometry = new Float32Array(2 * numChannels);
    probeGeometry.forEach((row, c) => {
      if (!Array.isArray(row) || row.length !== 2 || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        fail(`probeGeometry[${c}] must be a pair of finite numbers [x, y] in µm, received ${JSON.stringify(row)}`);
      }
      geometry[2 * c] = row[0];
      geometry[2 * c + 1] = row[1];
    });
    if (!Array.isArray(segments) || segments.length === 0) fail('segments must be a non-empty array of SegmentResult');
    if (!Array.isArray(links) || links.length !== segments.length - 1) {
      fail(`links must have segments.length - 1 = ${segments.length - 1} entries, received ${Array.isArray(links) ? links.length : typeof links}`);
    }

    let prevEnd = -Infinity;
    segments.forEach((seg, s) => {
      if (seg === null || typeof seg !== 'object') fail(`segments[${s}] is not a SegmentResult`);
      const { start, end, spikes, amplitudes } = seg;
      if (!Number.isFinite(start) || !Number.isFinite(end) || !(end > start)) {
        fail(`segments[${s}] must have finite start < end, received [${start}, ${end})`);
      }
      if (start < prevEnd) fail(`segments[${s}] starts at ${start}, before the previous segment ends (${prevEnd}); segments must be ordered and not overlap`);
      prevEnd = end;
      if (!Array.isArray(spikes) || !Array.isArray(amplitudes) || spikes.length !== amplitudes.length) {
        fail(`segments[${s}] must have as many amplitude vectors as spike trains (${Array.isArray(spikes) ? spikes.length : '?'} vs ${Array.isArray(amplitudes) ? amplitudes.length : '?'})`);
      }
      spikes.forEach((train, u) => {
        if (!(train instanceof Float64Array)) fail(`segments[${s}].spikes[${u}] must be a Float64Array`);
        let last = -Infinity;
        for (let i = 0; i < train.length; i++) {
          const t = train[i];
          if (!(t >= start && t < end)) fail(`segments[${s}].spikes[${u}][${i}] = ${t} lies outside the segment [${start}, ${end})`);
          if (t < last) fail(`segments[${s}].spikes[${u}] is not ascending at index ${i} (${last} then ${t})`);
          last = t;
        }
      });
      amplitudes.forEach((v, u) => {
        if (!(v instanceof Float32Array) || v.length !== numChannels) {
          fail(`segments[${s}].amplitudes[${u}] must be a Float32Array of ${numChannels} values (one per channel)`);
        }
      });
    });
    links.forEach((link, i) => {
      const from = segments[i].spikes.length;
      const to = segments[i + 1].spikes.length;
      if (!(link instanceof Int32Array) || link.length !== from) {
        fail(`links[${i}] must be an Int32Array of ${from} entries (one per unit of segment ${i})`);
      }
      for (let k = 0; k < from; k++) {
        if (link[k] < -1 || link[k] >= to) fail(`links[${i}][${k}] = ${link[k]} is not -1 or a unit of segment ${i + 1} (0..${to - 1})`);
      }
    });

    this.probeGeometry = probeGeometry.map((row) => [row[0], row[1]]);
    this.samplingFrequency = samplingFrequency;
    this.numChannels = numChannels;
    this.segments = Object.freeze(segments.slice());
    this.links = Object.freeze(links.slice());
    this.geometry = geometry;

    const nSeg = segments.length;
    const k0 = segments[0].spikes.length;
    const chains = new Int32Array(k0 * nSeg);
    const valid: number[] = [];
    for (let id = 0; id < k0; id++) {
      let unit = id;
      chains[id * nSeg] = unit;
      for (let s = 1; s < nSeg; s++) {
        unit = unit < 0 ? -1 : links[s - 1][unit];
        chains[id * nSeg + s] = unit;
      }
      if (unit >= 0) valid.push(id);
    }
    if (init.tracks === undefined) {
      this.#chains = chains;
      this.#validIds = valid;
      this.#rowOf = null;
      this.#tracks = null;
      return;
    }
    // Tracks: each id's unit per segment, validated (one unit per track and segment).
    const tracks = init.tracks;
    if (!Array.isArray(tracks) || tracks.length !== nSeg) {
      fail(`tracks must have one Int32Array per segment (${nSeg}), received ${Array.isArray(tracks) ? tracks.length : typeof tracks}`);
    }
    const rowOf = new Map<number, number>();
    tracks.forEach((t, s) => {
      const k = segments[s].spikes.length;
      if (!(t instanceof Int32Array) || t.length !== k) fail(`tracks[${s}] must be an Int32Array of ${k} entries (one per unit of segment ${s})`);
      for (let u = 0; u < k; u++) {
        if (!Number.isInteger(t[u]) || t[u] < -1) fail(`tracks[${s}][${u}] = ${t[u]} is not -1 or a track id >= 0`);
        if (t[u] >= 0 && !rowOf.has(t[u])) rowOf.set(t[u], 0);
      }
    });
    const ids = [...rowOf.keys()].sort((a, b) => a - b);
    ids.forEach((id, row) => rowOf.set(id, row));
    const rows = new Int32Array(ids.length * nSeg).fill(-1);
    tracks.forEach((t, s) => {
      for (let u = 0; u < t.length; u++) {
        if (t[u] < 0) continue;
        const at = rowOf.get(t[u])! * nSeg + s;
        if (rows[at] >= 0) fail(`track ${t[u]} has two units in segment ${s} (${rows[at]} and ${u}); a track has at most one unit per segment`);
        rows[at] = u;
      }
    });
    this.#chains = rows;
    this.#validIds = ids;
    this.#rowOf = rowOf;
    this.#tracks = Object.freeze(tracks.slice());
  }

  /** True when the ids are tracks (mode 'improved'); false for §10 chains. */
  get tracked(): boolean {
    return this.#tracks !== null;
  }

  /** Per segment, per unit: its track id or -1 (tracked results); null for §10 chains. */
  get tracks(): readonly Int32Array[] | null {
    return this.#tracks;
  }

  /**
   * Ascending valid cluster ids: for chains, indices of the first segment's units whose chain
   * never breaks (§10); for tracks, every listed track.
   */
  clusterIds(): number[] {
    return this.#validIds.slice();
  }

  validClusterId(id: number): boolean {
    if (!Number.isInteger(id) || id < 0) return false;
    if (this.#rowOf) return this.#rowOf.has(id);
    if (id >= this.segments[0].spikes.length) return false;
    return this.#chains[id * this.segments.length + this.segments.length - 1] >= 0;
  }

  #check(id: number): number {
    if (!this.validClusterId(id)) {
      throw new RangeError(
        `SortedRecording: cluster id ${String(id)} is not valid; ${this.#rowOf
          ? (this.#validIds.length ? `valid ids (tracks) are ${this.#validIds.length <= 20 ? this.#validIds.join(', ') : `${this.#validIds.slice(0, 20).join(', ')}, ...`}` : 'this recording has no clusters')
          : describeValidIds(this.#validIds, this.segments[0].spikes.length)}`,
      );
    }
    return this.#rowOf ? this.#rowOf.get(id)! : id;
  }

  /** Unit index of cluster `id` in each segment, -1 where a track skips or has not started or has ended. */
  chain(id: number): Int32Array {
    const row = this.#check(id);
    const n = this.segments.length;
    return this.#chains.slice(row * n, (row + 1) * n);
  }

  /** Indices of the segments where cluster `id` has a unit (all of them for a §10 chain). */
  segmentsOf(id: number): number[] {
    const chain = this.chain(id);
    const out: number[] = [];
    for (let s = 0; s < chain.length; s++) if (chain[s] >= 0) out.push(s);
    return out;
  }

  /** The cluster's spike train: its units' trains concatenated over its segments (ascending). */
  spikes(id: number): Float64Array {
    const chain = this.chain(id);
    let total = 0;
    for (let s = 0; s < chain.length; s++) if (chain[s] >= 0) total += this.segments[s].spikes[chain[s]].length;
    const out = new Float64Array(total);
    let offset = 0;
    for (let s = 0; s < chain.length; s++) {
      if (chain[s] < 0) continue;
      const train = this.segments[s].spikes[chain[s]];
      out.set(train, offset);
      offset += train.length;
    }
    return out;
  }

  /**
   * One amplitude vector (C values, copies) per segment where the cluster has a unit, in
   * segment order; segmentsOf(id) says which segments they are.
   */
  amplitudeVectors(id: number): Float32Array[] {
    const chain = this.chain(id);
    const out: Float32Array[] = [];
    for (let s = 0; s < chain.length; s++) if (chain[s] >= 0) out.push(this.segments[s].amplitudes[chain[s]].slice());
    return out;
  }

  /** Every valid cluster's spike train, keyed by id in ascending order. */
  allSpikes(): Map<number, Float64Array> {
    const out = new Map<number, Float64Array>();
    for (const id of this.#validIds) out.set(id, this.spikes(id));
    return out;
  }

  segmentBoundaries(): [number, number][] {
    return this.segments.map((seg) => [seg.start, seg.end]);
  }

  startTime(): number {
    return this.segments[0].start;
  }

  endTime(): number {
    return this.segments[this.segments.length - 1].end;
  }

  /** Number of valid clusters. */
  get length(): number {
    return this.#validIds.length;
  }

  get numSegments(): number {
    return this.segments.length;
  }

  /**
   * One single-segment recording per segment (no re-sorting). For chains, ids are that
   * segment's unit indices; for tracks, they stay the track ids (the same unit keeps its id in
   * every part).
   */
  splitIntoSegments(): SortedRecording[] {
    return this.segments.map(
      (seg, s) =>
        new SortedRecording({
          segments: [seg],
          links: [],
          probeGeometry: this.probeGeometry,
          samplingFrequency: this.samplingFrequency,
          numChannels: this.numChannels,
          ...(this.#tracks ? { tracks: [this.#tracks[s]] } : {}),
        }),
    );
  }

  // ---------------------------------------------------------------- flat form

  /** Flat typed-array form for postMessage; pass transferList(t) as the transfer list to avoid copies. */
  toTransferable(): TransferableSortedRecording {
    const nSeg = this.segments.length;
    const C = this.numChannels;
    const unitCounts = new Int32Array(nSeg);
    let totalUnits = 0;
    let totalSpikes = 0;
    this.segments.forEach((seg, s) => {
      unitCounts[s] = seg.spikes.length;
      totalUnits += seg.spikes.length;
      for (const train of seg.spikes) totalSpikes += train.length;
    });
    const starts = Float64Array.from(this.segments, (seg) => seg.start);
    const ends = Float64Array.from(this.segments, (seg) => seg.end);
    const spikeCounts = new Int32Array(totalUnits);
    const spikes = new Float64Array(totalSpikes);
    const amplitudes = new Float32Array(totalUnits * C);
    let u = 0;
    let offset = 0;
    for (const seg of this.segments) {
      seg.spikes.forEach((train, k) => {
        spikeCounts[u] = train.length;
        spikes.set(train, offset);
        offset += train.length;
        amplitudes.set(seg.amplitudes[k], u * C);
        u++;
      });
    }
    let linkTotal = 0;
    for (const l of this.links) linkTotal += l.length;
    const links = new Int32Array(linkTotal);
    let lo = 0;
    for (const l of this.links) {
      links.set(l, lo);
      lo += l.length;
    }
    const out: TransferableSortedRecording = {
      kind: 'spikesift.SortedRecording',
      samplingFrequency: this.samplingFrequency,
      numChannels: C,
      probeGeometry: this.probeGeometry.map((r) => [r[0], r[1]]),
      starts,
      ends,
      unitCounts,
      spikeCounts,
      spikes,
      amplitudes,
      links,
      ...(this.info ? { info: this.info } : {}),
    };
    if (this.#tracks) {
      const tracks = new Int32Array(totalUnits);
      let at = 0;
      for (const t of this.#tracks) {
        tracks.set(t, at);
        at += t.length;
      }
      out.tracks = tracks;
    }
    return out;
  }

  /** The ArrayBuffers of a transferable form (for worker.postMessage(value, transferList)). */
  static transferList(t: TransferableSortedRecording): ArrayBuffer[] {
    const arrays = [t.starts, t.ends, t.unitCounts, t.spikeCounts, t.spikes, t.amplitudes, t.links, ...(t.tracks ? [t.tracks] : [])];
    return arrays.map((a) => a.buffer as ArrayBuffer);
  }

  /** Rebuilds a SortedRecording from toTransferable()'s output (validated; arrays are sliced views, not copies). */
  static fromTransferable(t: TransferableSortedRecording): SortedRecording {
    if (t === null || typeof t !== 'object' || t.kind !== 'spikesift.SortedRecording') {
      fail('fromTransferable needs the output of toTransferable() (kind "spikesift.SortedRecording")');
    }
    const C = t.numChannels;
    const nSeg = t.unitCounts?.length;
    const typed: [string, unknown, Function][] = [
      ['starts', t.starts, Float64Array], ['ends', t.ends, Float64Array], ['unitCounts', t.unitCounts, Int32Array],
      ['spikeCounts', t.spikeCounts, Int32Array], ['spikes', t.spikes, Float64Array],
      ['amplitudes', t.amplitudes, Float32Array], ['links', t.links, Int32Array],
    ];
    if (t.tracks !== undefined) typed.push(['tracks', t.tracks, Int32Array]);
    for (const [name, value, ctor] of typed) {
      if (!(value instanceof ctor)) fail(`transferable field ${name} must be a ${ctor.name}`);
    }
    if (t.tracks !== undefined && t.tracks.length !== t.spikeCounts.length) fail(`tracks has ${t.tracks.length} entries, expected ${t.spikeCounts.length} (one per unit)`);
    if (!Number.isInteger(C) || C < 1) fail(`numChannels must be a positive integer, received ${String(C)}`);
    if (t.starts.length !== nSeg || t.ends.length !== nSeg) fail('starts/ends must have one entry per segment');
    let totalUnits = 0;
    for (let s = 0; s < nSeg; s++) {
      if (t.unitCounts[s] < 0) fail(`unitCounts[${s}] is negative`);
      totalUnits += t.unitCounts[s];
    }
    if (t.spikeCounts.length !== totalUnits) fail(`spikeCounts has ${t.spikeCounts.length} entries, expected ${totalUnits} (one per unit)`);
    if (t.amplitudes.length !== totalUnits * C) fail(`amplitudes has ${t.amplitudes.length} values, expected ${totalUnits * C}`);
    let totalSpikes = 0;
    for (let u = 0; u < totalUnits; u++) {
      if (t.spikeCounts[u] < 0) fail(`spikeCounts[${u}] is negative`);
      totalSpikes += t.spikeCounts[u];
    }
    if (t.spikes.length !== totalSpikes) fail(`spikes has ${t.spikes.length} values, expected ${totalSpikes}`);
    let linkTotal = 0;
    for (let s = 0; s + 1 < nSeg; s++) linkTotal += t.unitCounts[s];
    if (t.links.length !== linkTotal) fail(`links has ${t.links.length} entries, expected ${linkTotal}`);

    const segments: SegmentResult[] = [];
    let u = 0;
    let offset = 0;
    for (let s = 0; s < nSeg; s++) {
      const spikes: Float64Array[] = [];
      const amplitudes: Float32Array[] = [];
      for (let k = 0; k < t.unitCounts[s]; k++, u++) {
        spikes.push(t.spikes.subarray(offset, offset + t.spikeCounts[u]));
        offset += t.spikeCounts[u];
        amplitudes.push(t.amplitudes.subarray(u * C, (u + 1) * C));
      }
      segments.push({ start: t.starts[s], end: t.ends[s], spikes, amplitudes });
    }
    const links: Int32Array[] = [];
    let lo = 0;
    for (let s = 0; s + 1 < nSeg; s++) {
      links.push(t.links.subarray(lo, lo + t.unitCounts[s]));
      lo += t.unitCounts[s];
    }
    let tracks: Int32Array[] | undefined;
    if (t.tracks) {
      tracks = [];
      let at = 0;
      for (let s = 0; s < nSeg; s++) {
        tracks.push(t.tracks.subarray(at, at + t.unitCounts[s]));
        at += t.unitCounts[s];
      }
    }
    const rec = new SortedRecording({
      segments,
      links,
      probeGeometry: t.probeGeometry,
      samplingFrequency: t.samplingFrequency,
      numChannels: C,
      ...(tracks ? { tracks } : {}),
    });
    if (t.info != null) rec.info = checkSortInfo(t.info);
    return rec;
  }

  // ---------------------------------------------------------------- persistence

  /**
   * Writes one binary file (format in encodeSortedRecording) atomically: a temporary file in the
   * same folder is written, flushed and renamed over `path`, so readers never see a partial file.
   */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string' || path.length === 0) fail(`save(path): path must be a non-empty string, received ${String(path)}`);
    const bytes = encodeSortedRecording(this);
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    let handle;
    try {
      handle = await open(tmp, 'wx');
      await handle.writeFile(bytes);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(tmp, path);
    } catch (err) {
      if (handle) await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Reads a file written by save(); a truncated, tampered or foreign file is an error. */
  static async load(path: string): Promise<SortedRecording> {
    if (typeof path !== 'string' || path.length === 0) fail(`load(path): path must be a non-empty string, received ${String(path)}`);
    const bytes = await readFile(path);
    return decodeSortedRecording(bytes, path);
  }
}

// -------------------------------------------------------------------- file format
//
// Little-endian. Preamble (56 bytes):
//   0  8 bytes  magic "SPKSIFT\0"
//   8  uint32   format version (1: §10 chains; 2: with the optional "tracks" block)
//  12  uint32   header length H (bytes of UTF-8 JSON, padded with spaces to a multiple of 8)
//  16  uint64   payload length P
//  24  32 bytes SHA-256 of bytes [56, 56 + H + P) (header and payload)
//  56  H bytes  JSON header: { format, version, samplingFrequency, numChannels, probeGeometry,
//               numSegments, numUnits, numSpikes, blocks: [{ name, type, offset, length }],
//               info (optional, SortInfo: provenance; absent in older files) }
//  56+H P bytes payload: the typed-array blocks of TransferableSortedRecording, each starting
//               at an offset (relative to the payload) that is a multiple of 8. Version 2
//               adds a "tracks" block (int32, one per unit) for results whose ids are tracks;
//               results without tracks are written as version 1, readable by older versions.

const BLOCKS = [
  ['starts', 'float64'],
  ['ends', 'float64'],
  ['unitCounts', 'int32'],
  ['spikeCounts', 'int32'],
  ['spikes', 'float64'],
  ['amplitudes', 'float32'],
  ['links', 'int32'],
] as const;
const TRACKS_BLOCK = ['tracks', 'int32'] as const;
type BlockName = (typeof BLOCKS)[number][0] | 'tracks';
const CTORS = { float64: Float64Array, float32: Float32Array, int32: Int32Array } as const;

const pad8 = (n: number) => (n + 7) & ~7;

export function encodeSortedRecording(rec: SortedRecording): Uint8Array {
  const t = rec.toTransferable();
  const version = t.tracks ? SORTED_FILE_VERSION : CHAIN_FILE_VERSION;
  const blocks: { name: BlockName; type: keyof typeof CTORS; offset: number; length: number }[] = [];
  let payloadLength = 0;
  for (const [name, type] of t.tracks ? [...BLOCKS, TRACKS_BLOCK] : BLOCKS) {
    const arr = t[name]!;
    blocks.push({ name, type, offset: payloadLength, length: arr.length });
    payloadLength = pad8(payloadLength + arr.byteLength);
  }
  const header = {
    format: 'spikesift.SortedRecording',
    version,
    samplingFrequency: t.samplingFrequency,
    numChannels: t.numChannels,
    probeGeometry: t.probeGeometry,
    numSegments: t.starts.length,
    numUnits: t.spikeCounts.length,
    numSpikes: t.spikes.length,
    blocks,
    ...(t.info ? { info: t.info } : {}),
  };
  let headerText = JSON.stringify(header);
  const rawLength = Buffer.byteLength(headerText, 'utf8');
  headerText += ' '.repeat(pad8(rawLength) - rawLength);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const H = headerBytes.length;
  const out = Buffer.alloc(PREAMBLE_BYTES + H + payloadLength);
  out.write(SORTED_FILE_MAGIC, 0, 'latin1');
  out.writeUInt32LE(version, 8);
  out.writeUInt32LE(H, 12);
  out.writeBigUInt64LE(BigInt(payloadLength), 16);
  headerBytes.copy(out, PREAMBLE_BYTES);
  const payloadStart = PREAMBLE_BYTES + H;
  for (const b of blocks) {
    const arr = t[b.name]!;
    const src = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    out.set(src, payloadStart + b.offset);
  }
  createHash('sha256').update(out.subarray(PREAMBLE_BYTES)).digest().copy(out, 24);
  return out;
}

export function decodeSortedRecording(bytes: Uint8Array, source = 'buffer'): SortedRecording {
  const bad = (why: string): never => {
    throw new Error(`SortedRecording.load: ${source}: ${why}`);
  };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || buf.toString('latin1', 0, 8) !== SORTED_FILE_MAGIC) {
    bad('not a spikesift sorted-recording file (wrong magic bytes); it must be written by SortedRecording.save()');
  }
  if (buf.length < PREAMBLE_BYTES) bad(`file is truncated (${buf.length} bytes, shorter than the ${PREAMBLE_BYTES}-byte preamble)`);
  const version = buf.readUInt32LE(8);
  if (version > SORTED_FILE_VERSION) {
    bad(`file format version ${version} is newer than this library reads (up to ${SORTED_FILE_VERSION}); upgrade spikesift to load it`);
  }
  if (version < 1) bad(`invalid file format version ${version}`);
  const H = buf.readUInt32LE(12);
  const P = buf.readBigUInt64LE(16);
  const expected = BigInt(PREAMBLE_BYTES) + BigInt(H) + P;
  if (BigInt(buf.length) < expected) bad(`file is truncated (${buf.length} bytes, expected ${expected}); it was not completely written or was cut`);
  if (BigInt(buf.length) > expected) bad(`file has ${BigInt(buf.length) - expected} unexpected trailing bytes (expected ${expected} bytes)`);
  const digest = createHash('sha256').update(buf.subarray(PREAMBLE_BYTES)).digest();
  if (!digest.equals(buf.subarray(24, 56))) bad('checksum mismatch: the file is corrupted or was modified after saving');

  let header: {
    format?: string; samplingFrequency: number; numChannels: number; probeGeometry: number[][];
    blocks: { name: BlockName; type: keyof typeof CTORS; offset: number; length: number }[];
    info?: unknown;
  };
  try {
    header = JSON.parse(buf.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + H));
  } catch {
    return bad('header is not valid JSON');
  }
  if (header.format !== 'spikesift.SortedRecording' || !Array.isArray(header.blocks)) bad('header does not describe a sorted recording');
  const payloadStart = PREAMBLE_BYTES + H;
  const payloadLength = Number(P);
  const arrays: Partial<Record<BlockName, Float64Array | Float32Array | Int32Array>> = {};
  for (const [name, type] of version >= 2 ? [...BLOCKS, TRACKS_BLOCK] : BLOCKS) {
    const found = header.blocks.find((x) => x && x.name === name);
    if (!found && name === 'tracks') continue; // version 2 without tracks: §10 chains
    if (!found) return bad(`header block "${name}" is missing`);
    const b = found;
    if (b.type !== type || !Number.isInteger(b.offset) || !Number.isInteger(b.length) || b.offset < 0 || b.length < 0) {
      bad(`header block "${name}" is malformed`);
    }
    const Ctor = CTORS[type];
    const byteLength = b.length * Ctor.BYTES_PER_ELEMENT;
    if (b.offset + byteLength > payloadLength) bad(`block "${name}" extends past the payload`);
    const at = buf.byteOffset + payloadStart + b.offset;
    if (at % Ctor.BYTES_PER_ELEMENT === 0) {
      // Blocks sit at 8-byte offsets, so on an aligned read buffer they are used in place (no copy
      // of millions of spike times).
      arrays[name] = new Ctor(buf.buffer as ArrayBuffer, at, b.length);
    } else {
      const copy = new Uint8Array(byteLength);
      copy.set(buf.subarray(payloadStart + b.offset, payloadStart + b.offset + byteLength));
      arrays[name] = new Ctor(copy.buffer);
    }
  }
  try {
    return SortedRecording.fromTransferable({
      kind: 'spikesift.SortedRecording',
      samplingFrequency: header.samplingFrequency,
      numChannels: header.numChannels,
      probeGeometry: header.probeGeometry,
      starts: arrays.starts as Float64Array,
      ends: arrays.ends as Float64Array,
      unitCounts: arrays.unitCounts as Int32Array,
      spikeCounts: arrays.spikeCounts as Int32Array,
      spikes: arrays.spikes as Float64Array,
      amplitudes: arrays.amplitudes as Float32Array,
      links: arrays.links as Int32Array,
      ...(arrays.tracks ? { tracks: arrays.tracks as Int32Array } : {}),
      ...(header.info != null ? { info: header.info as SortInfo } : {}),
    });
  } catch (err) {
    return bad(`inconsistent content: ${(err as Error).message}`);
  }
}
