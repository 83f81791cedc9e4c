// Sorting a recording for the CLI (one pass or local blocks) and writing the outputs a sort
// folder holds; shared by sort, demo and the Slurm block tasks.

import fs from 'node:fs';
import path from 'node:path';
import { exportPhy } from '../export/phy.js';
import { exportSpikeInterface } from '../export/spikeinterface.js';
import { Recording } from '../formats/recording.js';
import { mergeRecordings } from '../result/merge.js';
import type { SortedRecording } from '../result/sorted-recording.js';
import { performSpikeSortingDetailed, type SortOptions } from '../pipeline/perform.js';
import { SORT_DEFAULTS } from '../core/params.js';
import type { CommandSteps } from './steps.js';
import { plural } from './words.js';
import { RESULT_FILE, processIO, summarize, type SummaryJson, writeRecordingDescription, type CliIO } from './args.js';

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
        ...rec.toJSON(),
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
    // The library's progress bar writes to process.stderr; another sink (tests, embedding
    // programs) gets one line per 10 % through it instead.
    let lastPct = -1;
    const own = io === processIO;
    const { sorted, stats } = await performSpikeSortingDetailed(rec, {
      ...options,
      verbose: !quiet && own,
      onWarning: (m) => io.err(`warning: ${m}`),
      ...(quiet || own ? {} : {
        onProgress: (p: { doneMs: number; totalMs: number }) => {
          const pct = p.totalMs > 0 ? Math.floor((100 * p.doneMs) / p.totalMs / 10) * 10 : 0;
          if (pct !== lastPct) {
            lastPct = pct;
            io.err(`sorting: ${pct}%`);
          }
        },
      }),
    });
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
  // Workers cannot call back into this thread: the checks of the raw data and of the rates run here.
  const { inputWarnings, sortedRateWarnings } = await import('../pipeline/plausibility.js');
  for (const w of [...inputWarnings(rec, new Float32Array(0), []), ...sortedRateWarnings(result, rec.numChannels, rec.durationSeconds)]) io.err(`warning: ${w}`);
  return {
    result,
    backend: `${options.backend ?? SORT_DEFAULTS.backend}, ${plural(blocks.length, 'block')} in worker threads`,
    seconds: (performance.now() - t0) / 1000,
    blocks: blocks.length,
  };
}

/**
 * Saves the result and writes the Phy and SpikeInterface folders and summary.json into `out`
 * (for the CLI: the staging folder of an OutputFolder). With `steps`, the exports are reported
 * as steps with their times (they take as long as the sort on large probes).
 */
export async function writeSortOutputs(
  out: string,
  rec: Recording,
  outcome: SortOutcome,
  resultName: string = RESULT_FILE,
  steps?: CommandSteps,
): Promise<SummaryJson> {
  const run = <T>(label: string, fn: () => T | Promise<T>): Promise<T> => (steps ? steps.step(label, fn) : Promise.resolve(fn()));
  const resultFile = path.join(out, resultName);
  await outcome.result.save(resultFile);
  writeRecordingDescription(out, rec);
  await run('writing the Phy folder', () => exportPhy(outcome.result, path.join(out, 'phy'), { recording: rec }));
  await run('writing the SpikeInterface folder', () =>
    exportSpikeInterface(outcome.result, path.join(out, 'spikeinterface'), { origin: rec.recordingOffset, gainToMicrovolts: rec.gainToMicrovolts }));
  const summary = summarize(outcome.result, {
    seconds: outcome.seconds,
    backend: outcome.backend,
    blocks: outcome.blocks,
    files: { result: resultName, phy: 'phy', spikeinterface: 'spikeinterface', recording: 'recording.json' },
  });
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
