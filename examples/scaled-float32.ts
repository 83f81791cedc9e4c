/**
 * Workflow 4: a file saved as float32 a*x + b (scaled by the acquisition software). Sorting it
 * with detectionPolarity = -1/a undoes the scale (the filter removes b), so it is sorted like
 * the raw data and merges with the neighbouring file's result.
 *
 *   node --import ./scripts/ts-loader.mjs examples/scaled-float32.ts \
 *     [--file before.bin --file scaled.bin --probe probe.json --fs 30000 --dtype int16 --dtype float32 --a 0.195 --b 12]
 */
import { join } from 'node:path';
import { mergeRecordings } from '../src/result/merge.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, type FileSpec, cutFile, describeResult, filesFromArgs, generatedData, isMain, logger, openRecording, runMain, withScratchDir, writeScaledFloat32 } from './common.js';

export async function sortScaledFile(
  before: FileSpec,
  scaled: FileSpec,
  a: number,
  opts: ExampleOptions = {},
): Promise<{ before: SortedRecording; scaled: SortedRecording; merged: SortedRecording }> {
  const log = logger(opts);
  const r1 = await performSpikeSorting(openRecording(before), opts.sortOptions);
  const r2 = await performSpikeSorting(openRecording(scaled, { recordingOffset: r1.endTime() }), {
    ...opts.sortOptions,
    detectionPolarity: -1 / a,
  });
  log(`scaled file sorted with detectionPolarity = ${-1 / a}: ${r2.length} clusters`);
  const merged = mergeRecordings([r1, r2], { maxDrift: opts.sortOptions?.maxDrift ?? 30 });
  describeResult(merged, 'merged').forEach((l) => log(l));
  return { before: r1, scaled: r2, merged };
}

/** From one int16 recording: the first half as is, the second half rewritten as float32 a*x + b. */
export function scaledFiles(data: FileSpec, dir: string, a: number, b: number): [FileSpec, FileSpec] {
  const half = Math.floor(data.numSamples / 2);
  const first = cutFile(data, 0, half, join(dir, 'before.bin'));
  const secondRaw = cutFile(data, half, data.numSamples - half, join(dir, 'after-int16.bin'));
  return [first, writeScaledFloat32(secondRaw, a, b, join(dir, 'after-float32.bin'))];
}

export async function main(argv: string[] = []) {
  const { files, values } = await filesFromArgs(argv);
  const a = values.a !== undefined ? Number(values.a) : 0.195;
  const b = values.b !== undefined ? Number(values.b) : 12;
  if (files && files.length >= 2) return sortScaledFile(files[0], files[1], a);
  const data = await generatedData();
  return withScratchDir(async (dir) => {
    const [first, second] = scaledFiles(data, dir, a, b);
    return sortScaledFile(first, second, a);
  });
}

if (isMain(import.meta.url)) runMain(main);
