/**
 * Workflow 2: cut one long file into four blocks, sort them in parallel worker threads and merge
 * the results into one SortedRecording whose cluster ids span the whole file.
 *
 *   node --import ./scripts/ts-loader.mjs examples/parallel-blocks.ts \
 *     [--file rec.bin --probe probe.json --fs 30000 --dtype int16]
 */
import { mergeRecordings } from '../src/result/merge.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import { sortInParallel } from '../src/parallel/sort-in-parallel.js';
import { type ExampleOptions, type FileSpec, describeResult, filesFromArgs, generatedData, isMain, logger, openRecording, runMain } from './common.js';

export async function parallelBlocks(
  file: FileSpec,
  opts: ExampleOptions & { blocks?: number; workers?: number } = {},
): Promise<{ blocks: SortedRecording[]; merged: SortedRecording }> {
  const log = logger(opts);
  const count = opts.blocks ?? 4;
  const size = Math.floor(file.numSamples / count);
  // Each block reads its own range of the file (sampleOffset, numSamples) and reports spike
  // times on the file's time axis (recordingOffset = sampleOffset), so the blocks tile the file.
  const recordings = Array.from({ length: count }, (_, i) =>
    openRecording(file, {
      sampleOffset: i * size,
      recordingOffset: i * size,
      numSamples: i === count - 1 ? file.numSamples - i * size : size,
    }),
  );
  const blocks = await sortInParallel(recordings, { ...opts.sortOptions, workers: opts.workers ?? 2 });
  blocks.forEach((b, i) => log(`block ${i}: ${b.length} clusters in [${b.startTime()}, ${b.endTime()})`));
  const merged = mergeRecordings(blocks, { maxDrift: opts.sortOptions?.maxDrift ?? 30 });
  describeResult(merged, 'merged').forEach((l) => log(l));
  return { blocks, merged };
}

export async function main(argv: string[] = []) {
  const { files } = await filesFromArgs(argv);
  return parallelBlocks(files?.[0] ?? (await generatedData()));
}

if (isMain(import.meta.url)) runMain(main);
