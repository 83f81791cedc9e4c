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
  /** Unit index within the segment (from the result's own chain or track; -1 where a track skips the segment or has not started or has ended). */
  unit: number;
  spikes: number;
  /** Channel with the largest amplitude and its y position (µm). */
  peakChannel: number;
  peakDepth: number;
  /** The unit mapClusters finds for this cluster in the segment on its own (-1: none; -1 too where the cluster has no unit). */
  mappedUnit: number;
}

export function trackCluster(result: SortedRecording, id: number, opts: ExampleOptions = {}): SegmentTrack[] {
  const log = logger(opts);
  const chain = result.chain(id);
  const parts = result.splitIntoSegments();
  const track = parts.map((part, s): SegmentTrack => {
    const u = chain[s];
    if (u < 0) return { segment: s, unit: -1, spikes: 0, peakChannel: -1, peakDepth: NaN, mappedUnit: -1 };
    const v = result.segments[s].amplitudes[u];
    let peak = 0;
    for (let c = 1; c < v.length; c++) if (v[c] > v[peak]) peak = c;
    // An independent check: match the cluster's footprint (first segment for a chain, the whole
    // track for a track) directly against this segment's units, with drift simulation. A part of
    // a chain result has the segment's unit indices as ids, a part of a tracked one its track ids.
    const to = mapClusters(result, part, { maxDrift: opts.sortOptions?.maxDrift ?? 30 }).get(id);
    const mapped = to === undefined ? -1 : part.tracked ? part.chain(to)[0] : to;
    return {
      segment: s,
      unit: u,
      spikes: part.segments[0].spikes[u].length,
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
