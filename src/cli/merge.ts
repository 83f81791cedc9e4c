// spikesift merge: join results of consecutive recordings (or blocks) on one probe into one,
// linking units across each junction by drift-searched assignment.

import fs from 'node:fs';
import path from 'node:path';
import { mergeRecordings } from '../result/merge.js';
import { RESULT_FILE, UsageError, loadResult, optFlag, optNumber, optString, parseArgs, resolveResultPath, summarize, type CliIO, type Command, type CommandSpec } from './args.js';
import { OVERWRITE_OPTION, openOutputFolder, reportNotes } from './outdir.js';
import { CommandSteps } from './steps.js';
import { plural } from './words.js';

export const spec: CommandSpec = {
  name: 'merge',
  summary: 'Merge saved results that follow each other in time on the same probe (e.g. files sorted separately with --recording-offset placing them on one time line). Cluster ids of the merged result are those of the first RESULT. Writes OUT/result.spikesift and OUT/summary.json.',
  positionals: [{ name: 'RESULT', variadic: true, description: 'Saved results (result.spikesift files or sort output folders), in any order (they are joined in time order), at least two; or the block-*.spikesift files of spikesift sort --blocks.' }],
  options: [
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder (created if needed), or a FILE.spikesift path for the result (the other files go beside it). A folder that holds a previous result is refused unless --overwrite is given.' },
    { name: 'max-drift', kind: 'number', value: 'UM', min: 0, description: 'Largest drift in µm searched at each junction (rounded to a multiple of 5).', defaultText: '30' },
    OVERWRITE_OPTION,
    { name: 'allow-gaps', kind: 'flag', description: 'Accept results with time between them (recordings that do not follow each other directly); without it a gap is refused as a missing piece.' },
  ],
  details: `Block results (spikesift sort --blocks N --block I) must be the complete set of one sort; merging them
writes everything spikesift sort --out writes (result, phy/, spikeinterface/, summary.json, recording.json),
equal to sort --blocks N.
  spikesift merge sorted/block-*.spikesift --out sorted/result.spikesift`,
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const steps = new CommandSteps(io, false);
  const outArg = optString(parsed, 'out')!;
  // `--out DIR/result.spikesift` names the file; everything else is a folder.
  const out = outArg.endsWith('.spikesift') ? path.dirname(outArg) : outArg;
  const resultName = outArg.endsWith('.spikesift') ? path.basename(outArg) : RESULT_FILE;
  const files = parsed.positionals.map((p) => resolveResultPath(p, 'merge'));
  const { isBlockResult, mergeBlocks } = await import('./blocks.js');
  const blockFiles = files.filter(isBlockResult);
  if (blockFiles.length > 0) {
    if (blockFiles.length < files.length) {
      const other = files.find((f) => !isBlockResult(f));
      throw new UsageError(`${other} is not a block result but ${blockFiles[0]} is; merge block results (with their block-I.json) separately from other results`, 'merge');
    }
    // Block results are merged into the folder that holds them (spikesift slurm's layout).
    const target = openOutputFolder(out, 'sort', 'merge', { overwrite: optFlag(parsed, 'overwrite') });
    try {
      const code = await mergeBlocks(files, out, resultName, optNumber(parsed, 'max-drift'), io, target, steps);
      steps.finish(`wrote ${path.join(out, resultName)}, ${path.join(out, 'phy')}/, ${path.join(out, 'spikeinterface')}/, ${path.join(out, 'summary.json')}`);
      return code;
    } finally {
      target.abort();
    }
  }
  if (parsed.positionals.length < 2) {
    throw new UsageError(`merge needs at least two RESULT arguments, got ${parsed.positionals.length}`, 'merge');
  }
  const loaded = [];
  for (const [k, arg] of parsed.positionals.entries()) loaded.push({ arg, result: await loadResult(arg, 'merge'), k });
  // Any listed order: join in time order (ties keep the listed order).
  loaded.sort((a, b) => a.result.startTime() - b.result.startTime() || a.k - b.k);
  if (loaded.some((l, k) => l.k !== k)) io.err(`note: joining in time order: ${loaded.map((l) => l.arg).join(', ')}`);
  for (let k = 1; k < loaded.length; k++) {
    const prev = loaded[k - 1];
    const cur = loaded[k];
    if (prev.result.endTime() < cur.result.startTime() && !optFlag(parsed, 'allow-gaps')) {
      const gap = cur.result.startTime() - prev.result.endTime();
      throw new UsageError(
        `a gap of ${gap} samples (${(gap / cur.result.samplingFrequency).toFixed(3)} s) between ${prev.arg} (ends at sample ${prev.result.endTime()}) and ${cur.arg} (starts at ${cur.result.startTime()}); ` +
          'a piece is missing, or pass --allow-gaps if the recordings really are apart in time',
        'merge',
      );
    }
  }
  const results = loaded.map((l) => l.result);
  let merged;
  try {
    merged = mergeRecordings(results, { maxDrift: optNumber(parsed, 'max-drift') });
  } catch (e) {
    // Incompatible inputs (other probe, overlapping times) are a problem with the arguments.
    throw new UsageError(`cannot merge ${loaded.map((l) => l.arg).join(', ')}: ${(e as Error).message}`, 'merge');
  }
  const target = openOutputFolder(out, 'sort', 'merge', { overwrite: optFlag(parsed, 'overwrite'), inputs: files });
  try {
    await merged.save(path.join(target.staging, resultName));
    const summary = summarize(merged, { seconds: 0, backend: 'merge', blocks: results.length, files: { result: resultName } });
    fs.writeFileSync(path.join(target.staging, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    reportNotes(io, target.commit());
    io.out(`merged ${plural(results.length, 'result')}: ${plural(merged.length, 'unit')} over ${plural(merged.numSegments, 'segment')}, ${plural(summary.totalSpikes, 'spike')}; wrote ${path.join(out, resultName)}`);
    steps.finish(`wrote ${path.join(out, resultName)}, ${path.join(out, 'summary.json')}`);
  } finally {
    target.abort();
  }
  return 0;
}

export const command: Command = { spec, run };
