// spikesift demo: the whole job on a small embedded example. Generates a drifting recording
// with known spikes, sorts it, scores the result against the ground truth and writes the
// usual outputs plus report.html, printing accuracy and speed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeReport } from '../export/report.js';
import { generateRecording } from '../groundtruth/generate.js';
import { Recording } from '../formats/recording.js';
import { UsageError, optFlag, optNumber, optString, parseArgs, type CliIO, type Command, type CommandSpec, type ParsedArgs } from './args.js';
import { accuracyFromGroundTruth } from './report.js';
import { sortRecording, writeSortOutputs } from './sort-run.js';
import { OVERWRITE_OPTION, openOutputFolder, reportNotes, writeOutputFile, type OutputFolder } from './outdir.js';
import { CommandSteps } from './steps.js';
import { plural } from './words.js';

export const DEMO_DEFAULTS = Object.freeze({ preset: 'poly64', duration: 20, seed: 1, driftRate: 1.5, jumpUm: 10, minSegmentLength: 5 });

export const spec: CommandSpec = {
  name: 'demo',
  summary: `Generate a small drifting recording with known spikes (${DEMO_DEFAULTS.preset} probe, ${DEMO_DEFAULTS.duration} s, ${DEMO_DEFAULTS.driftRate} µm/s drift plus a ${DEMO_DEFAULTS.jumpUm} µm jump), sort it, compare it to the ground truth and write report.html. Prints accuracy, speed and where everything is.`,
  positionals: [],
  options: [
    { name: 'out', kind: 'string', value: 'DIR', description: 'Keep the recording, the sorting outputs and report.html in this folder (a folder with a previous demo is refused unless --overwrite).', defaultText: 'a temporary folder, removed at the end unless --keep' },
    { name: 'keep', kind: 'flag', description: 'Keep the temporary folder (without --out) and print where it is.' },
    OVERWRITE_OPTION,
    { name: 'duration', kind: 'number', value: 'S', greaterThan: 0, description: 'Seconds of recording to generate.', defaultText: String(DEMO_DEFAULTS.duration) },
    { name: 'preset', kind: 'string', value: 'PROBE', choices: ['linear32', 'poly64', 'np384'], description: 'Probe layout of the generated recording.', defaultText: DEMO_DEFAULTS.preset },
    { name: 'seed', kind: 'integer', value: 'N', description: 'Seed of the generator (same seed, same recording).', defaultText: String(DEMO_DEFAULTS.seed) },
    { name: 'backend', kind: 'string', value: 'NAME', choices: ['auto', 'webgpu', 'cpu'], description: 'Sorting backend.', defaultText: 'auto' },
    { name: 'quiet', kind: 'flag', description: 'Only the final lines, no progress.' },
  ],
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const quiet = optFlag(parsed, 'quiet');
  const outOpt = optString(parsed, 'out');
  const keep = outOpt !== undefined || optFlag(parsed, 'keep');
  const overwrite = optFlag(parsed, 'overwrite');
  if (outOpt !== undefined && fs.existsSync(path.join(outOpt, 'recording')) && !overwrite) {
    throw new UsageError(`--out "${outOpt}" already holds a previous demo (${path.join(outOpt, 'recording')}); pass another folder, or add --overwrite to replace it`, 'demo');
  }
  const out = outOpt ?? fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-demo-'));
  const sortedDir = path.join(out, 'sorted');
  // Refused here, before anything is generated, when it holds a previous result.
  const target = openOutputFolder(sortedDir, 'sort', 'demo', { overwrite, option: '--out' });
  const steps = new CommandSteps(io, quiet);
  try {
    return await demo(parsed, out, target, steps, keep, overwrite, quiet, io);
  } finally {
    target.abort();
    if (!keep) fs.rmSync(out, { recursive: true, force: true });
  }
}

async function demo(parsed: ParsedArgs, out: string, target: OutputFolder, steps: CommandSteps, keep: boolean, overwrite: boolean, quiet: boolean, io: CliIO): Promise<number> {
  const duration = optNumber(parsed, 'duration') ?? DEMO_DEFAULTS.duration;
  const preset = (optString(parsed, 'preset') ?? DEMO_DEFAULTS.preset) as 'poly64';
  if (overwrite) fs.rmSync(path.join(out, 'recording'), { recursive: true, force: true });
  const gen = await steps.step(`generating ${duration} s on a ${preset} probe`, () => generateRecording({
    out: path.join(out, 'recording'),
    preset,
    duration,
    seed: optNumber(parsed, 'seed') ?? DEMO_DEFAULTS.seed,
    drift: { rate: DEMO_DEFAULTS.driftRate, jumps: [{ time: duration * 0.6, um: DEMO_DEFAULTS.jumpUm }] },
  }));
  if (!quiet) io.err(`  ${plural(gen.summary.numUnits, 'unit')}, ${plural(gen.summary.numSpikes, 'spike')}, SNR ${gen.summary.snr ? `${gen.summary.snr.min.toFixed(1)}-${gen.summary.snr.max.toFixed(1)}` : 'n/a'}`);

  const rec = new Recording({
    binaryFile: gen.binaryFile,
    dataType: gen.dataType,
    probeGeometry: gen.probeGeometry,
    samplingFrequency: gen.samplingFrequency,
    numSamples: gen.numSamples,
  });
  const backend = optString(parsed, 'backend') as 'auto' | 'webgpu' | 'cpu' | undefined;
  const outcome = await sortRecording(
    rec,
    { detectionPolarity: gen.detectionPolarity, minSegmentLength: DEMO_DEFAULTS.minSegmentLength, ...(backend ? { backend } : {}) },
    1,
    quiet,
    io,
  );
  const summary = await writeSortOutputs(target.staging, rec, outcome, undefined, steps);
  reportNotes(io, target.commit());

  const acc = await accuracyFromGroundTruth(gen.groundTruthFile, outcome.result);
  const reportFile = path.join(out, 'report.html');
  reportNotes(io, await writeOutputFile(reportFile, 'demo', { overwrite }, (tmp) => steps.step('writing the report', () => writeReport(tmp, {
    result: outcome.result,
    recording: rec,
    accuracy: acc,
    title: 'spikesift demo',
    meta: {
      backend: outcome.backend,
      'sorting time': `${outcome.seconds.toFixed(2)} s (${(summary.recordingSeconds / outcome.seconds).toFixed(1)} x real time)`,
      recording: gen.binaryFile,
    },
  }))));

  io.out(acc.table.trimEnd());
  io.out('');
  for (const line of acc.headline ?? []) io.out(line);
  io.out(
    `speed: sorted ${summary.recordingSeconds.toFixed(1)} s x ${plural(rec.numChannels, 'channel')} in ${outcome.seconds.toFixed(2)} s ` +
      `(${(summary.recordingSeconds / outcome.seconds).toFixed(1)} x real time) on ${outcome.backend}`,
  );
  io.out(`found ${plural(summary.units, 'unit')} (${plural(summary.totalSpikes, 'spike')}) in ${plural(summary.segments, 'segment')}; ground truth has ${plural(gen.summary.numUnits, 'unit')}`);
  if (keep) {
    io.out(`report: ${reportFile}`);
    io.out(`outputs: ${path.join(out, 'sorted')} (result.spikesift, phy/, spikeinterface/, summary.json); recording: ${gen.dir}`);
    steps.finish(`wrote ${out}${path.sep} (recording/, sorted/, report.html)`);
  } else {
    steps.finish(`nothing kept (the temporary folder is removed); pass --keep or --out DIR to keep the recording, the outputs and report.html`);
  }
  return 0;
}

export const command: Command = { spec, run };
