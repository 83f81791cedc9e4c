// Sorting one block of a recording in its own process (a Slurm array task, or by hand) and
// merging the block results afterwards. The blocks are exactly those `sort --blocks N` cuts
// (blocksFor in sort.ts), and each block is sorted with the same options, so the merged
// result equals the local parallel sort bit for bit.
//
// Each block writes two files into the output folder: block-I.spikesift (the result, saved
// atomically and checksummed) and then block-I.json (what was sorted: the plan and the
// result's size and SHA-256). The JSON is written last, so a block counts as complete only
// when both exist and agree; a crash in between leaves a block that is simply sorted again.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Recording, type RecordingOptions } from '../formats/recording.js';
import { mergeRecordings } from '../result/merge.js';
import { SortedRecording } from '../result/sorted-recording.js';
import { defaultMemoryLimit, defaultWorkers } from '../core/params.js';
import { performSpikeSortingDetailed, type SortOptions } from '../pipeline/perform.js';
import { UsageError, type CliIO } from './args.js';
import { blocksFor, writeSortOutputs, type SortOutcome } from './sort-run.js';
import { reportNotes, type OutputFolder } from './outdir.js';
import { plural } from './words.js';
import type { CommandSteps } from './steps.js';

export const BLOCK_FORMAT = 'spikesift.block';
export const BLOCK_FORMAT_VERSION = 1;

/** Everything that decides what a block's result is; blocks of different plans never mix. */
export interface BlockPlan {
  /** The whole recording (absolute file path), as Recording.toJSON() writes it. */
  recording: RecordingOptions;
  /** Size of the recording file in bytes when it was planned (a rewritten file is a new plan). */
  fileSize: number;
  options: SortOptions;
  /** Blocks the recording is cut into (fewer than asked when it is short; see blocksFor). */
  blocks: number;
}

/** block-I.json */
export interface BlockMeta {
  format: typeof BLOCK_FORMAT;
  version: number;
  index: number;
  plan: BlockPlan;
  sampleOffset: number;
  numSamples: number;
  recordingOffset: number;
  resultFile: string;
  resultBytes: number;
  resultSha256: string;
  /** Wall-clock seconds the block took to sort, and where. */
  seconds: number;
  backend: string;
}

/** Zero-padded so that `block-*.spikesift` lists in block order. */
export function blockBaseName(index: number, blocks: number): string {
  const width = Math.max(3, String(Math.max(0, blocks - 1)).length);
  return `block-${String(index).padStart(width, '0')}`;
}

export function blockResultPath(dir: string, index: number, blocks: number): string {
  return path.join(dir, `${blockBaseName(index, blocks)}.spikesift`);
}

/** block-I.spikesift -> block-I.json */
export function blockMetaPath(resultPath: string): string {
  return resultPath.replace(/\.spikesift$/, '') + '.json';
}

/** JSON with object keys in sorted order, so equal plans compare equal as strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export function samePlan(a: BlockPlan, b: BlockPlan): boolean {
  return canonical(a) === canonical(b);
}

/** The options that decide the result: threads, memory and output do not (same result for any). */
function resultOptions(options: SortOptions): SortOptions {
  const { workers: _w, memoryLimit: _m, verbose: _v, onProgress: _p, ...rest } = options;
  return rest;
}

/** The plan for sorting `rec` with `options` as `requested` blocks, and the block recordings. */
export function planBlocks(rec: Recording, options: SortOptions, requested: number): { plan: BlockPlan; recordings: Recording[] } {
  const recordings = blocksFor(rec, options, requested);
  const binaryFile = path.resolve(rec.binaryFile);
  const plan: BlockPlan = {
    recording: { ...rec.toJSON(), binaryFile },
    fileSize: fs.statSync(binaryFile).size,
    // Through JSON so that the plan compares equal to one read back from block-I.json.
    options: JSON.parse(JSON.stringify(resultOptions(options))) as SortOptions,
    blocks: recordings.length,
  };
  return { plan, recordings };
}

