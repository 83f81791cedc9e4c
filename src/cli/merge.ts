// spikesift merge: join results of consecutive recordings (or blocks) on one probe into one,
// linking units across each junction by drift-searched assignment.

import fs from 'node:fs';
import path from 'node:path';
import { mergeRecordings } from '../result/merge.js';
import { RESULT_FILE, UsageError, ensureOutDir, loadResult, optNumber, optString, parseArgs, summarize, type CliIO, type Command, type CommandSpec } from './args.js';

export const spec: CommandSpec = {
  name: 'merge',
  summary: 'Merge saved results that follow each other in time on the same probe (e.g. files sorted separately with --recording-offset placing them on one time line). Cluster ids of the merged result are those of the first RESULT. Writes OUT/result.spikesift and OUT/summary.json.',
  positionals: [{ name: 'RESULT', variadic: true, description: 'Saved results (result.spikesift files or sort output folders), in time order, at least two.' }],
  options: [
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder (created if needed).' },
    { name: 'max-drift', kind: 'number', value: 'UM', min: 0, description: 'Largest drift in µm searched at each junction (rounded to a multiple of 5).', defaultText: '30' },
  ],
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  if (parsed.positionals.length < 2) {
    throw new UsageError(`merge needs at least two RESULT arguments, got ${parsed.positionals.length}`, 'merge');
  }
  const results = [];
  for (const arg of parsed.positionals) results.push(await loadResult(arg, 'merge'));
  let merged;
  try {
    merged = mergeRecordings(results, { maxDrift: optNumber(parsed, 'max-drift') });
  } catch (e) {
    // Incompatible inputs (other probe, overlapping times) are a problem with the arguments.
    throw new UsageError(`cannot merge ${parsed.positionals.join(', ')}: ${(e as Error).message}`, 'merge');
  }
  const out = optString(parsed, 'out')!;
  ensureOutDir(out, 'merge');
  await merged.save(path.join(out, RESULT_FILE));
  const summary = summarize(merged, { seconds: 0, backend: 'merge', blocks: results.length, files: { result: RESULT_FILE } });
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  io.out(`merged ${results.length} results: ${merged.length} units over ${merged.numSegments} segments, ${summary.totalSpikes} spikes; wrote ${path.join(out, RESULT_FILE)}`);
  return 0;
}

export const command: Command = { spec, run };
