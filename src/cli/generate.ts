// spikesift generate: write a synthetic recording with known spikes.

import { parseArgs } from 'node:util';
import { ParameterError } from '../core/errors.js';
import { joinNegativeValues, processIO, type CliIO } from './args.js';
import { plural } from './words.js';
import { loadProbe } from '../formats/probe.js';
import { generateRecording, type GenerateOptions } from '../groundtruth/generate.js';
import { PROBE_PRESETS, type ProbePreset } from '../groundtruth/probes.js';

export const help = `Usage: spikesift generate --out DIR [options]

Write a synthetic extracellular recording with known spike times (ground truth) to DIR:
  recording.bin      samples x channels, sample-major, little-endian (int16 or float32)
  probe.json         probeinterface geometry; probe.npy the same as a (C, 2) float64 array
  ground_truth.json  per unit: spike sample indices (trough on the best channel), best
                     channel, position over time, SNR, firing rate, waveform shape
  params.json        every option used (same seed and options give identical bytes)
The data has biphasic spikes of varying shape whose amplitude falls with 3-D distance,
propagation delays, close unit pairs, bursts with amplitude decrement, refractory periods,
spatially correlated noise, an LFP-like slow component, small background units below
detection, per-channel DC offsets and, on request, drift.

Options:
  --out DIR                 Output folder (required; created if missing).
  --preset NAME             Probe: linear32 (1 column, 25 µm pitch), poly64 (2 staggered
                            columns 32 µm apart, 20 µm pitch), np384 (Neuropixels-1.0-like,
                            4 staggered columns, 20 µm rows). Default linear32.
  --probe FILE              Custom geometry instead of a preset: probeinterface .json,
                            JSON [[x, y], ...] or .npy (C x 2), µm.
  --duration S              Length in seconds. Default 10.
  --sampling-frequency HZ   Default 30000.
  --units N                 Detectable units. Default channels / 4 (at least 3).
  --seed N                  Non-negative integer seed. Default 0.
  --noise UV                Broadband noise sd in µV. Default 10.
  --drift UM_PER_S          Gradual drift of all units along the probe (µm/s, + = towards
                            larger y, - = towards smaller y). Default 0.
  --jump T:UM               Abrupt drift of UM µm at time T s; repeat for several jumps.
  --non-rigid F             Depth-dependent drift in [0, 1]: units at the top of the probe
                            move (1 + F) times, at the bottom (1 - F) times as far. Default 0.
  --dtype TYPE              int16 (default) or float32.
  --scale A                 File value = A * µV + B. Default 1/0.195 for int16
                            (0.195 µV per bit), 1 for float32. Sort with polarity -1/A.
  --offset B                Default 0.
  --snr LO,HI               Unit SNR range (peak on best site / noise sd), log-uniform.
                            Default 3,20.
  --rates LO,HI             Firing-rate range in Hz, log-uniform. Default 1,15.
  --background N            Small units below detection. Default 2 x units.
  --burst-fraction F        Share of bursting units. Default 0.2.
  --pair-fraction F         Share of units placed in close pairs. Default 0.15.
  --noise-correlation F     Share of noise variance shared between nearby channels. Default 0.3.
  --lfp UV                  Amplitude of the slow LFP-like component. Default 50.
  --dc UV                   Per-channel DC offsets drawn in +-UV. Default 300.
  --quiet                   Print nothing on success.
  --help, -h                Show this help.

Exit status: 0 success, 2 bad arguments, 1 failure while writing.
Example: spikesift generate --preset np384 --duration 60 --drift 1 --jump 30:20 --out gt60
`;

class ArgError extends Error {}

/** Options that take a value (so that "--drift -2" is read as the value -2). */
const VALUE_OPTIONS = ['out', 'preset', 'probe', 'duration', 'sampling-frequency', 'units', 'seed', 'noise', 'drift', 'jump', 'non-rigid', 'dtype', 'scale', 'offset',
  'snr', 'rates', 'background', 'burst-fraction', 'pair-fraction', 'noise-correlation', 'lfp', 'dc'];