/** Writes `text` to `file` through a temporary file in the same folder and a rename. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    const fd = fs.openSync(tmp, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export type BlockCheck = { ok: true; meta: BlockMeta } | { ok: false; reason: string };

function readMeta(metaFile: string): BlockMeta {
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as BlockMeta;
  if (meta?.format !== BLOCK_FORMAT) throw new Error(`${metaFile} is not a spikesift block description (format "${String(meta?.format)}")`);
  if (meta.version > BLOCK_FORMAT_VERSION) throw new Error(`${metaFile} has version ${meta.version}, newer than this spikesift reads (${BLOCK_FORMAT_VERSION})`);
  return meta;
}

/**
 * Whether block `index` of `plan` is complete in `dir`: its description matches the plan and
 * its result file is the one described (size, SHA-256), loads (the file's own checksum) and
 * covers exactly the block's samples.
 */
export async function checkBlock(dir: string, plan: BlockPlan, index: number): Promise<BlockCheck> {
  const file = blockResultPath(dir, index, plan.blocks);
  const metaFile = blockMetaPath(file);
  if (!fs.existsSync(metaFile)) return { ok: false, reason: fs.existsSync(file) ? `${path.basename(metaFile)} is missing (the sort did not finish)` : 'not sorted yet' };
  let meta: BlockMeta;
  try {
    meta = readMeta(metaFile);
  } catch (e) {
    return { ok: false, reason: `${path.basename(metaFile)} cannot be read (${(e as Error).message})` };
  }
  if (meta.index !== index || !samePlan(meta.plan, plan)) return { ok: false, reason: 'it was sorted with other options, another recording or another number of blocks' };
  let bytes: Buffer;
  try {
    if (!fs.statSync(file).isFile()) return { ok: false, reason: `${path.basename(file)} is not a file` };
    bytes = fs.readFileSync(file);
  } catch {
    return { ok: false, reason: `${path.basename(file)} is missing` };
  }
  if (bytes.length !== meta.resultBytes || sha256(bytes) !== meta.resultSha256) return { ok: false, reason: `${path.basename(file)} is not the file ${path.basename(metaFile)} describes` };
  let result: SortedRecording;
  try {
    result = await SortedRecording.load(file);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (result.startTime() !== meta.recordingOffset || result.endTime() !== meta.recordingOffset + meta.numSamples) {
    return { ok: false, reason: `its result covers [${result.startTime()}, ${result.endTime()}), not the block's [${meta.recordingOffset}, ${meta.recordingOffset + meta.numSamples})` };
  }
  return { ok: true, meta };
}

/**
 * Threads and memory of a block sorted inside a Slurm job: the node's core count and free
 * memory (the sorter's defaults) are the whole node's, not the job's share, so several tasks
 * on one node would oversubscribe it or pass --mem and be killed. Neither changes the result.
 */
export function slurmResources(env: NodeJS.ProcessEnv, defaults: { workers: number; memoryLimit: number }): { workers?: number; memoryLimit?: number } {
  const out: { workers?: number; memoryLimit?: number } = {};
  const cpus = Number(env.SLURM_CPUS_PER_TASK);
  if (Number.isInteger(cpus) && cpus >= 1) out.workers = Math.min(cpus, defaults.workers);
  const perNode = Number(env.SLURM_MEM_PER_NODE);
  const perCpu = Number(env.SLURM_MEM_PER_CPU) * (Number.isInteger(cpus) && cpus >= 1 ? cpus : 1);
  const mb = perNode > 0 ? perNode : perCpu > 0 ? perCpu : 0;
  // Half the job's memory for segment windows, as the default takes half the free memory.
  if (mb > 0) out.memoryLimit = Math.min(defaults.memoryLimit, Math.max(2 ** 27, (mb * 2 ** 20) / 2));
  return out;
}

/**
 * `spikesift sort ... --blocks N --block I --out DIR`: sorts block I of N into
 * DIR/block-I.spikesift and DIR/block-I.json.
 */
export async function sortOneBlock(rec: Recording, options: SortOptions, requested: number, index: number, out: string, quiet: boolean, io: CliIO): Promise<number> {
  const { plan, recordings } = planBlocks(rec, options, requested);
  if (index >= plan.blocks) {
    const why = plan.blocks < requested ? ` (the recording is long enough for only ${plan.blocks} block(s) of at least --min-segment-length)` : '';
    throw new UsageError(`--block ${index} is out of range: the recording is cut into ${plan.blocks} block(s), numbered 0 to ${plan.blocks - 1}${why}`, 'sort');
  }
  const block = recordings[index];
  const file = blockResultPath(out, index, plan.blocks);
  const t0 = performance.now();
  if (!quiet) {
    io.err(`block ${index} of ${plan.blocks}: samples [${block.sampleOffset}, ${block.sampleOffset + block.numSamples}) of ${rec.binaryFile} (${(block.numSamples / rec.samplingFrequency).toFixed(2)} s)`);
  }
  const limits = slurmResources(process.env, { workers: options.workers ?? defaultWorkers(), memoryLimit: options.memoryLimit ?? defaultMemoryLimit() });
  if (!quiet && (limits.workers !== undefined || limits.memoryLimit !== undefined)) {
    io.err(`block ${index}: within the Slurm job's share: ${limits.workers ?? defaultWorkers()} thread(s), ${((limits.memoryLimit ?? defaultMemoryLimit()) / 2 ** 30).toFixed(2)} GiB of segment windows`);
  }
  let lastPct = -1;
  const { sorted, stats } = await performSpikeSortingDetailed(block, {
    ...options,
    ...limits,
    // As in sortInParallel's workers: progress goes through onProgress, one line per 10 %.
    verbose: false,
    onProgress: quiet
      ? undefined
      : (p) => {
          const pct = p.totalMs > 0 ? Math.floor((100 * p.doneMs) / p.totalMs / 10) * 10 : 0;
          if (pct !== lastPct) {
            lastPct = pct;
            io.err(`block ${index}: sorting ${pct}%`);
          }
        },
  });
  await sorted.save(file);
  const bytes = fs.readFileSync(file);
  const seconds = (performance.now() - t0) / 1000;
  const meta: BlockMeta = {
    format: BLOCK_FORMAT,
    version: BLOCK_FORMAT_VERSION,
    index,
    plan,
    sampleOffset: block.sampleOffset,
    numSamples: block.numSamples,
    recordingOffset: block.recordingOffset,
    resultFile: path.basename(file),
    resultBytes: bytes.length,
    resultSha256: sha256(bytes),
    seconds,
    backend: stats.backendDescription,
  };
  writeFileAtomic(blockMetaPath(file), JSON.stringify(meta, null, 2) + '\n');
  io.out(`sorted block ${index} of ${plan.blocks} in ${seconds.toFixed(2)} s (${stats.backendDescription}): ${plural(sorted.length, 'unit')}, ${plural(sorted.numSegments, 'segment')}; wrote ${file}`);
  return 0;
}

/** True when `file` (a result path) has a block description beside it. */
export function isBlockResult(file: string): boolean {
  return file.endsWith('.spikesift') && fs.existsSync(blockMetaPath(file));
}

function listBlocks(indices: number[], blocks: number): string {
  return indices.map((i) => blockBaseName(i, blocks)).join(', ');
}

/**
 * `spikesift merge DIR/block-*.spikesift --out DIR`: checks that the files are the complete
 * set of blocks of one plan (in any order), merges them in time order exactly as
 * `sort --blocks N` does, and writes the same outputs as `sort --out DIR`.
 */
export async function mergeBlocks(files: string[], outDir: string, resultName: string, maxDriftArg: number | undefined, io: CliIO, target?: OutputFolder, steps?: CommandSteps): Promise<number> {
  const metas: { file: string; meta: BlockMeta }[] = [];
  for (const file of files) {
    try {
      metas.push({ file, meta: readMeta(blockMetaPath(file)) });
    } catch (e) {
      throw new UsageError(`${file}: its block description cannot be read (${(e as Error).message})`, 'merge');
    }
  }
  const plan = metas[0].meta.plan;
  for (const { file, meta } of metas) {
    if (!samePlan(meta.plan, plan)) {
      throw new UsageError(
        `${file} belongs to another sort than ${metas[0].file} (other recording, options or number of blocks: ${meta.plan.blocks} vs ${plan.blocks}); merge only the blocks of one plan, e.g. move stale block files out of the folder`,
        'merge',
      );
    }
  }
  metas.sort((a, b) => a.meta.index - b.meta.index);
  for (let k = 1; k < metas.length; k++) {
    if (metas[k].meta.index === metas[k - 1].meta.index) {
      throw new UsageError(`${metas[k - 1].file} and ${metas[k].file} are both block ${metas[k].meta.index}; pass each block once`, 'merge');
    }
  }
  const have = new Set(metas.map((m) => m.meta.index));
  const missing = Array.from({ length: plan.blocks }, (_, i) => i).filter((i) => !have.has(i));
  if (missing.length > 0) {
    throw new UsageError(
      `incomplete set of blocks: ${listBlocks(missing, plan.blocks)} of ${plan.blocks} missing (a gap in time); sort them first (spikesift sort ... --blocks ${plan.blocks} --block I, or rerun spikesift slurm, which resubmits only missing blocks)`,
      'merge',
    );
  }
  const results: SortedRecording[] = [];
  for (const { file, meta } of metas) {
    const check = await checkBlock(path.dirname(file), plan, meta.index);
    if (!check.ok) throw new UsageError(`${file} (block ${meta.index}) is not a complete block result: ${check.reason}; sort it again`, 'merge');
    results.push(await SortedRecording.load(file));
  }
  for (let k = 1; k < results.length; k++) {
    const prev = results[k - 1];
    const cur = results[k];
    if (prev.endTime() !== cur.startTime()) {
      const what = prev.endTime() < cur.startTime() ? 'a gap' : 'an overlap';
      throw new UsageError(`${what} between block ${k - 1} (ends at sample ${prev.endTime()}) and block ${k} (starts at ${cur.startTime()}); the blocks do not tile the recording`, 'merge');
    }
  }
  const maxDrift = plan.options.maxDrift;
  if (maxDriftArg !== undefined && maxDriftArg !== (maxDrift ?? 30)) {
    throw new UsageError(`--max-drift ${maxDriftArg} differs from the --max-drift the blocks were sorted with (${maxDrift ?? 30}); leave it out when merging blocks`, 'merge');
  }
  const merged = results.length === 1 ? results[0] : mergeRecordings(results, { maxDrift });
  let rec: Recording;
  try {
    rec = new Recording(plan.recording);
  } catch (e) {
    throw new UsageError(`the recording the blocks were sorted from is needed for the exports: ${(e as Error).message}`, 'merge');
  }
  const seconds = metas.reduce((s, m) => s + m.meta.seconds, 0);
  const outcome: SortOutcome = { result: merged, backend: `${metas[0].meta.backend}, ${plan.blocks} block(s) sorted separately`, seconds, blocks: plan.blocks };
  // The CLI writes into the staging folder of `target` and moves it into place when complete.
  const writeDir = target ? target.staging : outDir;
  fs.mkdirSync(writeDir, { recursive: true });
  const summary = await writeSortOutputs(writeDir, rec, outcome, resultName, steps);
  if (target) reportNotes(io, target.commit());
  io.out(
    `merged ${plural(plan.blocks, 'block')} of ${rec.binaryFile}: ${plural(summary.units, 'unit')}, ${plural(summary.totalSpikes, 'spike')}, ${plural(summary.segments, 'segment')} ` +
      `(${seconds.toFixed(2)} s of block sorting in all); wrote ${path.join(outDir, resultName)}, phy/, spikeinterface/, summary.json`,
  );
  return 0;
}
