/**
 * Workflow 3: a second file recorded right after the first. Its spike times continue at the
 * first result's endTime() (recordingOffset), then both results are merged.
 *
 *   node --import ./scripts/ts-loader.mjs examples/continue-file.ts \
 *     [--file first.bin --file second.bin --probe probe.json --fs 30000 --dtype int16]
 */
import { join } from 'node:path';
import { mergeRecordings } from '../src/result/merge.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, type FileSpec, cutFile, describeResult, filesFromArgs, generatedData, isMain, logger, openRecording, runMain, withScratchDir } from './common.js';

export async function continueWithSecondFile(
  first: FileSpec,
  second: FileSpec,
  opts: ExampleOptions = {},
): Promise<{ first: SortedRecording; second: SortedRecording; merged: SortedRecording }> {
  const log = logger(opts);
  const r1 = await performSpikeSorting(openRecording(first), opts.sortOptions);
  // The second file's sample 0 comes right after the first file's last sample.
  const r2 = await performSpikeSorting(openRecording(second, { recordingOffset: r1.endTime() }), opts.sortOptions);
  log(`first file: [${r1.startTime()}, ${r1.endTime()}), second file: [${r2.startTime()}, ${r2.endTime()})`);
  const merged = mergeRecordings([r1, r2], { maxDrift: opts.sortOptions?.maxDrift ?? 30 });
  describeResult(merged, 'both files').forEach((l) => log(l));
  return { first: r1, second: r2, merged };
}

/** Two consecutive files cut from one generated recording (so the same neurons continue). */
export async function twoFiles(dir: string, data?: FileSpec): Promise<[FileSpec, FileSpec]> {
  const d = data ?? (await generatedData());
  const half = Math.floor(d.numSamples / 2);
  return [cutFile(d, 0, half, join(dir, 'first.bin')), cutFile(d, half, d.numSamples - half, join(dir, 'second.bin'))];
}

export async function main(argv: string[] = []) {
  const { files } = await filesFromArgs(argv);
  if (files && files.length >= 2) return continueWithSecondFile(files[0], files[1]);
  return withScratchDir(async (dir) => {
    const [a, b] = await twoFiles(dir);
    return continueWithSecondFile(a, b);
  });
}

if (isMain(import.meta.url)) runMain(main);
