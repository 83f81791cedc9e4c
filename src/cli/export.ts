// spikesift export: write a saved result in a format other tools open (Phy, SpikeInterface).

import path from 'node:path';
import { exportPhy } from '../export/phy.js';
import { exportSpikeInterface } from '../export/spikeinterface.js';
import { RECORDING_OPTIONS, loadResult, optFlag, optNumber, optString, parseArgs, type CliIO, type Command, type CommandSpec, type OptionSpec } from './args.js';
import { optionalRecording } from './format-recording.js';
import { OVERWRITE_OPTION, openOutputFolder, reportNotes } from './outdir.js';
import { CommandSteps } from './steps.js';
import { plural } from './words.js';

/** --recording and its description; probe and rate default to the result's. */
export const OPTIONAL_RECORDING_OPTIONS: OptionSpec[] = [
  { name: 'recording', kind: 'string', value: 'FILE', description: 'The raw recording that was sorted (for waveforms). When RESULT is a sort output folder, its recording.json is used if this is absent.', group: 'Recording' },
  ...RECORDING_OPTIONS.map((o) =>
    o.name === 'probe' || o.name === 'sampling-frequency' ? { ...o, description: `${o.description} Default: the result's.` } : o,
  ),
];

export const spec: CommandSpec = {
  name: 'export',
  summary: 'Export a saved result as a Phy folder or a SpikeInterface NumpyFolderSorting.',
  details: `Phy: params.py, spike_times.npy (int64, sample index from the start of dat_path after
'offset' bytes, i.e. spike time minus --recording-offset), spike_templates.npy (uint32),
spike_clusters.npy (int32, the spikesift cluster ids), amplitudes.npy (float64, the unit's
amplitude on its best channel in the spike's segment), templates.npy (float32, units x samples
x channels: mean DoG-filtered waveforms from the recording, or a generic spike shape scaled by
the amplitude vectors when no recording is available), channel_map.npy, channel_positions.npy,
similar_templates.npy, whitening_mat.npy (identity), cluster_group.tsv.
SpikeInterface: spikes.npy (structured sample_index, unit_index, segment_index, int64, one
segment, sample_index = spike time minus the recording offset) and numpysorting_info.json;
open with spikeinterface.core.NumpyFolderSorting(folder).`,
  positionals: [{ name: 'RESULT', description: 'A saved result.spikesift or the output folder of sort/merge.' }],
  options: [
    { name: 'format', kind: 'string', value: 'FORMAT', choices: ['phy', 'spikeinterface'], required: true, description: 'Output format.' },
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder (created if needed). A folder that holds a previous export is refused unless --overwrite is given; so is the folder of RESULT.' },
    OVERWRITE_OPTION,
    { name: 'waveform-spikes', kind: 'integer', value: 'N', min: 1, description: 'Spikes averaged per unit for Phy templates.', defaultText: '100' },
    ...OPTIONAL_RECORDING_OPTIONS,
  ],
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const steps = new CommandSteps(io, false);
  const resultArg = parsed.positionals[0];
  const result = await loadResult(resultArg, 'export');
  const recording = await optionalRecording(resultArg, parsed, result, 'export', io);
  const out = optString(parsed, 'out')!;
  const format = optString(parsed, 'format') === 'phy' ? 'phy' : 'spikeinterface';
  const inputs = [resultArg, ...(recording ? [recording.binaryFile] : [])];
  const target = openOutputFolder(out, format, 'export', { overwrite: optFlag(parsed, 'overwrite'), inputs });
  try {
    if (format === 'phy') {
      const s = await steps.step('writing the Phy folder', () => exportPhy(result, target.staging, { recording, maxSpikesPerUnit: optNumber(parsed, 'waveform-spikes') }));
      reportNotes(io, target.commit());
      io.out(`wrote a Phy folder ${out}: ${plural(s.numUnits, 'unit')}, ${plural(s.numSpikes, 'spike')}, templates from ${s.templateSource === 'recording' ? 'the recording' : 'the amplitude vectors (no recording)'}; open with: phy template-gui ${path.join(out, 'params.py')}`);
    } else {
      const s = await steps.step('writing the SpikeInterface folder', () => exportSpikeInterface(result, target.staging, { origin: recording?.recordingOffset, gainToMicrovolts: recording?.gainToMicrovolts }));
      reportNotes(io, target.commit());
      io.out(`wrote a SpikeInterface folder ${out}: ${plural(s.numUnits, 'unit')}, ${plural(s.numSpikes, 'spike')}; open with spikeinterface.core.NumpyFolderSorting("${out}")`);
    }
    steps.finish(`wrote ${out}${path.sep}`);
  } finally {
    target.abort();
  }
  return 0;
}

export const command: Command = { spec, run };
