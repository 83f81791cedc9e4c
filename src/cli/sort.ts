// spikesift sort: sort one recording and write everything a user needs next to each other:
// the saved result, Phy and SpikeInterface folders, and a summary.

import path from 'node:path';
import { validateSortOptions, type SortOptions } from '../pipeline/perform.js';
import { SORT_PARAMETERS } from '../core/params.js';
import { RECORDING_OPTIONS, RESULT_FILE, UsageError, asUsageError, ensureOutDir, optFlag, optNumber, optString, parseArgs, type CliIO, type Command, type CommandSpec, type OptionSpec, type ParsedArgs } from './args.js';
import { recordingFromArgs } from './format-recording.js';
import { sortRecording, writeSortOutputs } from './sort-run.js';
import { OVERWRITE_OPTION, openOutputFolder, reportNotes } from './outdir.js';
import { CommandSteps } from './steps.js';
import { plural } from './words.js';

export { blocksFor, sortRecording, splitIntoBlocks, writeSortOutputs, type SortOutcome } from './sort-run.js';

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
  positionals: [{ name: 'RECORDING', description: 'The raw binary file: samples x channels, sample-major, little-endian; or a SpikeGLX .ap.bin (its .meta beside it gives rate, channels and geometry); or an Open Ephys structure.oebin / recording folder (with --stream when it has several).' }],
  options: [
    // Not required: a SpikeGLX .bin (with its .meta) or an Open Ephys structure.oebin says them.
    ...RECORDING_OPTIONS,
    ...SORT_OPTIONS.filter((o) => o.group !== 'Output'),
    BLOCKS_OPTION,
    BLOCK_OPTION,
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder (created if needed). A folder that holds a previous result is refused unless --overwrite is given; the folder of the recording is refused.', group: 'Output' },
    OVERWRITE_OPTION,
    ...SORT_OPTIONS.filter((o) => o.group === 'Output'),
  ],
  details: `Example:
  spikesift sort data.bin --probe probe.json --sampling-frequency 30000 --dtype int16 --out sorted/
  spikesift sort run_g0_t0.imec0.ap.bin --out sorted/
  spikesift sort "Record Node 101/experiment1/recording1" --stream ProbeA-AP --out sorted/
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

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const quiet = optFlag(parsed, 'quiet');
  const steps = new CommandSteps(io, quiet);
  const rec = await recordingFromArgs(parsed.positionals[0], parsed, 'sort', undefined, (m) => io.err(`warning: ${m}`));
  const options = sortOptionsFrom(parsed);
  try {
    validateSortOptions(rec, options);
  } catch (e) {
    throw asUsageError(e, 'sort');
  }
  const out = optString(parsed, 'out')!;
  const blockCount = optNumber(parsed, 'blocks');
  const block = optNumber(parsed, 'block');
  if (block !== undefined) {
    if (blockCount === undefined) throw new UsageError('--block needs --blocks N (the number of blocks the recording is cut into)', 'sort');
    if (block >= blockCount) throw new UsageError(`--block must be below --blocks (${blockCount}), got ${block}`, 'sort');
    // Block tasks write block-I files side by side into one folder (and reruns replace them).
    ensureOutDir(out, 'sort');
    const { sortOneBlock } = await import('./blocks.js');
    return sortOneBlock(rec, options, blockCount, block, out, quiet, io);
  }
  // Checked before sorting: a refused folder must not cost the sort.
  const target = openOutputFolder(out, 'sort', 'sort', { overwrite: optFlag(parsed, 'overwrite'), inputs: [rec.binaryFile] });
  try {
    const outcome = await sortRecording(rec, options, blockCount ?? 1, quiet, io);
    const summary = await writeSortOutputs(target.staging, rec, outcome, RESULT_FILE, steps);
    reportNotes(io, target.commit());
    io.out(
      `sorted ${summary.recordingSeconds.toFixed(2)} s on ${plural(rec.numChannels, 'channel')}${rec.fileChannels !== rec.numChannels ? ` (of ${rec.fileChannels} file columns)` : ''} in ${summary.seconds.toFixed(2)} s (${summary.backend}): ` +
        `${plural(summary.units, 'unit')}, ${plural(summary.totalSpikes, 'spike')}, ${plural(summary.segments, 'segment')}`,
    );
    steps.finish(`wrote ${path.join(out, RESULT_FILE)}, ${path.join(out, 'phy')}/, ${path.join(out, 'spikeinterface')}/, ${path.join(out, 'summary.json')}, ${path.join(out, 'recording.json')}`);
  } finally {
    target.abort();
  }
  return 0;
}

export const command: Command = { spec, run };
