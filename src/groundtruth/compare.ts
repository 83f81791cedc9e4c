// Scoring a sorter's output against ground truth, with SpikeInterface's definitions
// (GroundTruthComparison): spikes agree within delta; agreement = matches / (n_gt + n_sorted -
// matches); one-to-one Hungarian matching on agreement keeping pairs >= 0.5; per GT unit
// accuracy tp/(tp+fn+fp), precision tp/(tp+fp), recall tp/(tp+fn); well detected at accuracy
// >= 0.8; false-positive, redundant, overmerged and bad sorted units (get_false_positive_units,
// get_redundant_units, get_overmerged_units, get_bad_units). One difference: wellDetected lists
// GT unit ids (SpikeInterface lists the matched sorted ids; the count is the same).

import { checkOptionNames } from '../core/params.js';
import { solveAssignment } from '../stages/track/linear-assignment.js';
import { ParameterError, describeValue } from '../core/errors.js';
import type { GroundTruthLike } from './types.js';

/** Anything with cluster ids and spike trains (SortedRecording qualifies). */
export interface SpikeTrainSource {
  clusterIds(): number[];
  spikes(id: number): ArrayLike<number>;
}

export type SpikeTrains =
  | SpikeTrainSource
  | Map<number, ArrayLike<number>>
  | { units: Record<string, ArrayLike<number>> };

export interface CompareOptions {
  /** Hz; taken from the ground truth when it has one. */
  samplingFrequency?: number;
  /** Spikes closer than this (ms) can match. Default 0.4 (SpikeInterface's delta_time). */
  deltaMs?: number;
  /** Hungarian pairs are kept at agreement >= this. Default 0.5. */
  matchScore?: number;
  /** A sorted unit's best GT match must reach this agreement. Default 0.1. */
  chanceScore?: number;
  /** Unmatched sorted units whose best agreement is >= this are redundant, else false positives. Default 0.2. */
  redundantScore?: number;
  /** Sorted units with agreement > this with two or more GT units are overmerged. Default 0.2. */
  overmergedScore?: number;
  /** GT units with accuracy >= this are well detected. Default 0.8. */
  wellDetectedScore?: number;
  /**
   * Which ground-truth SNR the table bins by: 'snr' (peak / broadband noise sd, default) or
   * 'filteredSnr' (what the detector sees; its default threshold is ~6.7).
   */
  snrField?: 'snr' | 'filteredSnr';
  /** SNR bin edges (ascending). Default [0, 3, 5, 8, 12, 20, Infinity], or [0, 5, 6.745, 10, 15, 25, Infinity] for filteredSnr. */
  snrBins?: number[];
}

export interface UnitPerformance {
  gtId: number;
  snr: number | null;
  numGt: number;
  /** Hungarian-matched sorted unit, or null. */
  sortedId: number | null;
  numSorted: number;
  tp: number; fn: number; fp: number;
  agreement: number;
  accuracy: number;
  /** NaN (null in JSON) when the unit is not matched. */
  precision: number;
  recall: number;
  wellDetected: boolean;
  /** Sorted unit with the highest agreement (even below matchScore), or null if none overlaps. */
  bestSortedId: number | null;
  bestAgreement: number;
}

export interface SnrBin { lo: number; hi: number; count: number; meanAccuracy: number; meanRecall: number; wellDetected: number }

export interface ComparisonReport {
  samplingFrequency: number;
  deltaMs: number;
  deltaSamples: number;
  scores: Required<Omit<CompareOptions, 'samplingFrequency' | 'deltaMs' | 'snrBins' | 'snrField'>>;
  /** The ground-truth field in UnitPerformance.snr and bySnr. */
  snrField: 'snr' | 'filteredSnr';
  gtIds: number[];
  sortedIds: number[];
  /** agreement[i][j] for gtIds[i], sortedIds[j]. */
  agreement: number[][];
  /** Matching spike counts, same layout. */
  matchCounts: number[][];
  matches: { gtId: number; sortedId: number; agreement: number }[];
  units: UnitPerformance[];
  /** GT unit ids with accuracy >= wellDetectedScore. */
  wellDetected: number[];
  /** Sorted unit ids. False positive: unmatched, best agreement below redundantScore (or none >= chanceScore). */
  falsePositiveUnits: number[];
  /** Unmatched, best agreement >= redundantScore with a GT unit whose own best match is another sorted unit. */
  redundantUnits: number[];
  /** Agreement > overmergedScore with two or more GT units. */
  overmergedUnits: number[];
  /** Every unmatched sorted unit (false positive, redundant, or the best but sub-0.5 match of a GT unit). */
  badUnits: number[];
  /** GT unit ids without a Hungarian match. */
  missedUnits: number[];
  totals: {
    numGt: number; numSorted: number; numMatched: number; numWellDetected: number;
    numFalsePositive: number; numRedundant: number; numOvermerged: number;
    meanAccuracy: number; meanPrecision: number; meanRecall: number;
  };
  bySnr: SnrBin[];
}

