/**
 * Workflow 5: split a (merged) result into its segments and re-merge part of them, e.g. to
 * drop a stretch of the session or to re-link segments with another maxDrift.
 *
 *   node --import ./scripts/ts-loader.mjs examples/split-and-remerge.ts \
 *     [--saved result.spikesift | --file rec.bin --probe probe.json --fs 30000 --dtype int16]
 */
import { mergeRecordings } from '../src/result/merge.js';
import { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, describeResult, filesFromArgs, generatedData, isMain, logger, openRecording, runMain } from './common.js';

export function splitAndRemerge(
  result: SortedRecording,
  opts: ExampleOptions & { from?: number; to?: number } = {},
): { parts: SortedRecording[]; remerged: SortedRecording } {
  const log = logger(opts);
  const parts = result.splitIntoSegments();
  parts.forEach((p, i) => log(`segment ${i}: [${p.startTime()}, ${p.endTime()}), ${p.length} units`));
  // Default: everything but the first segment.
  const from = opts.from ?? Math.min(1, parts.length - 1);
  const to = opts.to ?? parts.length;
  const remerged = mergeRecordings(parts.slice(from, to), { maxDrift: opts.sortOptions?.maxDrift ?? 30 });
  describeResult(remerged, `segments ${from}..${to - 1} re-merged`).forEach((l) => log(l));
  return { parts, remerged };
}

export async function main(argv: string[] = []) {
  const { files, values } = await filesFromArgs(argv);
  const result = values.saved
    ? await SortedRecording.load(values.saved)
    : await performSpikeSorting(openRecording(files?.[0] ?? (await generatedData())));
  return splitAndRemerge(result);
}

if (isMain(import.meta.url)) runMain(main);
