/**
 * Workflow 8: neurons that are active only part of the time. Sort a short reference stretch,
 * sort a longer recording, and look each reference neuron up in every segment of the longer
 * one: a neuron found in some segments and not in others is transient.
 *
 *   node --import ./scripts/ts-loader.mjs examples/transient-neurons.ts \
 *     [--file reference.bin --file long.bin --probe probe.json --fs 30000 --dtype int16]
 */
import { mapClusters } from '../src/result/merge.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, type FileSpec, filesFromArgs, generatedData, isMain, logger, openRecording, runMain } from './common.js';

export async function transientNeurons(
  reference: FileSpec,
  long: FileSpec,
  opts: ExampleOptions & { referenceSamples?: number } = {},
): Promise<{ reference: SortedRecording; long: SortedRecording; presence: Map<number, number[]> }> {
  const log = logger(opts);
  const maxDrift = opts.sortOptions?.maxDrift ?? 30;
  const refRecording = openRecording(reference, opts.referenceSamples ? { numSamples: opts.referenceSamples } : {});
  const ref = await performSpikeSorting(refRecording, opts.sortOptions);
  const whole = await performSpikeSorting(openRecording(long), opts.sortOptions);
  // presence.get(id)[s] = unit of segment s matching reference cluster id, or -1.
  const presence = new Map<number, number[]>(ref.clusterIds().map((id) => [id, []]));
  for (const segment of whole.splitIntoSegments()) {
    const found = mapClusters(ref, segment, { maxDrift });
    for (const [id, row] of presence) row.push(found.get(id) ?? -1);
  }
  log(`reference: ${ref.length} clusters; long recording: ${whole.numSegments} segments`);
  for (const [id, row] of presence) {
    const seen = row.filter((u) => u >= 0).length;
    const marks = row.map((u) => (u >= 0 ? String(u).padStart(3) : '  .')).join('');
    log(`  reference ${String(id).padStart(3)}:${marks}   (${seen}/${row.length} segments${seen < row.length ? ', transient' : ''})`);
  }
  return { reference: ref, long: whole, presence };
}

export async function main(argv: string[] = []) {
  const { files } = await filesFromArgs(argv);
  if (files && files.length >= 2) return transientNeurons(files[0], files[1]);
  // Generated: the first 20% of the recording is the short reference.
  const data = files?.[0] ?? (await generatedData());
  return transientNeurons(data, data, { referenceSamples: Math.floor(data.numSamples / 5) });
}

if (isMain(import.meta.url)) runMain(main);