interface Train { id: number; t: Float64Array }

function toSortedTrain(id: number, v: ArrayLike<number>, what: string): Train {
  const t = Float64Array.from(v as ArrayLike<number>);
  let sorted = true;
  for (let i = 0; i < t.length; i++) {
    if (!Number.isFinite(t[i]!)) throw new ParameterError(what, t[i], `${what}: unit ${id} has a non-finite spike time ${describeValue(t[i])}`);
    if (i > 0 && t[i]! < t[i - 1]!) sorted = false;
  }
  if (!sorted) t.sort();
  return { id, t };
}

function parseId(key: string | number, what: string): number {
  const id = typeof key === 'number' ? key : Number(key);
  if (!Number.isFinite(id)) throw new ParameterError(what, key, `${what}: unit id ${describeValue(key)} is not a number; use numeric unit ids`);
  return id;
}

/** Normalises the accepted spike-train inputs to (id, ascending times) lists. */
export function toTrains(src: SpikeTrains | GroundTruthLike, what: string): Train[] {
  if (src === null || typeof src !== 'object') {
    throw new ParameterError(what, src, `${what} must be a SortedRecording, a Map of id -> spike times or { units: { id: [samples] } }, received ${describeValue(src)}`);
  }
  if (typeof (src as SpikeTrainSource).clusterIds === 'function' && typeof (src as SpikeTrainSource).spikes === 'function') {
    const s = src as SpikeTrainSource;
    return s.clusterIds().map((id) => toSortedTrain(id, s.spikes(id), what));
  }
  if (src instanceof Map) return [...src.entries()].map(([k, v]) => toSortedTrain(parseId(k, what), v, what));
  const units = (src as { units?: unknown }).units;
  if (Array.isArray(units)) {
    return units.map((u: { id: unknown; spikes: unknown }, i) => {
      if (u === null || typeof u !== 'object' || !(Array.isArray(u.spikes) || ArrayBuffer.isView(u.spikes))) {
        throw new ParameterError(what, u, `${what}: units[${i}] needs an id and a spikes array`);
      }
      return toSortedTrain(parseId(u.id as number, what), u.spikes as ArrayLike<number>, what);
    });
  }
  if (units !== null && typeof units === 'object') {
    return Object.entries(units as Record<string, unknown>).map(([k, v]) => {
      if (!(Array.isArray(v) || ArrayBuffer.isView(v))) throw new ParameterError(what, v, `${what}: units["${k}"] must be an array of spike sample indices`);
      return toSortedTrain(parseId(k, what), v as ArrayLike<number>, what);
    });
  }
  throw new ParameterError(what, src, `${what} has no clusterIds()/spikes(), is not a Map and has no "units"; expected { units: { id: [samples] } }`);
}

/**
 * Number of spike pairs within `delta` when each spike may match at most one spike of the
 * other train. Greedy on the two sorted trains is optimal here: the earliest unmatched spike
 * either pairs with the other train's earliest unmatched spike or with nothing.
 */
export function countMatches(a: ArrayLike<number>, b: ArrayLike<number>, delta: number): number {
  let i = 0, j = 0, n = 0;
  while (i < a.length && j < b.length) {
    const d = a[i]! - b[j]!;
    if (d <= delta && d >= -delta) { n++; i++; j++; } else if (d < 0) i++; else j++;
  }
  return n;
}

