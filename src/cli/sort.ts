// spikesift sort: sort one recording and write everything a user needs next to each other:
// the saved result, Phy and SpikeInterface folders, and a summary.

import fs from 'node:fs';
import path from 'node:path';
import { exportPhy } from '../export/phy.js';
import { exportSpikeInterface } from '../export/spikeinterface.js';
import { Recording } from '../formats/recording.js';
import { mergeRecordings } from '../result/merge.js';
import type { SortedRecording } from '../result/sorted-recording.js';
import { performSpikeSortingDetailed, validateSortOptions, type SortOptions } from '../pipeline/perform.js';
import {
  RECORDING_OPTIONS,
  RESULT_FILE,
  UsageError,
  asUsageError,
  ensureOutDir,
  formatHelp,
  optFlag,
  optNumber,
  optString,
  parseArgs,
  recordingFromArgs,
  summarize,
  type SummaryJson,
  writeRecordingDescription,
  type CliIO,
  type Command,
  type CommandSpec,
  type OptionSpec,
  type ParsedArgs,
} from './args.js';

export const SORT_OPTIONS: OptionSpec[] = [
  { name: 'min-segment-length', kind: 'number', value: 'S', description: 'Shortest segment in seconds; the recording is cut into segments at least this long where the activity changes (drift). Clipped to >= 0.1.', defaultText: '10', group: 'Sorting' },
  { name: 'detection-sensitivity', kind: 'number', value: 'K', description: 'Detection threshold in multiples of the median absolute filtered signal; higher finds fewer, larger spikes.', defaultText: '10', group: 'Sorting' },
  { name: 'min-spikes-per-cluster', kind: 'number', value: 'N', description: 'Smallest number of spikes for a unit to be kept (clipped to >= 2).', defaultText: '5', group: 'Sorting' },
  { name: 'merging-threshold', kind: 'number', value: 'X', description: 'Split acceptance threshold of the clustering, strictly between 0 and 1; higher merges more.', defaultText: '0.4', group: 'Sorting' },
  { name: 'max-drift', kind: 'number', value: 'UM', description: 'Largest drift in µm searched between consecutive segments (rounded to a multiple of 5).', defaultText: '30', group: 'Sorting' },
  { name: 'detection-polarity', kind: 'number', value: 'P', description: 'Multiplies the data before detection so spikes point down: -1 for negative spikes, 1 for positive; with data stored as a*x+b use -1/a.', defaultText: '-1', group: 'Sorting' },
  { name: 'no-merge-bursts', kind: 'flag', description: 'Keep the reference behaviour: do not merge burst fragments (later, smaller spikes of a burst) into their unit within a segment.', group: 'Sorting' },
  { name: 'backend', kind: 'string', value: 'NAME', choices: ['auto', 'webgpu', 'cpu'], description: 'Where filtering and the bulk sorting steps run: webgpu needs a GPU adapter; auto uses a hardware GPU when it measures faster than the CPU path, else the CPU.', defaultText: 'auto', group: 'Sorting' },
  { name: 'workers', kind: 'integer', value: 'N', min: 1, description: 'Sort N time blocks of the recording in parallel worker threads, then merge them (spikes within a few ms of block edges are lost).', defaultText: '1', group: 'Sorting' },
];

export const spec: CommandSpec = {
  name: 'sort',
  summary: 'Sort a raw binary recording. Writes OUT/result.spikesift (the saved result), OUT/phy (Phy folder), OUT/spikeinterface (NumpyFolderSorting), OUT/summary.json and OUT/recording.json (how to reopen the recording, used by report and export).',
  positionals: [{ name: 'RECORDING', description: 'The raw binary file: samples x channels, sample-major, little-endian.' }],
  options: [
    { ...RECORDING_OPTIONS[0], required: true },
    { ...RECORDING_OPTIONS[1], required: true },
    { ...RECORDING_OPTIONS[2], required: true },
    ...RECORDING_OPTIONS.slice(3),
    ...SORT_OPTIONS,
    { name: 'blocks', kind: 'integer', value: 'N', min: 1, description: 'With --block: cut the recording into the N blocks --workers N would use and sort only one of them (for cluster jobs; see spikesift slurm).', group: 'Blocks' },
    { name: 'block', kind: 'integer', value: 'I', min: 0, description: 'The block to sort, 0 to N-1; writes OUT/block-I.spikesift and OUT/block-I.json, to be joined by spikesift merge OUT/block-*.spikesift --out OUT.', group: 'Blocks' },
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder (created if needed; files of the same names are replaced).', group: 'Output' },
    { name: 'quiet', kind: 'flag', description: 'No progress output on stderr.', group: 'Output' },
  ],
  details: `Example:
  spikesift sort data.bin --probe probe.json --sampling-frequency 30000 --dtype int16 --out sorted/
  spikesift info sorted/ && spikesift report sorted/ --out sorted/report.html`,
};

