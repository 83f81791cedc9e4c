/**
 * End-to-end sorting speed (spec §2-§10) on generated recordings: x real time for 32-, 64- and
 * 384-channel probes at 30 kHz per backend, with a stage breakdown and peak memory, as a
 * markdown table on stdout (the integrator copies it to bench/RESULTS.md).
 *
 *   npm run bench:sort -- [--seconds N] [--channels 32,64,128,384,1536] [--workers 1,default] [--backend cpu,webgpu,auto]
 *                         [--min-segment S] [--modes improved,reference] [--baseline DIR] [--keep]
 *
 * --workers: rows per worker count ("default" = the library's default, all available cores).
 * --modes: rows per sort mode (default improved only; reference = spec §1-§10, no tracks or recovery).
 * --baseline DIR: also sort each recording with the code of another checkout (e.g. a git
 * worktree of an older commit) in the same run, on the same data, for before/after rows.
 *
 * Backends: cpu; webgpu (the device-resident engine: WGSL filter and WGSL sort kernels on
 * windows kept in GPU memory); auto. By default cpu, plus webgpu when the
 * adapter is a hardware GPU (a software adapter such as lavapipe only when asked for).
 *
 * Each configuration runs in its own child process so that peak memory (maxRSS) belongs to
 * that run alone. Recordings are generated once into the temp folder (presets linear32, poly64,
 * poly128, np384, np2-1536, seed 1) and reused by later runs unless they are removed (they are
 * removed at the end unless --keep).
 *
 * Columns: "x real time" = recording seconds / wall seconds of performSpikeSorting (processor
 * start-up included). "CPU" = the sort's CPU time over all its threads (user + system; the
 * system part in parentheses) and "minor faults" its first touches of memory pages: on virtual
 * machines whose page faults cost 4-20 us each, wall time follows the machine's memory state,
 * and these two columns say how much of a row is that (bench/RESULTS.md, seventh sitting).
 * "read" = one sequential pass reading the same bytes (measured separately;
 * the filter reads them again inside "filter"). "filter" = wall time of the filter requests
 * (they run on worker threads and overlap sorting), "filter wait" = time the sorter waited for
 * them. "loop" = the per-segment loop (§7) summed over segments (several run at once on worker
 * threads, so it can exceed the wall time) with its parts: detect, gather, cluster, match,
 * subtract(+statistics). Then thresholds (§5), the drift heuristic (§6) and moving minima (or,
 * sequential path, the unsorted remainder) to the front of the buffer; "pass 1" = wall time until
 * every boundary is known; "merge" = linking segments (§10).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateRecording, loadGroundTruth } from '../src/groundtruth/index.js';
import type { ProbePreset } from '../src/groundtruth/probes.js';
import { probeAdapter } from '../src/engines/webgpu/context.js';
import type { SortStats } from '../src/pipeline/perform.js';
import { flagValue } from './args.js';

type Backend = 'cpu' | 'webgpu' | 'auto';
interface Args {
  seconds: number; channels: number[]; backends: Backend[]; minSegment: number; keep: boolean; explicitBackends: boolean;
  workers: (number | 'default')[]; baseline: string | null; modes: Mode[];
}
/** The sort's mode ('improved': tracks and recovery, the default; 'reference': spec §1-§10). */
type Mode = 'improved' | 'reference';

const PRESET: Record<number, ProbePreset> = { 32: 'linear32', 64: 'poly64', 128: 'poly128', 384: 'np384', 1536: 'np2-1536' };