function num(param: string, v: unknown, def: number, ok: (x: number) => boolean, rule: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) throw new ParameterError(param, v, `compareToGroundTruth: ${param} must be ${rule}, received ${describeValue(v)}`);
  return v;
}

function mean(xs: number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
}

/** What a saved result says about the recording it sorted (SortedRecording has all of it). */
interface RecordingFacts {
  numChannels?: number;
  samplingFrequency?: number;
  startTime?: () => number;
  endTime?: () => number;
}

/**
 * Refuses a sorting of another recording than the ground truth's: different channel count,
 * sampling rate, or a time span that does not lie within the ground truth's samples (scores
 * would be near 0 and look like a failed sort). Checks what both sides carry; plain spike
 * trains carry nothing and pass.
 */
export function checkSameRecording(groundTruth: unknown, sorted: unknown): void {
  const gt = groundTruth as { numChannels?: number; samplingFrequency?: number; numSamples?: number };
  const so = sorted as RecordingFacts;
  const fix = 'score a sorting of the recording this ground truth was generated with (spikesift sort GT_DIR/recording.bin ... --out OUT, then compare GT_DIR/ground_truth.json OUT)';
  if (typeof gt?.numChannels === 'number' && typeof so?.numChannels === 'number' && gt.numChannels !== so.numChannels) {
    throw new ParameterError('groundTruth', gt.numChannels,
      `the ground truth is for a ${gt.numChannels}-channel recording but the sorting has ${so.numChannels} channels: they are not the same recording; ${fix}`);
  }
  if (typeof gt?.samplingFrequency === 'number' && typeof so?.samplingFrequency === 'number' && Math.abs(gt.samplingFrequency - so.samplingFrequency) > 1e-6 * gt.samplingFrequency) {
    throw new ParameterError('groundTruth', gt.samplingFrequency,
      `the ground truth is sampled at ${gt.samplingFrequency} Hz but the sorting at ${so.samplingFrequency} Hz: they are not the same recording; ${fix}`);
  }
  if (typeof gt?.numSamples === 'number' && typeof gt.samplingFrequency === 'number' && typeof so?.endTime === 'function' && typeof so.startTime === 'function') {
    const start = so.startTime();
    const end = so.endTime();
    if (start < 0 || end > gt.numSamples) {
      const s = (x: number) => `${(x / gt.samplingFrequency!).toFixed(3)} s`;
      throw new ParameterError('groundTruth', gt.numSamples,
        `the sorting covers samples ${start} to ${end} (${s(start)} to ${s(end)}) but the ground truth has ${gt.numSamples} samples (${s(gt.numSamples)}): they are not the same recording; ${fix}`);
    }
  }
}

