/**
 * Workflow 1: sort one file and save the result.
 *
 *   node --import ./scripts/ts-loader.mjs examples/sort-one-file.ts \
 *     [--file rec.bin --probe probe.json --fs 30000 --dtype int16] [--out DIR]
 */
import { join } from 'node:path';
import { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, type FileSpec, describeResult, filesFromArgs, generatedData, isMain, logger, openRecording, outputDir, runMain } from './common.js';

export async function sortOneFile(file: FileSpec, opts: ExampleOptions = {}): Promise<{ result: SortedRecording; savedTo: string }> {
  const log = logger(opts);
  const recording = openRecording(file);
  const result = await performSpikeSorting(recording, opts.sortOptions);
  describeResult(result, 'sorted').forEach((l) => log(l));
  for (const [id, spikes] of result.allSpikes()) {
    const first = Array.from(spikes.subarray(0, 5)).join(', ');
    log(`  cluster ${id}: first spike samples ${first}${spikes.length > 5 ? ', ...' : ''}`);
  }
  const savedTo = join(outputDir(opts), 'result.spikesift');
  await result.save(savedTo);
  log(`saved to ${savedTo}; reload with SortedRecording.load(path)`);
  return { result, savedTo };
}

export async function main(argv: string[] = []) {
  const { files, values } = await filesFromArgs(argv);
  const file = files?.[0] ?? (await generatedData());
  return sortOneFile(file, { outDir: values.out });
}

if (isMain(import.meta.url)) runMain(main);
