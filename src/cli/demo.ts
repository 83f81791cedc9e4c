// spikesift demo: the whole job on a small embedded example. Generates a drifting recording
// with known spikes, sorts it, scores the result against the ground truth and writes the
// usual outputs plus report.html, printing accuracy and speed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeReport } from '../export/report.js';
import { generateRecording } from '../groundtruth/generate.js';
import { Recording } from '../formats/recording.js';
import { ensureOutDir, optFlag, optNumber, optString, parseArgs, type CliIO, type Command, type CommandSpec } from './args.js';
import { accuracyFromGroundTruth } from './report.js';
import { sortRecording, writeSortOutputs } from './sort-run.js';

export const DEMO_DEFAULTS = Object.freeze({ preset: 'poly64', duration: 20, seed: 1, driftRate: 1.5, jumpUm: 10, minSegmentLength: 5 });

export const spec: CommandSpec = {
  name: 'demo',
  summary: `Generate a small drifting recording with known spikes (${DEMO_DEFAULTS.preset} probe, ${DEMO_DEFAULTS.duration} s, ${DEMO_DEFAULTS.driftRate} µm/s drift plus a ${DEMO_DEFAULTS.jumpUm} µm jump), sort it, compare it to the ground truth and write report.html. Prints accuracy, speed and where everything is.`,
  positionals: [],
  options: [
    { name: 'out', kind: 'string', value: 'DIR', description: 'Folder for the recording, the sorting outputs and report.html.', defaultText: 'a new folder under the system temp dir' },
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
  const out = outOpt ?? fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-demo-'));
  ensureOutDir(out, 'demo');
  const duration = optNumber(parsed, 'duration') ?? DEMO_DEFAULTS.duration;
  const say = (line: string) => {
    if (!quiet) io.err(line);
  };

  say(`generating ${duration} s on a ${optString(parsed, 'preset') ?? DEMO_DEFAULTS.preset} probe in ${out} ...`);
  const gen = await generateRecording({
    out: path.join(out, 'recording'),
    preset: (optString(parsed, 'preset') ?? DEMO_DEFAULTS.preset) as 'poly64',
    duration,
    seed: optNumber(parsed, 'seed') ?? DEMO_DEFAULTS.seed,
    drift: { rate: DEMO_DEFAULTS.driftRate, jumps: [{ time: duration * 0.6, um: DEMO_DEFAULTS.jumpUm }] },
  });
  say(`  ${gen.summary.numUnits} units, ${gen.summary.numSpikes} spikes, SNR ${gen.summary.snr ? `${gen.summary.snr.min.toFixed(1)}-${gen.summary.snr.max.toFixed(1)}` : 'n/a'} (${gen.summary.seconds.toFixed(1)} s)`);

  const rec = new Recording({
    binaryFile: gen.binaryFile,
    dataType: gen.dataType,
    probeGeometry: gen.probeGeometry,
    samplingFrequency: gen.samplingFrequency,
    numSamples: gen.numSamples,
  });
  say('sorting ...');
  const backend = optString(parsed, 'backend') as 'auto' | 'webgpu' | 'cpu' | undefined;
  const outcome = await sortRecording(
    rec,
    { detectionPolarity: gen.detectionPolarity, minSegmentLength: DEMO_DEFAULTS.minSegmentLength, ...(backend ? { backend } : {}) },
    1,
    quiet,
    io,
  );
  const sortedDir = path.join(out, 'sorted');
  ensureOutDir(sortedDir, 'demo');
  const summary = await writeSortOutputs(sortedDir, rec, outcome);

  const acc = await accuracyFromGroundTruth(gen.groundTruthFile, outcome.result);
  const reportFile = path.join(out, 'report.html');
  writeReport(reportFile, {
    result: outcome.result,
    recording: rec,
    accuracy: acc,
    title: 'spikesift demo',
    meta: {
      backend: outcome.backend,
      'sorting time': `${outcome.seconds.toFixed(2)} s (${(summary.recordingSeconds / outcome.seconds).toFixed(1)} x real time)`,
      recording: gen.binaryFile,
    },
  });

  io.out(acc.table.trimEnd());
  io.out('');
  for (const line of acc.headline ?? []) io.out(line);
  io.out(
    `speed: sorted ${summary.recordingSeconds.toFixed(1)} s x ${rec.numChannels} channels in ${outcome.seconds.toFixed(2)} s ` +
      `(${(summary.recordingSeconds / outcome.seconds).toFixed(1)} x real time) on ${outcome.backend}`,
  );
  io.out(`found ${summary.units} units (${summary.totalSpikes} spikes) in ${summary.segments} segments; ground truth has ${gen.summary.numUnits} units`);
  io.out(`report: ${reportFile}`);
  io.out(`outputs: ${sortedDir} (result.spikesift, phy/, spikeinterface/, summary.json); recording: ${gen.dir}`);
  return 0;
}

export const command: Command = { spec, run };
