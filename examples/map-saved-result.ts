/**
 * Workflow 6: come back to a saved result later and find its clusters in another result of the
 * same probe, here a re-merged part of itself: mapClusters(saved, other) gives, for each id of
 * the saved result, the matching id of the other one.
 *
 *   node --import ./scripts/ts-loader.mjs examples/map-saved-result.ts \
 *     [--saved result.spikesift | --file rec.bin --probe probe.json --fs 30000 --dtype int16] [--out DIR]
 */
import { join } from 'node:path';
import { mapClusters, mergeRecordings } from '../src/result/merge.js';
import { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, filesFromArgs, generatedData, isMain, logger, openRecording, outputDir, runMain } from './common.js';

export async function mapSavedResult(
  savedPath: string,
  opts: ExampleOptions = {},
): Promise<{ saved: SortedRecording; remerged: SortedRecording; mapping: Map<number, number> }> {
  const log = logger(opts);
  const maxDrift = opts.sortOptions?.maxDrift ?? 30;
  const saved = await SortedRecording.load(savedPath);
  const parts = saved.splitIntoSegments();
  const remerged = mergeRecordings(parts.slice(Math.min(1, parts.length - 1)), { maxDrift });
  const mapping = mapClusters(saved, remerged, { maxDrift });
  log(`${mapping.size} of ${saved.length} saved clusters found in the re-merged result:`);
  for (const [from, to] of mapping) log(`  saved cluster ${from} -> re-merged cluster ${to}`);
  return { saved, remerged, mapping };
}

export async function main(argv: string[] = []) {
  const { files, values } = await filesFromArgs(argv);
  let savedPath = values.saved;
  if (!savedPath) {
    const result = await performSpikeSorting(openRecording(files?.[0] ?? (await generatedData())));
    savedPath = join(values.out ?? outputDir({}), 'result.spikesift');
    await result.save(savedPath);
  }
  return mapSavedResult(savedPath);
}

if (isMain(import.meta.url)) runMain(main);