export function compareToGroundTruth(groundTruth: GroundTruthLike | SpikeTrains, sorted: SpikeTrains, opts: CompareOptions = {}): ComparisonReport {
  checkOptionNames('compareToGroundTruth', opts, ['samplingFrequency', 'deltaMs', 'matchScore', 'chanceScore', 'redundantScore', 'overmergedScore', 'wellDetectedScore', 'snrField', 'snrBins']);
  const gtFs = (groundTruth as GroundTruthLike)?.samplingFrequency;
  const fsIn = opts.samplingFrequency ?? gtFs;
  if (typeof fsIn !== 'number' || !Number.isFinite(fsIn) || fsIn <= 0) {
    throw new ParameterError('samplingFrequency', fsIn,
      `compareToGroundTruth: samplingFrequency must be a positive number (Hz), received ${describeValue(fsIn)}; pass it when the ground truth does not carry one`);
  }
  const samplingFrequency = fsIn;
  checkSameRecording(groundTruth, sorted);
  const deltaMs = num('deltaMs', opts.deltaMs, 0.4, (x) => Number.isFinite(x) && x >= 0, 'a non-negative number of ms');
  const scores = {
    matchScore: num('matchScore', opts.matchScore, 0.5, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    chanceScore: num('chanceScore', opts.chanceScore, 0.1, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    redundantScore: num('redundantScore', opts.redundantScore, 0.2, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    overmergedScore: num('overmergedScore', opts.overmergedScore, 0.2, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    wellDetectedScore: num('wellDetectedScore', opts.wellDetectedScore, 0.8, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
  };
  const snrField = opts.snrField ?? 'snr';
  if (snrField !== 'snr' && snrField !== 'filteredSnr') {
    throw new ParameterError('snrField', snrField, `compareToGroundTruth: snrField must be 'snr' or 'filteredSnr', received ${describeValue(snrField)}`);
  }
  const snrBins = opts.snrBins ?? (snrField === 'snr' ? [0, 3, 5, 8, 12, 20, Infinity] : [0, 5, 6.745, 10, 15, 25, Infinity]);
  if (!Array.isArray(snrBins) || snrBins.length < 2 || snrBins.some((x, i) => typeof x !== 'number' || Number.isNaN(x) || (i > 0 && x <= snrBins[i - 1]!))) {
    throw new ParameterError('snrBins', snrBins, `compareToGroundTruth: snrBins must be at least two ascending numbers, received ${describeValue(snrBins)}`);
  }
  // SpikeInterface: delta_frames = int(delta_time / 1000 * fs); the epsilon guards 0.4*30 = 11.999...
  const deltaSamples = Math.floor((deltaMs / 1000) * samplingFrequency + 1e-9);

  const gt = toTrains(groundTruth as SpikeTrains, 'groundTruth');
  const st = toTrains(sorted, 'sorted');
  const snrOf = new Map<number, number | null>();
  const gtUnits = (groundTruth as GroundTruthLike).units;
  if (Array.isArray(gtUnits)) {
    for (const u of gtUnits) {
      const v = (u as Record<string, unknown>)[snrField];
      snrOf.set(Number(u.id), typeof v === 'number' ? v : null);
    }
  }
  const G = gt.length, S = st.length;

  // Candidate pairs: all sorted spikes in one time-ordered list; each GT spike looks at the
  // sorted spikes within delta. Only pairs with a coincidence get the exact count.
  let total = 0;
  for (const s of st) total += s.t.length;
  const allT = new Float64Array(total), allU = new Int32Array(total);
  {
    const idx: number[] = [];
    const tmpT = new Float64Array(total), tmpU = new Int32Array(total);
    let k = 0;
    st.forEach((s, j) => { for (let i = 0; i < s.t.length; i++) { tmpT[k] = s.t[i]!; tmpU[k] = j; idx.push(k); k++; } });
    idx.sort((a, b) => tmpT[a]! - tmpT[b]! || tmpU[a]! - tmpU[b]!);
    idx.forEach((src, dst) => { allT[dst] = tmpT[src]!; allU[dst] = tmpU[src]!; });
  }
  const counts = new Float64Array(G * S);
  const stamp = new Int32Array(S).fill(-1);
  for (let i = 0; i < G; i++) {
    const t = gt[i]!.t;
    const cand: number[] = [];
    let lo = 0;
    for (let k = 0; k < t.length; k++) {
      const x = t[k]!;
      while (lo < total && allT[lo]! < x - deltaSamples) lo++;
      for (let m = lo; m < total && allT[m]! <= x + deltaSamples; m++) {
        const j = allU[m]!;
        if (stamp[j] !== i) { stamp[j] = i; cand.push(j); }
      }
    }
    for (const j of cand) counts[i * S + j] = countMatches(t, st[j]!.t, deltaSamples);
  }
  const agreement = new Float64Array(G * S);
  for (let i = 0; i < G; i++) {
    for (let j = 0; j < S; j++) {
      const m = counts[i * S + j]!;
      if (m > 0) agreement[i * S + j] = m / (gt[i]!.t.length + st[j]!.t.length - m);
    }
  }

  // Hungarian on agreement, scores below matchScore zeroed (as SpikeInterface does), then only
  // pairs reaching matchScore are kept.
  const matchOfGt = new Int32Array(G).fill(-1);
  const matchOfSorted = new Int32Array(S).fill(-1);
  if (G > 0 && S > 0) {
    const cost = new Float64Array(G * S);
    for (let k = 0; k < G * S; k++) cost[k] = agreement[k]! >= scores.matchScore ? -agreement[k]! : 0;
    const { rowToCol } = solveAssignment(cost, G, S);
    for (let i = 0; i < G; i++) {
      const j = rowToCol[i]!;
      if (j >= 0 && agreement[i * S + j]! >= scores.matchScore && agreement[i * S + j]! > 0) { matchOfGt[i] = j; matchOfSorted[j] = i; }
    }
  }

  const units: UnitPerformance[] = gt.map((g, i) => {
    const j = matchOfGt[i]!;
    let best = -1, bestA = 0;
    for (let jj = 0; jj < S; jj++) if (agreement[i * S + jj]! > bestA) { bestA = agreement[i * S + jj]!; best = jj; }
    const numGt = g.t.length;
    const snr = snrOf.get(g.id) ?? null;
    if (j < 0) {
      return { gtId: g.id, snr, numGt, sortedId: null, numSorted: 0, tp: 0, fn: numGt, fp: 0, agreement: 0, accuracy: 0,
        precision: NaN, recall: 0, wellDetected: false, bestSortedId: best >= 0 ? st[best]!.id : null, bestAgreement: bestA };
    }
    const tp = counts[i * S + j]!, numSorted = st[j]!.t.length;
    const fn = numGt - tp, fp = numSorted - tp;
    const accuracy = tp / (tp + fn + fp);
    return {
      gtId: g.id, snr, numGt, sortedId: st[j]!.id, numSorted, tp, fn, fp, agreement: agreement[i * S + j]!, accuracy,
      precision: tp / (tp + fp), recall: numGt > 0 ? tp / numGt : NaN, wellDetected: accuracy >= scores.wellDetectedScore,
      bestSortedId: best >= 0 ? st[best]!.id : null, bestAgreement: bestA,
    };
  });

  // "Best match" as SpikeInterface makes it: highest agreement (first on ties) if >= chanceScore.
  const bestOfGt = new Int32Array(G).fill(-1), bestOfSorted = new Int32Array(S).fill(-1);
  for (let i = 0; i < G; i++) {
    let b = -1, ba = 0;
    for (let j = 0; j < S; j++) if (agreement[i * S + j]! > ba) { ba = agreement[i * S + j]!; b = j; }
    if (b >= 0 && ba >= scores.chanceScore) bestOfGt[i] = b;
  }
  for (let j = 0; j < S; j++) {
    let b = -1, ba = 0;
    for (let i = 0; i < G; i++) if (agreement[i * S + j]! > ba) { ba = agreement[i * S + j]!; b = i; }
    if (b >= 0 && ba >= scores.chanceScore) bestOfSorted[j] = b;
  }
  const falsePositiveUnits: number[] = [], redundantUnits: number[] = [], overmergedUnits: number[] = [], badUnits: number[] = [];
  for (let j = 0; j < S; j++) {
    let above = 0;
    for (let i = 0; i < G; i++) if (agreement[i * S + j]! > scores.overmergedScore) above++;
    if (above >= 2) overmergedUnits.push(st[j]!.id);
    if (matchOfSorted[j]! >= 0) continue;
    badUnits.push(st[j]!.id);
    const i = bestOfSorted[j]!;
    if (i < 0 || agreement[i * S + j]! < scores.redundantScore) falsePositiveUnits.push(st[j]!.id);
    // Redundant: a second (or later) detection of a GT unit, i.e. not that unit's own best match.
    else if (bestOfGt[i] !== j) redundantUnits.push(st[j]!.id);
  }

  const bySnr: SnrBin[] = [];
  for (let b = 0; b + 1 < snrBins.length; b++) {
    const lo = snrBins[b]!, hi = snrBins[b + 1]!;
    const inBin = units.filter((u) => u.snr !== null && u.snr >= lo && u.snr < hi);
    bySnr.push({
      lo, hi, count: inBin.length,
      meanAccuracy: mean(inBin.map((u) => u.accuracy)),
      meanRecall: mean(inBin.map((u) => u.recall)),
      wellDetected: inBin.filter((u) => u.wellDetected).length,
    });
  }

  const toRows = (a: Float64Array): number[][] => Array.from({ length: G }, (_, i) => Array.from(a.subarray(i * S, (i + 1) * S)));
  const matches = units.filter((u) => u.sortedId !== null).map((u) => ({ gtId: u.gtId, sortedId: u.sortedId!, agreement: u.agreement }));
  return {
    samplingFrequency, deltaMs, deltaSamples, scores, snrField,
    gtIds: gt.map((g) => g.id), sortedIds: st.map((s) => s.id),
    agreement: toRows(agreement), matchCounts: toRows(counts),
    matches, units,
    wellDetected: units.filter((u) => u.wellDetected).map((u) => u.gtId),
    falsePositiveUnits, redundantUnits, overmergedUnits, badUnits,
    missedUnits: units.filter((u) => u.sortedId === null).map((u) => u.gtId),
    totals: {
      numGt: G, numSorted: S, numMatched: matches.length,
      numWellDetected: units.filter((u) => u.wellDetected).length,
      numFalsePositive: falsePositiveUnits.length, numRedundant: redundantUnits.length, numOvermerged: overmergedUnits.length,
      meanAccuracy: mean(units.map((u) => u.accuracy)),
      meanPrecision: mean(units.map((u) => u.precision)),
      meanRecall: mean(units.map((u) => u.recall)),
    },
    bySnr,
  };
}

function f3(x: number): string {
  return Number.isNaN(x) ? '-' : x.toFixed(3);
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((c, k) => c.padStart(w[k]!)).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** Human-readable summary, per-unit table and accuracy by SNR. */
export function formatComparison(report: ComparisonReport): string {
  const t = report.totals;
  const out: string[] = [];
  out.push(`Ground-truth comparison (delta ${report.deltaMs} ms = ${report.deltaSamples} samples at ${report.samplingFrequency} Hz)`);
  out.push(`GT units ${t.numGt}, sorted units ${t.numSorted}, matched ${t.numMatched}, ` +
    `well detected (accuracy >= ${report.scores.wellDetectedScore}) ${t.numWellDetected}, ` +
    `false positive ${t.numFalsePositive}, redundant ${t.numRedundant}, overmerged ${t.numOvermerged}`);
  out.push(`mean accuracy ${f3(t.meanAccuracy)}, mean precision ${f3(t.meanPrecision)} (matched units), mean recall ${f3(t.meanRecall)}`);
  out.push('');
  const snrName = report.snrField === 'snr' ? 'snr' : 'fsnr';
  out.push(table(['gt', snrName, 'n_gt', 'sorted', 'n_sorted', 'tp', 'fn', 'fp', 'accuracy', 'precision', 'recall', 'well'],
    report.units.map((u) => [String(u.gtId), u.snr === null ? '-' : u.snr.toFixed(1), String(u.numGt), u.sortedId === null ? '-' : String(u.sortedId),
      String(u.numSorted), String(u.tp), String(u.fn), String(u.fp), f3(u.accuracy), f3(u.precision), f3(u.recall), u.wellDetected ? 'yes' : ''])));
  if (report.bySnr.some((b) => b.count > 0)) {
    out.push('');
    out.push(report.snrField === 'snr' ? 'Accuracy by SNR' : 'Accuracy by filtered SNR (the default detection threshold is ~6.7)');
    out.push(table([snrName, 'units', 'well', 'mean accuracy', 'mean recall'],
      report.bySnr.filter((b) => b.count > 0).map((b) => [`${+b.lo.toFixed(2)}-${b.hi === Infinity ? 'inf' : +b.hi.toFixed(2)}`, String(b.count), String(b.wellDetected), f3(b.meanAccuracy), f3(b.meanRecall)])));
  }
  // "2 false-positive sorted units: ids 7, 9": the count first, so an id list never reads as a count.
  const list = (name: string, ids: number[]): void => {
    if (ids.length) out.push(`${ids.length} ${name.replace(/units\b/, ids.length === 1 ? 'unit' : 'units')}: ${ids.length === 1 ? 'id' : 'ids'} ${ids.join(', ')}`);
  };
  out.push('');
  list('missed GT units', report.missedUnits);
  list('false-positive sorted units', report.falsePositiveUnits);
  list('redundant sorted units', report.redundantUnits);
  list('overmerged sorted units', report.overmergedUnits);
  const other = report.badUnits.filter((id) => !report.falsePositiveUnits.includes(id) && !report.redundantUnits.includes(id));
  list('unmatched sorted units that are a GT unit\'s best (below 0.5) match', other);
  return out.join('\n').replace(/\n+$/, '') + '\n';
}
