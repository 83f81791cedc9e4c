/**
 * End-to-end sorting speed (spec §2-§10) on generated recordings: x real time for 32-, 64- and
 * 384-channel probes at 30 kHz per backend, with a stage breakdown and peak memory, as a
 * markdown table on stdout (the integrator copies it to bench/RESULTS.md).
 *
 *   npm run bench:sort -- [--seconds N] [--channels 32,64,384] [--backend cpu,webgpu] [--min-segment S] [--keep]
 *
 * Each configuration runs in its own child process so that peak memory (maxRSS) belongs to
 * that run alone. Recordings are generated once into the temp folder (presets linear32, poly64,
 * np384, seed 1) and reused by later runs unless they are removed (they are removed at the end
 * unless --keep).
 *
 * Columns: "x real time" = recording seconds / wall seconds of performSpikeSorting (processor
 * start-up included). "read" = one sequential pass reading the same bytes (measured separately;
 * the filter reads them again inside "filter"). "filter" = wall time of the filter requests
 * (they run on worker threads and overlap sorting), "filter wait" = time the sorter waited for
 * them. "loop" = the per-segment loop (§7) with its parts: detect, gather, cluster, match,
 * subtract(+statistics). Then thresholds (§5), the drift heuristic (§6) and moving the unsorted
 * remainder to the front of the buffer; "merge" = linking segments (§10).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRecording, loadGroundTruth } from '../src/groundtruth/index.js';
import type { ProbePreset } from '../src/groundtruth/probes.js';
import { Recording } from '../src/io/recording.js';
import { probeAdapter } from '../src/gpu/context.js';
import { performSpikeSortingDetailed, type SortStats } from '../src/sorting/perform.js';

interface Args { seconds: number; channels: number[]; backends: ('cpu' | 'webgpu' | 'auto')[]; minSegment: number; keep: boolean }

const PRESET: Record<number, ProbePreset> = { 32: 'linear32', 64: 'poly64', 384: 'np384' };

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 60, channels: [32, 64, 384], backends: ['cpu', 'webgpu'], minSegment: 10, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--channels') a.channels = v().split(',').map(Number);
    else if (k === '--backend') a.backends = v().split(',') as Args['backends'];
    else if (k === '--min-segment') a.minSegment = Number(v());
    else if (k === '--keep') a.keep = true;
    else if (k === '--help' || k === '-h') {
      console.log('usage: npm run bench:sort -- [--seconds N] [--channels 32,64,384] [--backend cpu,webgpu,auto] [--min-segment S] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k} (try --help)`);
  }
  if (!(a.seconds >= 1)) throw new Error(`--seconds must be >= 1, got ${a.seconds}`);
  for (const c of a.channels) if (!PRESET[c]) throw new Error(`--channels: ${c} is not one of 32, 64, 384 (the generator's presets)`);
  for (const b of a.backends) if (!['cpu', 'webgpu', 'auto'].includes(b)) throw new Error(`--backend: ${b} is not cpu, webgpu or auto`);
  return a;
}

interface ChildResult {
  stats: SortStats;
  readMs: number;
  maxRssMiB: number;
  units: number;
}

function recordingDir(channels: number, seconds: number): string {
  return join(tmpdir(), 'spikesift-bench', `${PRESET[channels]}-${seconds}s-seed1`);
}

async function child(spec: { dir: string; backend: 'cpu' | 'webgpu' | 'auto'; minSegment: number }): Promise<void> {
  const gt = loadGroundTruth(join(spec.dir, 'ground_truth.json'));
  const rec = new Recording({
    binaryFile: join(spec.dir, 'recording.bin'), dataType: gt.dataType, probeGeometry: gt.probeGeometry,
    samplingFrequency: gt.samplingFrequency,
  });
  // Pure read cost of the same bytes, in 32 MiB pieces.
  const rows = Math.max(1, Math.floor((32 << 20) / rec.bytesPerSample));
  const scratch = new Uint8Array(rows * rec.bytesPerSample);
  const t0 = performance.now();
  for (let s = 0; s < rec.numSamples; s += rows) {
    const n = Math.min(rows, rec.numSamples - s);
    rec.readBytesInto(s, n, scratch, 0);
  }
  const readMs = performance.now() - t0;
  const { sorted, stats } = await performSpikeSortingDetailed(rec, {
    verbose: false, backend: spec.backend, minSegmentLength: spec.minSegment, detectionPolarity: gt.detectionPolarity,
  });
  const out: ChildResult = { stats, readMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, units: sorted.length };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function fmt(ms: number): string {
  return (ms / 1000).toFixed(2);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(JSON.parse(argv[1]));
    return;
  }
  const args = parseArgs(argv);
  const probe = await probeAdapter();
  const backends = args.backends.filter((b) => b !== 'webgpu' || probe.adapter !== null);
  const skipped = args.backends.filter((b) => !backends.includes(b));

  console.log(`# bench:sort — ${args.seconds} s recordings at 30 kHz, minSegmentLength ${args.minSegment} s`);
  console.log('');
  console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ` +
    `WebGPU adapter: ${probe.adapter ? `${probe.name}${probe.isSoftware ? ' (software)' : ''}` : `none (${probe.reason})`}`);
  if (skipped.length > 0) console.log(`Skipped backends (no adapter): ${skipped.join(', ')}`);
  console.log('');
  console.log('| channels | backend | x real time | wall s | read s | filter s | filter wait s | loop s (detect / gather / cluster / match / subtract) | thresholds / segmentation / buffer moves s | merge s | segments | units | peak RSS MiB |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|');

  const self = fileURLToPath(import.meta.url);
  const loader = new URL('../scripts/ts-loader.mjs', import.meta.url).href;
  const made: string[] = [];
  for (const C of args.channels) {
    const dir = recordingDir(C, args.seconds);
    if (!existsSync(join(dir, 'ground_truth.json'))) {
      process.stderr.write(`generating ${PRESET[C]} ${args.seconds} s into ${dir} ...\n`);
      await generateRecording({ out: dir, preset: PRESET[C], duration: args.seconds, seed: 1 });
      made.push(dir);
    }
    for (const backend of backends) {
      const isTs = self.endsWith('.ts');
      const r = spawnSync(process.execPath, [...(isTs ? ['--import', loader] : []), self, '--child',
        JSON.stringify({ dir, backend, minSegment: args.minSegment })], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) {
        console.log(`| ${C} | ${backend} | failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]} |`);
        continue;
      }
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
      const s = res.stats;
      const l = s.loop;
      console.log(`| ${C} | ${s.backendDescription} | ${(s.recordingSeconds / (s.totalMs / 1000)).toFixed(1)} | ${fmt(s.totalMs)} | ` +
        `${fmt(res.readMs)} | ${fmt(s.filterMs)} | ${fmt(s.filterWaitMs)} | ${fmt(s.sortMs)} (${fmt(l.detect)} / ${fmt(l.gather)} / ` +
        `${fmt(l.cluster)} / ${fmt(l.match)} / ${fmt(l.subtract)}) | ${fmt(s.thresholdMs)} / ${fmt(s.segmentMs)} / ${fmt(s.copyMs)} | ${fmt(s.mergeMs)} | ${s.numSegments} | ${res.units} | ${res.maxRssMiB.toFixed(0)} |`);
    }
  }
  if (!args.keep) for (const d of made) rmSync(d, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
