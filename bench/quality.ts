/**
 * Sorting quality against ground truth, with a breakdown of where accuracy is lost.
 *
 *   node --import ./scripts/ts-loader.mjs bench/quality.ts [--only name,name] [--modes reference,improved]
 *        [--segments 10,5] [--save-sorted] [--sort-options JSON]
 *
 * Generates recordings with the generator's defaults (SNR 3-20, bursts, close pairs, background
 * units) plus what the reference loses (sparse large units at 0.3-2 Hz, units that start or stop
 * mid-recording, zigzag drift on Neuropixels-1.0 geometry, 10-minute recordings) into
 * <tmpdir>/spikesift-quality-v2 (reused when present), sorts each in both modes and at each
 * minimum segment length (backend 'cpu') and prints markdown tables (results: bench/QUALITY.md).
 *
 * Per ground-truth unit three numbers are compared:
 *  - detectable: its filteredSnr (trough after the detector's filter / filtered noise sd)
 *    reaches the threshold the sorter actually used on the unit's best channel, in the same
 *    units (-thr[c] / detectorNoiseSd);
 *  - per-segment ceiling ("oracle"): in every segment, the sorted unit of that segment with the
 *    highest agreement with the unit's spikes in the segment's time span; their matches and
 *    spike counts summed over the segments give the accuracy a perfect linking of the
 *    segments' units would reach (clustering and detection losses only);
 *  - chained: the accuracy of the whole-recording id (compareToGroundTruth on the result).
 * Losses (in units of mean accuracy over all GT units, so they add up to 1 - mean accuracy):
 *  - below threshold: 1 - chained, over units that are not detectable;
 *  - in segments: 1 - oracle, over detectable units (detection misses, splits, merges);
 *  - linking: oracle - chained, over detectable units (chains that break, wrong links, units
 *    that never get an id because they are missing from the first segment).
 * Link table: for consecutive segments where a GT unit has a sorted unit with agreement >= 0.5
 * on both sides, whether the assignment linked those two units (correct), linked the first to
 * another unit (wrong), or left it unlinked (dropped); and how many detectable units have no
 * matching unit (agreement >= 0.5) in the first segment, so no id at all.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareToGroundTruth, countMatches, generateRecording, loadGroundTruth, type GroundTruth } from '../src/groundtruth/index.js';
import type { ProbePreset } from '../src/groundtruth/probes.js';
import { Recording } from '../src/formats/recording.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSortingDetailed, type SortOptions } from '../src/pipeline/perform.js';
import { presetLayout } from '../src/groundtruth/probes.js';
import type { GenerateOptions } from '../src/groundtruth/generate.js';

/** 'np64': the first 64 sites of the Neuropixels-1.0-like np384 layout (4 staggered x positions, 20 µm rows). */
interface Config { name: string; kind: 'static' | 'drifting' | '10-minute'; preset: ProbePreset | 'np64'; duration: number; seed: number; extra: Omit<GenerateOptions, 'out'> }

// What the reference loses (issue 11): sparse high-SNR units (0.3-2 Hz), units that start or
// stop mid-recording, zigzag drift on Neuropixels-1.0 geometry, 10-minute recordings.
const HARD = { sparseUnits: 3, lifetimeFraction: 0.25 };
const ZIGZAG = { drift: { zigzag: { amplitude: 20, period: 100 } } };
export const CONFIGS: Config[] = [
  { name: 'lin32-60s-seed1', kind: 'static', preset: 'linear32', duration: 60, seed: 1, extra: HARD },
  { name: 'lin32-60s-seed2', kind: 'static', preset: 'linear32', duration: 60, seed: 2, extra: HARD },
  { name: 'np64-zigzag-120s-seed1', kind: 'drifting', preset: 'np64', duration: 120, seed: 1, extra: { ...HARD, ...ZIGZAG } },
  { name: 'np64-zigzag-120s-seed2', kind: 'drifting', preset: 'np64', duration: 120, seed: 2, extra: { ...HARD, ...ZIGZAG } },
  { name: 'np64-zigzag-120s-seed3', kind: 'drifting', preset: 'np64', duration: 120, seed: 3, extra: { ...HARD, ...ZIGZAG } },
  { name: 'lin32-600s-seed1', kind: '10-minute', preset: 'linear32', duration: 600, seed: 1, extra: HARD },
  { name: 'lin32-600s-seed2', kind: '10-minute', preset: 'linear32', duration: 600, seed: 2, extra: HARD },
];

