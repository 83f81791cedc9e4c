// spikesift report: one self-contained HTML page to look at a sorting before reading numbers.

import fs from 'node:fs';
import path from 'node:path';
import { writeReport, type AccuracyRow, type ReportAccuracy } from '../export/report.js';
import { compareToGroundTruth, formatComparison, type ComparisonReport } from '../groundtruth/compare.js';
import { loadGroundTruth } from '../groundtruth/types.js';
import type { SortedRecording } from '../result/sorted-recording.js';
import { loadResult, resolveResultPath, optFlag, optNumber, optString, parseArgs, UsageError, type CliIO, type Command, type CommandSpec } from './args.js';
import { optionalRecording } from './format-recording.js';
import { OPTIONAL_RECORDING_OPTIONS } from './export.js';
import { OVERWRITE_OPTION, reportNotes, writeOutputFile } from './outdir.js';
import { CommandSteps } from './steps.js';
import { plural } from './words.js';

/**
 * Scores `result` against a ground_truth.json and returns the per-unit rows the report draws
 * plus headline lines and the printable comparison table.
 */
export async function accuracyFromGroundTruth(gtFile: string, result: SortedRecording): Promise<ReportAccuracy & { table: string; comparison: ComparisonReport }> {
  const gt = loadGroundTruth(gtFile);
  const comparison = compareToGroundTruth(gt, result, { samplingFrequency: gt.samplingFrequency ?? result.samplingFrequency });
  const t = comparison.totals;
  const rows: AccuracyRow[] = comparison.units.map((u) => ({
    gtUnit: u.gtId,
    sortedUnit: u.sortedId,
    accuracy: u.accuracy,
    precision: Number.isFinite(u.precision) ? u.precision : 0,
    recall: u.recall,
    ...(u.snr === null ? {} : { snr: u.snr }),
    numSpikes: u.numGt,
  }));
  const headline = [
    `well detected (accuracy >= ${comparison.scores.wellDetectedScore}): ${t.numWellDetected} of ${t.numGt} ground-truth units; ` +
      `mean accuracy ${t.meanAccuracy.toFixed(3)}, precision ${Number.isFinite(t.meanPrecision) ? t.meanPrecision.toFixed(3) : 'n/a'}, recall ${t.meanRecall.toFixed(3)}`,
    `sorted units: ${t.numSorted} (${t.numMatched} matched, ${t.numFalsePositive} false positive, ${t.numRedundant} redundant, ${t.numOvermerged} overmerged)`,
  ];
  return { rows, headline, table: formatComparison(comparison), comparison };
}

export const spec: CommandSpec = {
  name: 'report',
  summary: 'Write a self-contained HTML report (no network needed to view it): raster plot with the segments, each unit\'s mean filtered waveform on the probe layout, depth and amplitude over time (drift), firing rates and, with --ground-truth, accuracy per unit.',
  positionals: [{ name: 'RESULT', description: 'A saved result.spikesift or the output folder of sort/merge.' }],
  options: [
    { name: 'out', kind: 'string', value: 'FILE', required: true, description: 'The HTML file to write. An existing file is refused unless --overwrite is given.' },
    OVERWRITE_OPTION,
    { name: 'ground-truth', kind: 'string', value: 'FILE', description: 'ground_truth.json (from spikesift generate) to score the sorting against.' },
    { name: 'title', kind: 'string', value: 'TEXT', description: 'Page title.', defaultText: 'spikesift report' },
    { name: 'waveform-spikes', kind: 'integer', value: 'N', min: 1, description: 'Spikes averaged per unit for the waveforms.', defaultText: '100' },
    ...OPTIONAL_RECORDING_OPTIONS,
  ],
  details: 'Without a recording (no --recording and no recording.json beside the result) the units are drawn as amplitude footprints instead of waveforms.',
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const resultArg = parsed.positionals[0];
  const result: SortedRecording = await loadResult(resultArg, 'report');
  const recording = await optionalRecording(resultArg, parsed, result, 'report', io);
  let accuracy: ReportAccuracy | undefined;
  const gtFile = optString(parsed, 'ground-truth');
  if (gtFile !== undefined) {
    if (!fs.existsSync(gtFile)) throw new UsageError(`--ground-truth "${gtFile}" does not exist`, 'report');
    try {
      accuracy = await accuracyFromGroundTruth(gtFile, result);
    } catch (e) {
      throw new UsageError(`--ground-truth "${gtFile}": ${(e as Error).message}`, 'report');
    }
  }
  const out = optString(parsed, 'out')!;
  const steps = new CommandSteps(io, false);
  const notes = await writeOutputFile(out, 'report', { overwrite: optFlag(parsed, 'overwrite'), inputs: [resolveResultPath(resultArg, 'report'), ...(recording ? [recording.binaryFile] : []), ...(gtFile ? [gtFile] : [])] }, (tmp) =>
    steps.step('writing the report', () =>
      writeReport(tmp, {
        result,
        recording,
        accuracy,
        title: optString(parsed, 'title'),
        maxSpikesPerUnit: optNumber(parsed, 'waveform-spikes'),
        meta: { result: path.resolve(resultArg), ...(recording ? { recording: recording.binaryFile } : {}) },
      })));
  reportNotes(io, notes);
  steps.finish(`wrote ${out} (${plural(result.length, 'unit')})`);
  return 0;
}

export const command: Command = { spec, run };