export function sortOptionsFrom(parsed: ParsedArgs): SortOptions {
  const o: SortOptions = {};
  const n = (name: string) => optNumber(parsed, name);
  if (n('min-segment-length') !== undefined) o.minSegmentLength = n('min-segment-length');
  if (n('detection-sensitivity') !== undefined) o.detectionSensitivity = n('detection-sensitivity');
  if (n('min-spikes-per-cluster') !== undefined) o.minSpikesPerCluster = n('min-spikes-per-cluster');
  if (n('merging-threshold') !== undefined) o.mergingThreshold = n('merging-threshold');
  if (n('max-drift') !== undefined) o.maxDrift = n('max-drift');
  if (n('detection-polarity') !== undefined) o.detectionPolarity = n('detection-polarity');
  if (optFlag(parsed, 'no-merge-bursts')) o.mergeBursts = false;
  const backend = optString(parsed, 'backend');
  if (backend !== undefined) o.backend = backend as SortOptions['backend'];
  return o;
}

/**
 * Splits a recording into `n` consecutive blocks of whole ms, each its own Recording over the
 * same file (sampleOffset and recordingOffset shifted), so block spike times stay on the
 * recording's time line and the blocks can be merged. Fewer blocks when they would be
 * shorter than `minBlockSamples`.
 */
export function splitIntoBlocks(rec: Recording, n: number, minBlockSamples: number): Recording[] {
  const S = rec.samplesPerMs;
  const maxBlocks = Math.max(1, Math.floor(rec.numSamples / Math.max(S, minBlockSamples)));
  const blocks = Math.min(n, maxBlocks);
  const msTotal = Math.floor(rec.numSamples / S);
  const out: Recording[] = [];
  let start = 0;
  for (let b = 0; b < blocks; b++) {
    const end = b === blocks - 1 ? rec.numSamples : Math.floor((msTotal * (b + 1)) / blocks) * S;
    out.push(
      new Recording({
        binaryFile: rec.binaryFile,
        dataType: rec.dataType,
        probeGeometry: rec.probeGeometry,
        samplingFrequency: rec.samplingFrequency,
        header: rec.header,
        sampleOffset: rec.sampleOffset + start,
        numSamples: end - start,
        recordingOffset: rec.recordingOffset + start,
      }),
    );
    start = end;
  }
  return out;
}

/**
 * The blocks `--workers n` sorts, shared with `--blocks n --block i` so that a block sorted by
 * itself (e.g. as a Slurm task) is the same block the worker pool sorts.
 */
export function blocksFor(rec: Recording, options: SortOptions, n: number): Recording[] {
  // A block shorter than one minimum segment would hold a single, shorter-than-asked segment
  // (fewer spikes per unit to cluster); keep blocks at least that long.
  const minSeg = Math.max(0.1, options.minSegmentLength ?? 10);
  return splitIntoBlocks(rec, n, Math.round(minSeg * rec.samplingFrequency));
}

export interface SortOutcome {
  result: SortedRecording;
  backend: string;
  seconds: number;
  blocks: number;
}