export const QUALITY_DIR = join(tmpdir(), 'spikesift-quality-v2');

export async function ensureRecording(cfg: Config): Promise<{ dir: string; gt: GroundTruth; rec: Recording }> {
  const dir = join(QUALITY_DIR, cfg.name);
  if (!existsSync(join(dir, 'ground_truth.json'))) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`generating ${cfg.name} into ${dir} ...\n`);
    const probe = cfg.preset === 'np64' ? { geometry: presetLayout('np384').positions.slice(0, 64) } : { preset: cfg.preset };
    await generateRecording({ out: dir, ...probe, duration: cfg.duration, seed: cfg.seed, ...cfg.extra });
  }
  const gt = loadGroundTruth(join(dir, 'ground_truth.json'));
  const rec = new Recording({
    binaryFile: join(dir, 'recording.bin'), dataType: gt.dataType, probeGeometry: gt.probeGeometry,
    samplingFrequency: gt.samplingFrequency,
  });
  return { dir, gt, rec };
}

export interface UnitBreakdown {
  id: number;
  snr: number;
  filteredSnr: number;
  thresholdSd: number;
  detectable: boolean;
  oracle: number;
  chained: number;
  /** Matching unit (agreement >= 0.5) in the first segment. */
  inFirstSegment: boolean;
  /** Summed over segments, for the best unit of each segment: GT spikes, its matches, GT spikes found only by other units (split off), its spikes that are not the GT unit's (merged in). */
  numGt: number;
  found: number;
  splitOff: number;
  mergedIn: number;
}

export interface Breakdown {
  units: UnitBreakdown[];
  meanAccuracy: number;
  wellDetected: number;
  numSegments: number;
  numIds: number;
  /** Sorted ids matching no GT unit (false positive) or a GT unit that another id matches better (redundant). */
  numFalsePositive: number;
  numRedundant: number;
  links: { correct: number; wrong: number; dropped: number };
  /**
   * Along every id, each pair of successive segments where it has a unit (across skipped
   * segments too): both units matching (agreement >= 0.5) the same GT unit (true) or
   * different ones (false link).
   */
  idLinks: { true: number; false: number };
}

