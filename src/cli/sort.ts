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
import { SORT_DEFAULTS, SORT_PARAMETERS } from '../core/params.js';
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

/** The sorting options, generated from the parameter table (core/params.ts): one source for flags, help and defaults. */
export const SORT_OPTIONS: OptionSpec[] = SORT_PARAMETERS.filter((p) => p.cli !== null).map((p): OptionSpec => {
  const cli = p.cli!;
  const unit = p.unit && p.kind !== 'boolean' ? ` (${p.unit})` : '';
  const group = p.name === 'verbose' ? 'Output' : 'Sorting';
  if (p.kind === 'boolean') return { name: cli.flag, kind: 'flag', description: p.help, group };
  return {
    name: cli.flag,
    kind: p.kind === 'integer' ? 'integer' : p.kind === 'choice' ? 'string' : 'number',
    value: cli.value,
    description: `${p.help}${unit}; ${p.range}.`,
    defaultText: p.defaultText,
    ...(p.choices ? { choices: p.choices } : {}),
    ...(p.kind === 'integer' ? { min: 1 } : {}),
    group,
  };
});

/** Local block-parallel sorting (the recording split in time, sorted as separate recordings, merged). */
export const BLOCKS_OPTION: OptionSpec = {
  name: 'blocks', kind: 'integer', value: 'N', min: 1, defaultText: '1', group: 'Sorting',
  description: 'Sort N time blocks of the recording as separate recordings in parallel worker threads, then merge them (spikes within a few ms of block edges are lost; --workers alone keeps the exact result).',
};


/** One block of --blocks N, for cluster jobs (spikesift slurm); the merged blocks equal --blocks N. */
export const BLOCK_OPTION: OptionSpec = {
  name: 'block', kind: 'integer', value: 'I', min: 0, group: 'Sorting',
  description: 'With --blocks N: sort only block I (0 to N-1) into OUT/block-I.spikesift and OUT/block-I.json; spikesift merge OUT/block-*.spikesift --out OUT then gives what --blocks N gives.',
};

export const spec: CommandSpec = {
  name: 'sort',
  summary: 'Sort a raw binary recording. Writes OUT/result.spikesift (the saved result), OUT/phy (Phy folder), OUT/spikeinterface (NumpyFolderSorting), OUT/summary.json and OUT/recording.json (how to reopen the recording, used by report and export).',
  positionals: [{ name: 'RECORDING', description: 'The raw binary file: samples x channels, sample-major, little-endian.' }],
  options: [
    { ...RECORDING_OPTIONS[0], required: true },
    { ...RECORDING_OPTIONS[1], required: true },
    { ...RECORDING_OPTIONS[2], required: true },
    ...RECORDING_OPTIONS.slice(3),
    ...SORT_OPTIONS.filter((o) => o.group !== 'Output'),
    BLOCKS_OPTION,
    BLOCK_OPTION,
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder (created if needed; files of the same names are replaced).', group: 'Output' },
    ...SORT_OPTIONS.filter((o) => o.group === 'Output'),
  ],
  details: `Example:
  spikesift sort data.bin --probe probe.json --sampling-frequency 30000 --dtype int16 --out sorted/
  spikesift info sorted/ && spikesift report sorted/ --out sorted/report.html`,
};

/** SortOptions from the parsed command line, by the parameter table (only options given; quiet is left to the caller). */
export function sortOptionsFrom(parsed: ParsedArgs): SortOptions {
  const o: Record<string, unknown> = {};
  for (const p of SORT_PARAMETERS) {
    if (p.cli === null || p.name === 'verbose') continue;
    if (p.kind === 'boolean') {
      if (optFlag(parsed, p.cli.flag)) o[p.name] = p.cli.negate ? false : true;
    } else if (p.kind === 'choice') {
      const v = optString(parsed, p.cli.flag);
      if (v !== undefined) o[p.name] = v;
    } else {
      const v = optNumber(parsed, p.cli.flag);
      if (v !== undefined) o[p.name] = v;
    }
  }
  return o as SortOptions;
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
 * The blocks `--blocks n` sorts, shared with `--blocks n --block i` so that a block sorted by
 * itself (e.g. as a Slurm task) is the same block the worker pool sorts.
 */
export function blocksFor(rec: Recording, options: SortOptions, n: number): Recording[] {
  // A block shorter than one minimum segment would hold a single, shorter-than-asked segment
  // (fewer spikes per unit to cluster); keep blocks at least that long.
  const minSeg = Math.max(0.1, options.minSegmentLength ?? SORT_DEFAULTS.minSegmentLength);
  return splitIntoBlocks(rec, n, Math.round(minSeg * rec.samplingFrequency));
}

export interface SortOutcome {
  result: SortedRecording;
  backend: string;
  seconds: number;
  blocks: number;
}

/**
 * Sorts `rec` in one pass (segments on `options.workers` threads, the exact result) or, with
 * blocks > 1, as that many time blocks sorted as separate recordings in parallel and merged.
 */
export async function sortRecording(rec: Recording, options: SortOptions, blocksWanted: number, quiet: boolean, io: CliIO): Promise<SortOutcome> {
  const t0 = performance.now();
  if (blocksWanted <= 1) {
    const { sorted, stats } = await performSpikeSortingDetailed(rec, { ...options, verbose: !quiet });
    return { result: sorted, backend: stats.backendDescription, seconds: (performance.now() - t0) / 1000, blocks: 1 };
  }
  const { sortInParallel } = await import('../parallel/sort-in-parallel.js');
  const blocks = blocksFor(rec, options, blocksWanted);
  if (!quiet && blocks.length < blocksWanted) {
    io.err(`note: the recording is long enough for ${blocks.length} block(s) of >= --min-segment-length, sorting ${blocks.length} block(s)`);
  }
  let lastPct = -1;
  const parts = await sortInParallel(blocks, {
    ...options,
    workers: blocks.length,
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
    backend: `${options.backend ?? SORT_DEFAULTS.backend}, ${blocks.length} blocks in worker threads`,
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
  const blockCount = optNumber(parsed, 'blocks');
  const block = optNumber(parsed, 'block');
  if (block !== undefined) {
    if (blockCount === undefined) throw new UsageError('--block needs --blocks N (the number of blocks the recording is cut into)', 'sort');
    if (block >= blockCount) throw new UsageError(`--block must be below --blocks (${blockCount}), got ${block}`, 'sort');
    const { sortOneBlock } = await import('./blocks.js');
    return sortOneBlock(rec, options, blockCount, block, out, quiet, io);
  }
  const outcome = await sortRecording(rec, options, blockCount ?? 1, quiet, io);
  const summary = await writeSortOutputs(out, rec, outcome);
  io.out(
    `sorted ${summary.recordingSeconds.toFixed(2)} s on ${rec.numChannels} channels in ${summary.seconds.toFixed(2)} s (${summary.backend}): ` +
      `${summary.units} units, ${summary.totalSpikes} spikes, ${summary.segments} segments`,
  );
  io.out(`wrote ${path.join(out, RESULT_FILE)}, ${path.join(out, 'phy')}/, ${path.join(out, 'spikeinterface')}/, ${path.join(out, 'summary.json')}`);
  return 0;
}

export const command: Command = { spec, run };