/** Sorts `rec` with one process or, with workers > 1, in parallel blocks merged afterwards. */
export async function sortRecording(rec: Recording, options: SortOptions, workers: number, quiet: boolean, io: CliIO): Promise<SortOutcome> {
  const t0 = performance.now();
  if (workers <= 1) {
    const { sorted, stats } = await performSpikeSortingDetailed(rec, { ...options, verbose: !quiet });
    return { result: sorted, backend: stats.backendDescription, seconds: (performance.now() - t0) / 1000, blocks: 1 };
  }
  const { sortInParallel } = await import('../parallel/sort-in-parallel.js');
  const blocks = blocksFor(rec, options, workers);
  if (!quiet && blocks.length < workers) {
    io.err(`note: the recording is long enough for ${blocks.length} block(s) of >= --min-segment-length, sorting with ${blocks.length} worker(s)`);
  }
  let lastPct = -1;
  const parts = await sortInParallel(blocks, {
    ...options,
    workers: Math.min(workers, blocks.length),
    verbose: false,
    onProgress: quiet
      ? undefined
      : (p) => {
          const pct = p.totalMs > 0 ? Math.floor((100 * p.doneMs) / p.totalMs / 10) * 10 : 0;
          if (pct !== lastPct) {
            lastPct = pct;
            io.err(`sorting: ${pct}% (${p.blocksDone}/${p.blocks} blocks done)`);
          }
        },
  });
  const result = parts.length === 1 ? parts[0] : mergeRecordings(parts, { maxDrift: options.maxDrift });
  return {
    result,
    backend: `${options.backend ?? 'auto'} in ${Math.min(workers, blocks.length)} worker thread(s)`,
    seconds: (performance.now() - t0) / 1000,
    blocks: blocks.length,
  };
}

/** Saves the result and writes the Phy and SpikeInterface folders and summary.json into `out`. */
export async function writeSortOutputs(
  out: string,
  rec: Recording,
  outcome: SortOutcome,
  resultName: string = RESULT_FILE,
): Promise<SummaryJson> {
  const resultFile = path.join(out, resultName);
  await outcome.result.save(resultFile);
  writeRecordingDescription(out, rec);
  exportPhy(outcome.result, path.join(out, 'phy'), { recording: rec });
  exportSpikeInterface(outcome.result, path.join(out, 'spikeinterface'), { origin: rec.recordingOffset });
  const summary = summarize(outcome.result, {
    seconds: outcome.seconds,
    backend: outcome.backend,
    blocks: outcome.blocks,
    files: { result: resultName, phy: 'phy', spikeinterface: 'spikeinterface', recording: 'recording.json' },
  });
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const rec = await recordingFromArgs(parsed.positionals[0], parsed, 'sort');
  const options = sortOptionsFrom(parsed);
  try {
    validateSortOptions(rec, options);
  } catch (e) {
    throw asUsageError(e, 'sort');
  }
  const out = optString(parsed, 'out')!;
  ensureOutDir(out, 'sort');
  const quiet = optFlag(parsed, 'quiet');
  const workers = optNumber(parsed, 'workers') ?? 1;
  const blockCount = optNumber(parsed, 'blocks');
  const block = optNumber(parsed, 'block');
  if (blockCount !== undefined || block !== undefined) {
    if (blockCount === undefined) throw new UsageError('--block needs --blocks N (the number of blocks the recording is cut into)', 'sort');
    if (block === undefined) throw new UsageError(`--blocks ${blockCount} needs --block I (which block to sort, 0 to ${blockCount - 1}); to sort all blocks in this process use --workers ${blockCount}`, 'sort');
    if (block >= blockCount) throw new UsageError(`--block must be below --blocks (${blockCount}), got ${block}`, 'sort');
    if (parsed.options.workers !== undefined) throw new UsageError('--workers cannot be combined with --block: one process sorts one block', 'sort');
    const { sortOneBlock } = await import('./blocks.js');
    return sortOneBlock(rec, options, blockCount, block, out, quiet, io);
  }
  const outcome = await sortRecording(rec, options, workers, quiet, io);
  const summary = await writeSortOutputs(out, rec, outcome);
  io.out(
    `sorted ${summary.recordingSeconds.toFixed(2)} s on ${rec.numChannels} channels in ${summary.seconds.toFixed(2)} s (${summary.backend}): ` +
      `${summary.units} units, ${summary.totalSpikes} spikes, ${summary.segments} segments`,
  );
  io.out(`wrote ${path.join(out, RESULT_FILE)}, ${path.join(out, 'phy')}/, ${path.join(out, 'spikeinterface')}/, ${path.join(out, 'summary.json')}`);
  return 0;
}

export const command: Command = { spec, run };
