// spikesift info: what a saved result holds, in a few lines (or JSON for scripts).

import { loadResult, optFlag, parseArgs, type CliIO, type Command, type CommandSpec } from './args.js';

export const spec: CommandSpec = {
  name: 'info',
  summary: 'Print what a saved result holds: units, segments, spikes, time span, and per unit its spike count, firing rate and best channel.',
  positionals: [{ name: 'RESULT', description: 'A saved result.spikesift or the output folder of sort/merge.' }],
  options: [{ name: 'json', kind: 'flag', description: 'Print one JSON object instead of text.' }],
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(spec, argv);
  const result = await loadResult(parsed.positionals[0], 'info');
  const fsHz = result.samplingFrequency;
  const start = result.startTime();
  const end = result.endTime();
  const seconds = (end - start) / fsHz;
  const units = result.clusterIds().map((id) => {
    const n = result.spikes(id).length;
    const amps = result.amplitudeVectors(id);
    let best = 0;
    let bestVal = -Infinity;
    for (let c = 0; c < result.numChannels; c++) {
      let s = 0;
      for (const a of amps) s += a[c];
      if (s > bestVal) [bestVal, best] = [s, c];
    }
    return { id, spikes: n, rateHz: seconds > 0 ? n / seconds : 0, bestChannel: best, amplitude: amps.length ? bestVal / amps.length : 0 };
  });
  const totalSpikes = units.reduce((a, u) => a + u.spikes, 0);
  const info = {
    units: result.length,
    segments: result.numSegments,
    spikes: totalSpikes,
    startTime: start,
    endTime: end,
    startSeconds: start / fsHz,
    endSeconds: end / fsHz,
    durationSeconds: seconds,
    samplingFrequency: fsHz,
    numChannels: result.numChannels,
    unitList: units,
  };
  if (optFlag(parsed, 'json')) {
    io.out(JSON.stringify(info, null, 2));
    return 0;
  }
  const lines = [
    `units:     ${info.units}`,
    `segments:  ${info.segments}`,
    `spikes:    ${info.spikes}`,
    `time span: samples [${start}, ${end}) = ${info.startSeconds.toFixed(3)} s to ${info.endSeconds.toFixed(3)} s (${seconds.toFixed(3)} s)`,
    `probe:     ${result.numChannels} channels, ${fsHz} Hz`,
  ];
  if (units.length) {
    lines.push('', '  unit   spikes   rate (Hz)   best channel   amplitude');
    for (const u of units) {
      lines.push(`  ${String(u.id).padStart(4)}  ${String(u.spikes).padStart(7)}  ${u.rateHz.toFixed(2).padStart(10)}  ${String(u.bestChannel).padStart(13)}  ${u.amplitude.toFixed(1).padStart(10)}`);
    }
  }
  io.out(lines.join('\n'));
  return 0;
}

export const command: Command = { spec, run };