/** The loss breakdown of one sorted result (see the file comment). */
export function breakdown(gt: GroundTruth, sorted: SortedRecording, thresholds: Float32Array): Breakdown {
  const fs = gt.samplingFrequency;
  const delta = Math.floor(0.0004 * fs + 1e-9);
  const report = compareToGroundTruth(gt, sorted);
  const chainedOf = new Map(report.units.map((u) => [u.gtId, u.accuracy]));
  const segs = sorted.segments;
  const gtTrains = gt.units.map((u) => Float64Array.from(u.spikes));
  // Per GT unit and segment: best unit, its matches and spike count.
  const best: { unit: number; agreement: number; tp: number; nGt: number; nSorted: number; others: number }[][] = gt.units.map(() => []);
  segs.forEach((seg, s) => {
    gt.units.forEach((_, g) => {
      const all = gtTrains[g]!;
      let lo = 0;
      while (lo < all.length && all[lo]! < seg.start) lo++;
      let hi = lo;
      while (hi < all.length && all[hi]! < seg.end) hi++;
      const part = all.subarray(lo, hi);
      let b = { unit: -1, agreement: 0, tp: 0, nGt: part.length, nSorted: 0, others: 0 };
      let matched = 0;
      seg.spikes.forEach((train, k) => {
        const m = countMatches(part, train, delta);
        matched += m;
        const a = m > 0 ? m / (part.length + train.length - m) : 0;
        if (a > b.agreement) b = { unit: k, agreement: a, tp: m, nGt: part.length, nSorted: train.length, others: 0 };
      });
      // GT spikes of the span found by other units of the segment (split off), at most the best unit's misses.
      b.others = Math.min(matched - b.tp, b.nGt - b.tp);
      best[g]!.push(b);
    });
  });
  const links = { correct: 0, wrong: 0, dropped: 0 };
  const units: UnitBreakdown[] = gt.units.map((u, g) => {
    let tp = 0, nGt = 0, nSorted = 0, splitOff = 0;
    for (const b of best[g]!) { tp += b.tp; nGt += b.nGt; nSorted += b.nSorted; splitOff += b.others; }
    const oracle = nGt + nSorted - tp > 0 ? tp / (nGt + nSorted - tp) : 0;
    for (let s = 0; s + 1 < segs.length; s++) {
      const a = best[g]![s]!, b = best[g]![s + 1]!;
      if (a.agreement < 0.5 || b.agreement < 0.5) continue;
      const to = sorted.links[s]![a.unit]!;
      if (to === b.unit) links.correct++;
      else if (to < 0) links.dropped++;
      else links.wrong++;
    }
    const thresholdSd = gt.detectorNoiseSd ? -thresholds[u.bestChannel]! / gt.detectorNoiseSd : NaN;
    const filteredSnr = u.filteredSnr ?? NaN;
    return {
      id: u.id, snr: u.snr ?? NaN, filteredSnr, thresholdSd, detectable: filteredSnr >= thresholdSd, oracle,
      chained: chainedOf.get(u.id) ?? 0, inFirstSegment: best[g]![0]!.agreement >= 0.5,
      numGt: nGt, found: tp, splitOff, mergedIn: nSorted - tp,
    };
  });
  // GT unit matched by each sorted unit of each segment (agreement >= 0.5), or -1.
  const matchOf: Int32Array[] = segs.map((seg) => new Int32Array(seg.spikes.length).fill(-1));
  best.forEach((perSeg, g) => perSeg.forEach((b, s) => { if (b.agreement >= 0.5) matchOf[s]![b.unit] = g; }));
  const idLinks = { true: 0, false: 0 };
  for (const id of sorted.clusterIds()) {
    const chain = sorted.chain(id);
    let prev = -1;
    for (let s = 0; s < chain.length; s++) {
      if (chain[s]! < 0) continue;
      const m = matchOf[s]![chain[s]!]!;
      if (m >= 0 && prev >= 0) { if (m === prev) idLinks.true++; else idLinks.false++; }
      prev = m >= 0 ? m : prev;
    }
  }
  return {
    idLinks,
    units, meanAccuracy: report.totals.meanAccuracy, wellDetected: report.totals.numWellDetected,
    numSegments: segs.length, numIds: sorted.length, numFalsePositive: report.totals.numFalsePositive,
    numRedundant: report.totals.numRedundant, links,
  };
}

interface Args { only: string[] | null; saveSorted: boolean; sortOptions: SortOptions; modes: ('reference' | 'improved')[]; segments: number[] }

