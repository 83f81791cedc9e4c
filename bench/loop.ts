/**
 * The per-segment loop (spec §7, with the burst merge) alone, on the calling thread: one
 * segment of a generated recording is filtered into a window once, then sorted `repeat` times
 * from a saved copy (the loop subtracts in place). Inside a sort the loop shares two cores with
 * the filter threads and the other segments, and its windows are fresh memory, so its time
 * there (bench:sort's "loop" column) says little about the loop itself; this measures the loop
 * and nothing else, for changes to the kernels of §7. A markdown table on stdout.
 *
 *   npm run bench:loop -- [--channels 32,64,128,384,1536] [--ms 12000] [--repeat 5] [--keep]
 *
 * Recordings: the presets of bench:sort (60 s, seed 1) in the same temp folder, generated when
 * absent and then removed unless --keep. Thresholds: §5 over the recording's first window.
 * Every repetition must find the same spikes (the script stops otherwise).
 */
import { existsSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRecording, loadGroundTruth } from '../src/groundtruth/index.js';
import type { ProbePreset } from '../src/groundtruth/probes.js';
import { Recording } from '../src/formats/recording.js';
import { createSignalProcessor } from '../src/engines/select.js';
import { WindowPool } from '../src/pipeline/window-pool.js';
import { SegmentSorter, type SegmentContext } from '../src/pipeline/segment-job.js';
import { computeNeighbourhoods } from '../src/stages/sort/neighbours.js';
import { validateSortOptions } from '../src/core/params.js';
import { performSpikeSortingDetailed } from '../src/pipeline/perform.js';
import { flagValue } from './args.js';

const PRESET: Record<number, ProbePreset> = { 32: 'linear32', 64: 'poly64', 128: 'poly128', 384: 'np384', 1536: 'np2-1536' };
const SECONDS = 60;

interface Args { channels: number[]; ms: number; repeat: number; keep: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { channels: [32, 384], ms: 12000, repeat: 5, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => flagValue(argv, ++i, k);
    if (k === '--channels') a.channels = v().split(',').map(Number);
    else if (k === '--ms') a.ms = Number(v());
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--keep') a.keep = true;
    else if (k === '--help' || k === '-h') {
      console.log('usage: npm run bench:loop -- [--channels 32,64,128,384,1536] [--ms 12000] [--repeat 5] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k} (try --help)`);
  }
  for (const c of a.channels) if (!PRESET[c]) throw new Error(`--channels: ${c} is not one of ${Object.keys(PRESET).join(', ')} (the generator's presets)`);
  if (!(Number.isInteger(a.ms) && a.ms >= 100 && a.ms <= 20000)) throw new Error(`--ms must be a whole number of ms in 100..20000 (a segment is at most 2L = 20 s), got ${a.ms}`);
  if (!(Number.isInteger(a.repeat) && a.repeat >= 1)) throw new Error(`--repeat must be a whole number >= 1, got ${a.repeat}`);
  return a;
}

/** A cheap fingerprint of a segment's spike trains (every repetition must give the same). */
function fingerprint(spikes: readonly Float64Array[]): string {
  let h = 0;
  let n = 0;
  for (const sp of spikes) for (const x of sp) {
    h = (h * 31 + x) % 1000000007;
    n++;
  }
  return `${spikes.length}/${n}/${h}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`# bench:loop — one ${args.ms}-ms segment, ${args.repeat} runs, the calling thread only`);
  console.log('');
  console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
  console.log('');
  console.log('| channels | segment ms | best ms | median ms | detect / gather / cluster / match / subtract ms (best run) | iterations | units | spikes |');
  console.log('|---:|---:|---:|---:|---|---:|---:|---:|');
  // Idle filter workers are unref'd: keep the process up while they start.
  const alive = setInterval(() => undefined, 1000);
  const made: string[] = [];
  try {
    for (const C of args.channels) {
      const dir = join(tmpdir(), 'spikesift-bench', `${PRESET[C]}-${SECONDS}s-seed1`);
      if (!existsSync(join(dir, 'ground_truth.json'))) {
        process.stderr.write(`generating ${PRESET[C]} ${SECONDS} s into ${dir} ...\n`);
        await generateRecording({ out: dir, preset: PRESET[C], duration: SECONDS, seed: 1 });
        made.push(dir);
      }
      const gt = loadGroundTruth(join(dir, 'ground_truth.json'));
      const rec = new Recording({ binaryFile: join(dir, 'recording.bin'), dataType: gt.dataType, probeGeometry: gt.probeGeometry, samplingFrequency: gt.samplingFrequency });
      const options = { backend: 'cpu' as const, detectionPolarity: gt.detectionPolarity, verbose: false };
      const opts = validateSortOptions(rec, options);
      const S = rec.samplesPerMs;
      // §5's thresholds come from the first window (4L ms): a prefix a little longer gives the same.
      const prefixMs = 4 * opts.minSegmentMs + 1000;
      const { thresholds } = await performSpikeSortingDetailed(rec.prefix(Math.min(rec.numSamples, prefixMs * S)), { ...options, recoverSpikes: false, poolResiduals: false });
      const M = Math.min(args.ms, Math.floor(rec.numSamples / S) - 3);
      const processor = await createSignalProcessor('cpu', { workload: rec });
      try {
        const pool = new WindowPool(C, S, M, Number.MAX_SAFE_INTEGER);
        const win = pool.tryAcquire(M)!;
        await processor.filterBlocks(rec, 1, M, gt.detectionPolarity, win, 0);
        const saved = { data: win.data.slice(0, M * C * S), minVal: win.minVal.slice(0, M * C), minPos: win.minPos.slice(0, M * C) };
        const ctx: SegmentContext = {
          thresholds, neighbours: computeNeighbourhoods(rec.geometry, opts.mode === 'improved'), mergeBursts: opts.mergeBursts,
          samplingFrequency: rec.samplingFrequency, params: { minSpikesPerCluster: opts.minSpikesPerCluster, mergingThreshold: opts.mergingThreshold },
        };
        const sorter = new SegmentSorter();
        const runs: { ms: number; t: { detect: number; gather: number; cluster: number; match: number; subtract: number; iterations: number }; units: number; spikes: number }[] = [];
        let first: string | null = null;
        for (let r = 0; r < args.repeat; r++) {
          win.data.set(saved.data);
          win.minVal.set(saved.minVal);
          win.minPos.set(saved.minPos);
          const out = await sorter.sort(win, M, ctx);
          const f = fingerprint(out.units.spikes);
          if (first !== null && f !== first) throw new Error(`run ${r + 1} found other spikes than run 1 (${f} vs ${first})`);
          first = f;
          runs.push({ ms: out.sortMs, t: out.timings, units: out.units.spikes.length, spikes: out.units.spikes.reduce((n, s) => n + s.length, 0) });
        }
        const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
        const t = best.t;
        const f0 = (x: number): string => x.toFixed(0);
        console.log(`| ${C} | ${M} | ${f0(best.ms)} | ${f0(median(runs.map((r) => r.ms)))} | ${f0(t.detect)} / ${f0(t.gather)} / ${f0(t.cluster)} / ${f0(t.match)} / ${f0(t.subtract)} | ${t.iterations} | ${best.units} | ${best.spikes} |`);
      } finally {
        processor.dispose();
      }
    }
  } finally {
    clearInterval(alive);
    if (!args.keep) for (const d of made) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