function parseArgs(argv: string[]): Args {
  const a: Args = {
    seconds: 60, channels: [32, 64, 128, 384, 1536], backends: ['cpu', 'webgpu'], minSegment: 10, keep: false, explicitBackends: false,
    workers: [1, 'default'], baseline: null, modes: ['improved'],
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => flagValue(argv, ++i, k);
    if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--channels') a.channels = v().split(',').map(Number);
    else if (k === '--backend') {
      a.backends = v().split(',') as Backend[];
      a.explicitBackends = true;
    }
    else if (k === '--min-segment') a.minSegment = Number(v());
    else if (k === '--workers') a.workers = v().split(',').map((w) => (w === 'default' ? 'default' : Number(w)));
    else if (k === '--baseline') a.baseline = v();
    else if (k === '--modes') a.modes = v().split(',') as Mode[];
    else if (k === '--keep') a.keep = true;
    else if (k === '--help' || k === '-h') {
      console.log('usage: npm run bench:sort -- [--seconds N] [--channels 32,64,128,384,1536] [--workers 1,default] [--backend cpu,webgpu,auto] [--min-segment S] [--modes improved,reference] [--baseline DIR] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k} (try --help)`);
  }
  if (!(a.seconds >= 1)) throw new Error(`--seconds must be >= 1, got ${a.seconds}`);
  for (const c of a.channels) if (!PRESET[c]) throw new Error(`--channels: ${c} is not one of ${Object.keys(PRESET).join(', ')} (the generator's presets)`);
  for (const m of a.modes) if (m !== 'improved' && m !== 'reference') throw new Error(`--modes: ${m} is not improved or reference`);
  for (const w of a.workers) if (w !== 'default' && !(Number.isInteger(w) && w >= 1)) throw new Error(`--workers: ${w} is not a whole number >= 1 or "default"`);
  for (const b of a.backends) if (!['cpu', 'webgpu', 'auto'].includes(b)) throw new Error(`--backend: ${b} is not cpu, webgpu or auto`);
  return a;
}

interface ChildResult {
  stats: SortStats;
  readMs: number;
  maxRssMiB: number;
  /** The sort's CPU time (all threads; user and system, ms) and minor page faults. */
  cpuMs: number;
  sysMs: number;
  minorFaults: number;
  units: number;
  /** The result's provenance (engine, adapter, stagesOnDevice), when the checkout records it. */
  info?: { engine: string; adapter: string | null; stagesOnDevice: string[] } | null;
}

function recordingDir(channels: number, seconds: number): string {
  return join(tmpdir(), 'spikesift-bench', `${PRESET[channels]}-${seconds}s-seed1`);
}

interface ChildSpec { dir: string; backend: Backend; minSegment: number; workers: number | 'default'; root: string | null; mode: Mode }

/** The modules of a checkout: this one, or --baseline's (older layouts had src/io and src/sorting). */
async function modulesOf(root: string | null): Promise<{ Recording: typeof import('../src/formats/recording.js').Recording; perform: typeof import('../src/pipeline/perform.js') }> {
  const base = root === null ? new URL('../src/', import.meta.url).href : `${pathToFileURL(join(root, 'src')).href}/`;
  const pick = (a: string, b: string): string => (existsSync(fileURLToPath(new URL(a, base))) ? a : b);
  const rec = await import(new URL(pick('formats/recording.ts', 'io/recording.ts'), base).href);
  const perform = await import(new URL(pick('pipeline/perform.ts', 'sorting/perform.ts'), base).href);
  return { Recording: rec.Recording, perform };
}

async function child(spec: ChildSpec): Promise<void> {
  const gt = loadGroundTruth(join(spec.dir, 'ground_truth.json'));
  const { Recording, perform } = await modulesOf(spec.root);
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
  const u0 = process.resourceUsage();
  const { sorted, stats } = await perform.performSpikeSortingDetailed(rec, {
    verbose: false, backend: spec.backend, minSegmentLength: spec.minSegment, detectionPolarity: gt.detectionPolarity,
    ...(spec.workers === 'default' || spec.root !== null ? {} : { workers: spec.workers }),
    // A baseline from before the modes existed sorts as the reference did, with burst merging.
    ...(spec.root !== null ? {} : { mode: spec.mode }),
  });
  const u1 = process.resourceUsage();
  const info = (sorted as { info?: ChildResult['info'] }).info ?? null;
  const out: ChildResult = {
    stats, readMs, maxRssMiB: u1.maxRSS / 1024, units: sorted.length, info,
    cpuMs: (u1.userCPUTime + u1.systemCPUTime - u0.userCPUTime - u0.systemCPUTime) / 1000,
    sysMs: (u1.systemCPUTime - u0.systemCPUTime) / 1000,
    minorFaults: u1.minorPageFault - u0.minorPageFault,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function backendLabel(b: Backend, description: string): string {
  void b;
  return description;
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
  const usable = (b: Backend): boolean => !b.startsWith('webgpu') || (probe.adapter !== null && (args.explicitBackends || !probe.isSoftware));
  const backends = args.backends.filter(usable);
  const skipped = args.backends.filter((b) => !backends.includes(b));

  console.log(`# bench:sort — ${args.seconds} s recordings at 30 kHz, minSegmentLength ${args.minSegment} s`);
  console.log('');
  console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ` +
    `WebGPU adapter: ${probe.adapter ? `${probe.name}${probe.isSoftware ? ' (software)' : ''}` : `none (${probe.reason})`}`);
  if (skipped.length > 0) console.log(`Skipped backends: ${skipped.join(', ')} (${probe.adapter ? 'software adapter; pass --backend to run it anyway' : 'no adapter'})`);
  console.log('');
  console.log('| channels | code | backend | workers | x real time | wall s | CPU s (system) | minor faults k | read s | pass 1 s | filter s | filter wait s | loop s (detect / gather / cluster / match / subtract) | thresholds / segmentation / buffer moves s | merge s | segments | units | peak RSS MiB |');
  console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|');

  const self = fileURLToPath(import.meta.url);
  const loader = new URL('../scripts/ts-loader.mjs', import.meta.url).href;
  const made: string[] = [];
  const gpuNotes: string[] = [];
  for (const C of args.channels) {
    const dir = recordingDir(C, args.seconds);
    if (!existsSync(join(dir, 'ground_truth.json'))) {
      process.stderr.write(`generating ${PRESET[C]} ${args.seconds} s into ${dir} ...\n`);
      await generateRecording({ out: dir, preset: PRESET[C], duration: args.seconds, seed: 1 });
      made.push(dir);
    }
    const runs: { backend: Backend; workers: number | 'default'; root: string | null; mode: Mode }[] = [];
    for (const backend of backends) {
      if (args.baseline !== null) runs.push({ backend, workers: 'default', root: args.baseline, mode: 'improved' });
      for (const mode of args.modes) for (const workers of args.workers) runs.push({ backend, workers, root: null, mode });
    }
    for (const run of runs) {
      const { backend } = run;
      const isTs = self.endsWith('.ts');
      const r = spawnSync(process.execPath, [...(isTs ? ['--import', loader] : []), self, '--child',
        JSON.stringify({ dir, backend, minSegment: args.minSegment, workers: run.workers, root: run.root, mode: run.mode } satisfies ChildSpec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const code = run.root === null ? `this, ${run.mode}` : `baseline (${run.root})`;
      if (r.status !== 0) {
        console.log(`| ${C} | ${code} | ${backend} | ${run.workers} | failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]} |`);
        continue;
      }
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
      const s = res.stats;
      const l = s.loop;
      const label = backendLabel(backend, s.backendDescription);
      const workers = run.root !== null ? 'sequential' : run.workers === 'default' ? `${cpus().length} (default)` : String(run.workers);
      console.log(`| ${C} | ${code} | ${label} | ${workers} | ${(s.recordingSeconds / (s.totalMs / 1000)).toFixed(1)} | ${fmt(s.totalMs)} | ` +
        `${fmt(res.cpuMs)} (${fmt(res.sysMs)}) | ${(res.minorFaults / 1000).toFixed(0)} | ${fmt(res.readMs)} | ${s.scanMs === undefined ? '—' : fmt(s.scanMs)} | ${fmt(s.filterMs)} | ${fmt(s.filterWaitMs)} | ${fmt(s.sortMs)} (${fmt(l.detect)} / ${fmt(l.gather)} / ` +
        `${fmt(l.cluster)} / ${fmt(l.match)} / ${fmt(l.subtract)}) | ${fmt(s.thresholdMs)} / ${fmt(s.segmentMs)} / ${fmt(s.copyMs)} | ${fmt(s.mergeMs)} | ${s.numSegments} | ${res.units} | ${res.maxRssMiB.toFixed(0)} |`);
      if (s.gpuPeakBytes !== undefined) {
        const dev = Object.entries(s.deviceMs ?? {}).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(3)}`).join(', ');
        gpuNotes.push(`- ${C} ch, ${backend}: ${res.info?.adapter ?? 'adapter unknown'}; GPU memory held at most ${(s.gpuPeakBytes / 2 ** 30).toFixed(2)} GiB ` +
          `(${s.runnerDescription}); device time per step, s (timestamp queries): ${dev || 'not reported by this adapter'}; ` +
          `stagesOnDevice: ${res.info?.stagesOnDevice.join(', ') ?? '—'}; submissions ${s.deviceSubmissions?.submits ?? '?'} ` +
          `(${s.deviceSubmissions?.dispatches ?? '?'} dispatches, up to ${s.deviceSubmissions?.largestBatch ?? '?'} units batched in one)`);
      }
    }
  }
  if (gpuNotes.length > 0) {
    console.log('');
    console.log('Device-resident runs:');
    for (const n of gpuNotes) console.log(n);
  }
  if (!args.keep) for (const d of made) rmSync(d, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