function parseArgs(argv: string[]): Args {
  const a: Args = { only: null, saveSorted: false, sortOptions: {}, modes: ['reference', 'improved'], segments: [10, 5] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--only') a.only = (argv[++i] ?? '').split(',');
    else if (k === '--save-sorted') a.saveSorted = true;
    else if (k === '--sort-options') a.sortOptions = JSON.parse(argv[++i] ?? '{}') as SortOptions;
    else if (k === '--modes') a.modes = (argv[++i] ?? '').split(',') as Args['modes'];
    else if (k === '--segments') a.segments = (argv[++i] ?? '').split(',').map(Number);
    else if (k === '--help' || k === '-h') {
      console.log('usage: node --import ./scripts/ts-loader.mjs bench/quality.ts [--only name,name] [--modes reference,improved] [--segments 10,5] [--save-sorted] [--sort-options JSON]');
      console.log(`recordings: ${CONFIGS.map((c) => c.name).join(', ')}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${k} (try --help)`);
  }
  return a;
}

const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const BANDS: [string, number, number][] = [['SNR < 6', 0, 6], ['6-10', 6, 10], ['>= 10', 10, Infinity]];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const configs = CONFIGS.filter((c) => !args.only || args.only.includes(c.name));
  const rows: string[] = [];
  const linkRows: string[] = [];
  const acc = new Map<string, number>();
  for (const cfg of configs) {
    const { dir, gt, rec } = await ensureRecording(cfg);
    for (const L of args.segments) {
      for (const mode of args.modes) {
        const t0 = performance.now();
        const { sorted, thresholds, stats } = await performSpikeSortingDetailed(rec, {
          verbose: false, backend: 'cpu', detectionPolarity: gt.detectionPolarity, minSegmentLength: L, mode, ...args.sortOptions,
        });
        const seconds = (performance.now() - t0) / 1000;
        if (args.saveSorted) await sorted.save(join(dir, `sorted-${mode}-L${L}.spks`));
        const b = breakdown(gt, sorted, thresholds);
        const N = b.units.length;
        const det = b.units.filter((u) => u.detectable);
        const lossBelow = b.units.filter((u) => !u.detectable).reduce((s, u) => s + (1 - u.chained), 0) / N;
        const lossSeg = det.reduce((s, u) => s + (1 - u.oracle), 0) / N;
        const lossLink = det.reduce((s, u) => s + (u.oracle - u.chained), 0) / N;
        const bands = BANDS.map(([, lo, hi]) => {
          const us = b.units.filter((u) => u.snr >= lo && u.snr < hi);
          return us.length ? `${f3(us.reduce((s, u) => s + u.chained, 0) / us.length)} (${us.length})` : '-';
        });
        acc.set(`${cfg.name}|${L}|${mode}`, b.meanAccuracy);
        rows.push(`| ${cfg.name} | ${cfg.kind} | ${L} | ${mode} | ${N} | ${det.length} | ${b.numSegments} | ${b.numIds} | ${b.numFalsePositive} / ${b.numRedundant} | **${f3(b.meanAccuracy)}** | ` +
          `${bands.join(' | ')} | ${f3(lossBelow)} | ${f3(lossSeg)} | ${f3(lossLink)} | ${b.idLinks.true} / ${b.idLinks.false} | ${seconds.toFixed(1)} | ${(stats.recoverMs / 1000).toFixed(1)} | ${(stats.poolMs / 1000).toFixed(1)} |`);
        linkRows.push(`| ${cfg.name} | ${L} | ${mode} | ${b.links.correct} | ${b.links.wrong} | ${b.links.dropped} |`);
        process.stderr.write(`${cfg.name} L=${L} ${mode}: mean accuracy ${f3(b.meanAccuracy)}, ids ${b.numIds}, fp ${b.numFalsePositive}, false links ${b.idLinks.false} (${seconds.toFixed(1)} s)\n`);
        if (process.env.QUALITY_UNITS) {
          for (const u of b.units) {
            process.stderr.write(`  unit ${u.id}: snr ${f2(u.snr)} fSNR ${f2(u.filteredSnr)} thr ${f2(u.thresholdSd)} oracle ${f3(u.oracle)} chained ${f3(u.chained)} gt ${u.numGt} found ${u.found} split ${u.splitOff} merged ${u.mergedIn}${u.inFirstSegment ? '' : ' (not in segment 0)'}\n`);
          }
        }
      }
    }
  }
  console.log(`| recording | kind | L s | mode | GT units | detectable | segments | ids | false positive / redundant ids | mean accuracy | ${BANDS.map((b) => b[0]).join(' | ')} | loss: detection | loss: in segments | loss: linking | id links true / false | sort s | of which recovery s | of which pooling s |`);
  console.log('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('');
  if (args.modes.includes('reference') && args.modes.includes('improved')) {
    console.log('Mean accuracy, improved minus reference (per recording, per L):');
    console.log('');
    for (const cfg of configs) {
      const d = args.segments.map((L) => `L ${L}: ${f3(acc.get(`${cfg.name}|${L}|improved`)! - acc.get(`${cfg.name}|${L}|reference`)!)}`);
      console.log(`- ${cfg.name} (${cfg.kind}): ${d.join(', ')}`);
    }
    console.log('');
  }
  console.log('Links between consecutive segments where a GT unit has a unit with agreement >= 0.5 on both sides (links of the result):');
  console.log('');
  console.log('| recording | L s | mode | correct | wrong | dropped |');
  console.log('|---|---:|---|---:|---:|---:|');
  for (const r of linkRows) console.log(r);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}
