/**
 * Workflow 7: follow one cluster through the individual segments of a result: which unit it is
 * in each segment, how many spikes it fires there, and where its amplitude peaks on the probe
 * (drift shows up as the peak moving along the shank).
 *
 *   node --import ./scripts/ts-loader.mjs examples/track-cluster.ts \
 *     [--file rec.bin --probe probe.json --fs 30000 --dtype int16] [--id 0]
 */
import { mapClusters } from '../src/result/merge.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, filesFromArgs, generatedData, isMain, logger, openRecording, runMain } from './common.js';

export interface SegmentTrack {
  segment: number;
  /** Unit index within the segment (from the result's own chain of assignments). */
  unit: number;
  spikes: number;
  /** Channel with the largest amplitude and its y position (µm). */
  peakChannel: number;
  peakDepth: number;
  /** The unit mapClusters finds for this cluster in the segment on its own (-1: none). */
  mappedUnit: number;
}

export function trackCluster(result: SortedRecording, id: number, opts: ExampleOptions = {}): SegmentTrack[] {
  const log = logger(opts);
  const chain = result.chain(id);
  const parts = result.splitIntoSegments();
  const vectors = result.amplitudeVectors(id);
  const track = parts.map((part, s): SegmentTrack => {
    const v = vectors[s];
    let peak = 0;
    for (let c = 1; c < v.length; c++) if (v[c] > v[peak]) peak = c;
    // An independent check of the chain: match the cluster's first-segment footprint directly
    // against this segment's units, with drift simulation.
    const mapped = mapClusters(result, part, { maxDrift: opts.sortOptions?.maxDrift ?? 30 }).get(id) ?? -1;
    return {
      segment: s,
      unit: chain[s],
      spikes: part.segments[0].spikes[chain[s]].length,
      peakChannel: peak,
      peakDepth: result.probeGeometry[peak][1],
      mappedUnit: mapped,
    };
  });
  log(`cluster ${id} through ${parts.length} segments:`);
  for (const t of track) {
    log(`  segment ${t.segment}: unit ${t.unit}, ${t.spikes} spikes, peak on channel ${t.peakChannel} (y = ${t.peakDepth} µm), mapClusters -> ${t.mappedUnit}`);
  }
  return track;
}

export async function main(argv: string[] = []) {
  const { files, values } = await filesFromArgs(argv);
  const result = await performSpikeSorting(openRecording(files?.[0] ?? (await generatedData())));
  if (result.length === 0) throw new Error('no clusters were found, nothing to track');
  const id = values.id !== undefined ? Number(values.id) : result.clusterIds()[0];
  return trackCluster(result, id);
}

if (isMain(import.meta.url)) runMain(main);
