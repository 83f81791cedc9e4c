/**
 * Sorting quality against ground truth, with a breakdown of where accuracy is lost.
 *
 *   node --import ./scripts/ts-loader.mjs bench/quality.ts [--only name,name] [--save-sorted] [--sort-options JSON]
 *
 * Generates a few recordings with the generator's defaults (SNR 3-20, bursts, close pairs,
 * background units) into <tmpdir>/spikesift-quality (reused when present), sorts each with the
 * sorter's defaults (backend 'cpu') and prints markdown tables (results: bench/QUALITY.md).
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

interface Config { name: string; preset: ProbePreset; duration: number; seed: number; driftRate: number }

export const CONFIGS: Config[] = [
  { name: 'linear32-60s-seed1', preset: 'linear32', duration: 60, seed: 1, driftRate: 0 },
  { name: 'linear32-60s-seed2', preset: 'linear32', duration: 60, seed: 2, driftRate: 0 },
  { name: 'linear32-60s-seed3', preset: 'linear32', duration: 60, seed: 3, driftRate: 0 },
  { name: 'poly64-60s-drift1-seed1', preset: 'poly64', duration: 60, seed: 1, driftRate: 1 },
  { name: 'poly64-60s-drift1-seed2', preset: 'poly64', duration: 60, seed: 2, driftRate: 1 },
  { name: 'np384-30s-seed1', preset: 'np384', duration: 30, seed: 1, driftRate: 0 },
  { name: 'np384-30s-seed2', preset: 'np384', duration: 30, seed: 2, driftRate: 0 },
];

export const QUALITY_DIR = join(tmpdir(), 'spikesift-quality');

export async function ensureRecording(cfg: Config): Promise<{ dir: string; gt: GroundTruth; rec: Recording }> {
  const dir = join(QUALITY_DIR, cfg.name);
  if (!existsSync(join(dir, 'ground_truth.json'))) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`generating ${cfg.name} into ${dir} ...\n`);
    await generateRecording({ out: dir, preset: cfg.preset, duration: cfg.duration, seed: cfg.seed, drift: { rate: cfg.driftRate } });
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
      id: u.id, filteredSnr, thresholdSd, detectable: filteredSnr >= thresholdSd, oracle,
      chained: chainedOf.get(u.id) ?? 0, inFirstSegment: best[g]![0]!.agreement >= 0.5,
      numGt: nGt, found: tp, splitOff, mergedIn: nSorted - tp,
    };
  });
  return {
    units, meanAccuracy: report.totals.meanAccuracy, wellDetected: report.totals.numWellDetected,
    numSegments: segs.length, numIds: sorted.length, numFalsePositive: report.totals.numFalsePositive,
    numRedundant: report.totals.numRedundant, links,
  };
}

function parseArgs(argv: string[]): { only: string[] | null; saveSorted: boolean; sortOptions: SortOptions } {
  const a = { only: null as string[] | null, saveSorted: false, sortOptions: {} as SortOptions };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--only') a.only = (argv[++i] ?? '').split(',');
    else if (k === '--save-sorted') a.saveSorted = true;
    else if (k === '--sort-options') a.sortOptions = JSON.parse(argv[++i] ?? '{}') as SortOptions;
    else if (k === '--help' || k === '-h') {
      console.log('usage: node --import ./scripts/ts-loader.mjs bench/quality.ts [--only name,name] [--save-sorted] [--sort-options JSON]');
      console.log(`recordings: ${CONFIGS.map((c) => c.name).join(', ')}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${k} (try --help)`);
  }
  return a;
}

const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const configs = CONFIGS.filter((c) => !args.only || args.only.includes(c.name));
  const rows: string[] = [];
  const linkRows: string[] = [];
  const segRows: string[] = [];
  let sumAcc = 0;
  for (const cfg of configs) {
    const { dir, gt, rec } = await ensureRecording(cfg);
    const t0 = performance.now();
    const { sorted, thresholds } = await performSpikeSortingDetailed(rec, { verbose: false, backend: 'cpu', detectionPolarity: gt.detectionPolarity, ...args.sortOptions });
    const seconds = (performance.now() - t0) / 1000;
    if (args.saveSorted) {
      await sorted.save(join(dir, 'sorted.spks'));
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'thresholds.json'), JSON.stringify(Array.from(thresholds)));
    }
    const b = breakdown(gt, sorted, thresholds);
    const N = b.units.length;
    const det = b.units.filter((u) => u.detectable);
    const lossBelow = b.units.filter((u) => !u.detectable).reduce((s, u) => s + (1 - u.chained), 0) / N;
    const lossSeg = det.reduce((s, u) => s + (1 - u.oracle), 0) / N;
    const lossLink = det.reduce((s, u) => s + (u.oracle - u.chained), 0) / N;
    const meanOracleDet = det.length ? det.reduce((s, u) => s + u.oracle, 0) / det.length : NaN;
    const meanChainedDet = det.length ? det.reduce((s, u) => s + u.chained, 0) / det.length : NaN;
    const noFirst = det.filter((u) => !u.inFirstSegment && u.oracle >= 0.5).length;
    const lostByLinking = det.filter((u) => u.oracle >= 0.5 && u.chained < 0.5).length;
    const detGt = det.reduce((s, u) => s + u.numGt, 0);
    const pct = (x: number): string => `${((100 * x) / Math.max(1, detGt)).toFixed(1)}%`;
    const found = det.reduce((s, u) => s + u.found, 0);
    const splitOff = det.reduce((s, u) => s + u.splitOff, 0);
    const mergedIn = det.reduce((s, u) => s + u.mergedIn, 0);
    segRows.push(`| ${cfg.name} | ${detGt} | ${pct(found)} | ${pct(splitOff)} | ${pct(detGt - found - splitOff)} | ${pct(mergedIn)} |`);
    sumAcc += b.meanAccuracy;
    rows.push(`| ${cfg.name} | ${N} | ${det.length} | ${b.numSegments} | ${b.numIds} | ${b.numFalsePositive} / ${b.numRedundant} | **${f3(b.meanAccuracy)}** | ${b.wellDetected} | ` +
      `${f3(meanOracleDet)} | ${f3(meanChainedDet)} | ${f3(lossBelow)} | ${f3(lossSeg)} | ${f3(lossLink)} | ${seconds.toFixed(1)} |`);
    linkRows.push(`| ${cfg.name} | ${b.links.correct} | ${b.links.wrong} | ${b.links.dropped} | ${lostByLinking} | ${noFirst} |`);
    process.stderr.write(`${cfg.name}: mean accuracy ${f3(b.meanAccuracy)} (${seconds.toFixed(1)} s)\n`);
    if (process.env.QUALITY_UNITS) {
      for (const u of b.units) {
        process.stderr.write(`  unit ${u.id}: fSNR ${f2(u.filteredSnr)} thr ${f2(u.thresholdSd)} oracle ${f3(u.oracle)} chained ${f3(u.chained)} gt ${u.numGt} found ${u.found} split ${u.splitOff} merged ${u.mergedIn}${u.inFirstSegment ? '' : ' (not in segment 0)'}\n`);
      }
    }
  }
  console.log('| recording | GT units | detectable | segments | ids | false positive / redundant ids | mean accuracy | well detected (>= 0.8) | per-segment ceiling, detectable | chained, detectable | loss: below threshold | loss: in segments | loss: linking | sort s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`Mean of mean accuracies: ${f3(sumAcc / configs.length)}`);
  console.log('');
  console.log('Detectable units, summed over segments, best unit of each segment (% of their GT spikes):');
  console.log('');
  console.log('| recording | GT spikes | found by best unit | split off to other units | missed | other spikes merged into best unit |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of segRows) console.log(r);
  console.log('');
  console.log('Links between consecutive segments where a GT unit has a unit with agreement >= 0.5 on both sides:');
  console.log('');
  console.log('| recording | correct | wrong | dropped | detectable units with ceiling >= 0.5 but chained < 0.5 | of those with ceiling >= 0.5, no match in segment 0 |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of linkRows) console.log(r);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}