function number(name: string, v: string | undefined, check: (x: number) => boolean, rule: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new ArgError(`--${name} ${JSON.stringify(v)}: must be ${rule}`);
  return x;
}

function pair(name: string, v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => Number(s));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x) || x <= 0) || parts[0]! > parts[1]!) {
    throw new ArgError(`--${name} ${JSON.stringify(v)}: must be LO,HI with 0 < LO <= HI, e.g. 3,20`);
  }
  return parts as [number, number];
}

export async function run(argv: string[], io: CliIO = processIO): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(help);
    return 0;
  }
  let options: GenerateOptions;
  let quiet = false;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: joinNegativeValues(argv, VALUE_OPTIONS),
        allowPositionals: false,
        strict: true,
        options: {
          out: { type: 'string' }, preset: { type: 'string' }, probe: { type: 'string' }, duration: { type: 'string' },
          'sampling-frequency': { type: 'string' }, units: { type: 'string' }, seed: { type: 'string' }, noise: { type: 'string' },
          drift: { type: 'string' }, jump: { type: 'string', multiple: true }, 'non-rigid': { type: 'string' }, dtype: { type: 'string' }, scale: { type: 'string' },
          offset: { type: 'string' }, snr: { type: 'string' }, rates: { type: 'string' }, background: { type: 'string' },
          'burst-fraction': { type: 'string' }, 'pair-fraction': { type: 'string' }, 'noise-correlation': { type: 'string' },
          lfp: { type: 'string' }, dc: { type: 'string' }, quiet: { type: 'boolean' },
        },
      });
    } catch (e) {
      throw new ArgError(`${(e as Error).message} (see spikesift generate --help)`);
    }
    const v = parsed.values;
    quiet = v.quiet === true;
    if (v.out === undefined || v.out === '') throw new ArgError('--out DIR is required: the folder to write the recording into');
    if (v.preset !== undefined && !PROBE_PRESETS.includes(v.preset as ProbePreset)) {
      throw new ArgError(`--preset ${JSON.stringify(v.preset)}: unknown; use one of ${PROBE_PRESETS.join(', ')}`);
    }
    if (v.preset !== undefined && v.probe !== undefined) throw new ArgError('--preset and --probe exclude each other; pass one');
    if (v.dtype !== undefined && v.dtype !== 'int16' && v.dtype !== 'float32') {
      throw new ArgError(`--dtype ${JSON.stringify(v.dtype)}: the generator writes int16 or float32`);
    }
    const jumps = (v.jump ?? []).map((s) => {
      const m = /^\s*([0-9.eE+]+)\s*:\s*([-+0-9.eE]+)\s*$/.exec(s);
      const time = m ? Number(m[1]) : NaN, um = m ? Number(m[2]) : NaN;
      if (!m || !Number.isFinite(time) || time < 0 || !Number.isFinite(um)) {
        throw new ArgError(`--jump ${JSON.stringify(s)}: must be TIME_S:UM, e.g. 30:20 (20 µm at 30 s)`);
      }
      return { time, um };
    });
    let geometry: number[][] | undefined;
    if (v.probe !== undefined) {
      try {
        geometry = await loadProbe(v.probe);
      } catch (e) {
        throw new ArgError(`--probe ${JSON.stringify(v.probe)}: ${(e as Error).message}`);
      }
    }
    const int = (x: number): boolean => Number.isInteger(x) && x >= 0;
    options = {
      out: v.out,
      preset: v.preset as ProbePreset | undefined,
      geometry,
      duration: number('duration', v.duration, (x) => x > 0, 'a positive number of seconds'),
      samplingFrequency: number('sampling-frequency', v['sampling-frequency'], (x) => x >= 1000, 'a number >= 1000 (Hz)'),
      numUnits: number('units', v.units, int, 'a non-negative integer'),
      seed: number('seed', v.seed, (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer'),
      noiseLevel: number('noise', v.noise, (x) => x >= 0, 'a non-negative number (µV)'),
      drift: {
        rate: number('drift', v.drift, () => true, 'a number (µm/s)'),
        jumps,
        nonRigid: number('non-rigid', v['non-rigid'], (x) => x >= 0 && x <= 1, 'in [0, 1] (0 = rigid)'),
      },
      dataType: v.dtype as 'int16' | 'float32' | undefined,
      scale: number('scale', v.scale, (x) => x !== 0, 'a non-zero number'),
      offset: number('offset', v.offset, () => true, 'a number'),
      snrRange: pair('snr', v.snr),
      firingRateRange: pair('rates', v.rates),
      backgroundUnits: number('background', v.background, int, 'a non-negative integer'),
      burstFraction: number('burst-fraction', v['burst-fraction'], (x) => x >= 0 && x <= 1, 'in [0, 1]'),
      closePairFraction: number('pair-fraction', v['pair-fraction'], (x) => x >= 0 && x <= 1, 'in [0, 1]'),
      noiseCorrelation: number('noise-correlation', v['noise-correlation'], (x) => x >= 0 && x <= 1, 'in [0, 1]'),
      lfpAmplitude: number('lfp', v.lfp, (x) => x >= 0, 'a non-negative number (µV)'),
      dcOffsetRange: number('dc', v.dc, (x) => x >= 0, 'a non-negative number (µV)'),
    };
    // Drop unset keys so the library's defaults apply.
    for (const k of Object.keys(options) as (keyof GenerateOptions)[]) if (options[k] === undefined) delete options[k];
  } catch (e) {
    if (e instanceof ArgError) {
      io.err(`spikesift generate: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    // Progress redrawn on a terminal; in logs one line per 10 %.
    const tty = io.isTTY === true && io.errRaw !== undefined;
    let lastPct = -1;
    if (!quiet) {
      options.onProgress = ({ doneSamples, totalSamples }) => {
        const pct = Math.floor((100 * doneSamples) / totalSamples / (tty ? 1 : 10)) * (tty ? 1 : 10);
        if (pct === lastPct) return;
        lastPct = pct;
        if (tty) io.errRaw!(`\rgenerating ${pct}%`);
        else io.err(`generating: ${pct}%`);
      };
    }
    if (!quiet && !tty) {
      lastPct = 0;
      io.err('generating: 0%');
    }
    const r = await generateRecording(options);
    if (!quiet && tty) io.errRaw!('\r\x1b[K');
    if (!quiet) {
      const s = r.summary;
      const lines = [
        `wrote ${r.dir}: ${r.numChannels} channels x ${r.numSamples} samples (${(r.numSamples / r.samplingFrequency).toFixed(3)} s at ${r.samplingFrequency} Hz, ${r.dataType}) in ${s.seconds.toFixed(1)} s`,
        `${plural(s.numUnits, 'unit')} (${plural(s.numSpikes, 'spike')}), ${plural(s.numBackgroundUnits, 'background unit')}` +
          (s.snr ? `, SNR ${s.snr.min.toFixed(1)}..${s.snr.max.toFixed(1)} (median ${s.snr.median.toFixed(1)})` : '') +
          `, rates ${s.firingRate.min.toFixed(1)}..${s.firingRate.max.toFixed(1)} Hz (median ${s.firingRate.median.toFixed(1)})` +
          (s.numAboveDefaultThreshold !== null ? `; ${s.numAboveDefaultThreshold === 1 ? '1 unit reaches' : `${s.numAboveDefaultThreshold} units reach`} the default detection threshold` : ''),
        `sort:    spikesift sort ${r.binaryFile} --probe ${r.probeFile} --sampling-frequency ${r.samplingFrequency} --dtype ${r.dataType} --detection-polarity ${+r.detectionPolarity.toPrecision(6)} --out OUT`,
        `compare: spikesift compare ${r.groundTruthFile} OUT`,
      ];
      io.out(lines.join('\n') + '\n');
    }
    return 0;
  } catch (e) {
    if (e instanceof ParameterError) {
      io.err(`spikesift generate: ${e.message}\n`);
      return 2;
    }
    io.err(`spikesift generate: failed: ${(e as Error).message}\n`);
    return 1;
  }
}
