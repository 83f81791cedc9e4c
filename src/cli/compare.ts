// spikesift compare: score a sorting against ground truth.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ParameterError } from '../core/errors.js';
import { joinNegativeValues, processIO, type CliIO } from './args.js';
import { compareToGroundTruth, formatComparison, type SpikeTrains } from '../groundtruth/compare.js';
import { loadGroundTruth } from '../groundtruth/types.js';

export const help = `Usage: spikesift compare GROUND_TRUTH.json SORTED [options]

Score a sorter's output against ground truth with SpikeInterface's definitions: spikes agree
within --delta-ms; agreement = matches / (n_gt + n_sorted - matches); GT and sorted units
are paired one-to-one (Hungarian) where agreement >= 0.5; per GT unit accuracy
tp/(tp+fn+fp), precision, recall; "well detected" at accuracy >= 0.8. Unmatched sorted
units are false positives (best agreement < 0.2) or redundant (agreement >= 0.2 with a GT
unit that another sorted unit matches better); overmerged units agree > 0.2 with two or
more GT units. Prints a table and accuracy by SNR.

Arguments:
  GROUND_TRUTH.json  ground_truth.json written by spikesift generate (or any JSON
                     {"samplingFrequency": HZ, "units": [{"id": 0, "spikes": [...]}, ...]}).
  SORTED             Spike times in samples of the same file, from any sorter:
                     JSON {"units": {"ID": [samples, ...], ...}}, or a result saved by
                     spikesift sort (result.spikesift or its --out folder).

Options:
  --delta-ms MS               Matching window. Default 0.4.
  --sampling-frequency HZ     Needed only when the ground truth does not carry it.
  --json FILE                 Also write the full report (agreement matrix included) as JSON.
  --by-filtered-snr           Bin and list units by filteredSnr (trough after the detector's
                              filter / filtered noise sd; default threshold ~6.7) instead of
                              the raw SNR (peak / broadband noise sd).
  --help, -h                  Show this help.

Exit status: 0 success, 2 bad arguments or unreadable inputs, 1 failure while comparing.
Example: spikesift compare gt60/ground_truth.json sorted60
`;

class ArgError extends Error {}

/** Options that take a value (so that "--delta-ms -1" reaches the check of its value). */
const VALUE_OPTIONS = ['delta-ms', 'sampling-frequency', 'json'];

async function loadSorted(arg: string): Promise<SpikeTrains> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(arg);
  } catch {
    throw new ArgError(`SORTED ${JSON.stringify(arg)} does not exist; pass a JSON {"units": {...}} file or a spikesift result`);
  }
  let file = arg;
  if (stat.isDirectory()) {
    file = path.join(arg, 'result.spikesift');
    if (!fs.existsSync(file)) throw new ArgError(`SORTED folder ${JSON.stringify(arg)} has no result.spikesift; pass the --out folder of spikesift sort or a JSON file`);
  }
  const bytes = fs.readFileSync(file);
  if (bytes.byteLength >= 8 && bytes.subarray(0, 7).toString('latin1') === 'SPKSIFT') {
    const { SortedRecording } = await import('../result/sorted-recording.js');
    try {
      return await SortedRecording.load(file);
    } catch (e) {
      throw new ArgError(`SORTED ${JSON.stringify(file)}: ${(e as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ArgError(`SORTED ${JSON.stringify(file)} is neither a spikesift result nor valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || !('units' in json)) {
    throw new ArgError(`SORTED ${JSON.stringify(file)} has no "units"; expected {"units": {"ID": [samples, ...]}}`);
  }
  return json as SpikeTrains;
}

export async function run(argv: string[], io: CliIO = processIO): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(help);
    return 0;
  }
  let report;
  let jsonOut: string | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: joinNegativeValues(argv, VALUE_OPTIONS),
        allowPositionals: true,
        strict: true,
        options: {
          'delta-ms': { type: 'string' }, 'sampling-frequency': { type: 'string' }, json: { type: 'string' },
          'by-filtered-snr': { type: 'boolean' },
        },
      });
    } catch (e) {
      throw new ArgError(`${(e as Error).message} (see spikesift compare --help)`);
    }
    const { values: v, positionals } = parsed;
    if (positionals.length !== 2) {
      throw new ArgError(`expected 2 arguments GROUND_TRUTH.json SORTED, received ${positionals.length}${positionals.length ? ` (${positionals.join(' ')})` : ''}`);
    }
    const num = (name: string, s: string | undefined, ok: (x: number) => boolean, rule: string): number | undefined => {
      if (s === undefined) return undefined;
      const x = Number(s);
      if (s.trim() === '' || !Number.isFinite(x) || !ok(x)) throw new ArgError(`--${name} ${JSON.stringify(s)}: must be ${rule}`);
      return x;
    };
    const deltaMs = num('delta-ms', v['delta-ms'], (x) => x >= 0, 'a non-negative number of ms');
    const samplingFrequency = num('sampling-frequency', v['sampling-frequency'], (x) => x > 0, 'a positive number (Hz)');
    jsonOut = v.json;
    let gt;
    try {
      gt = loadGroundTruth(positionals[0]!);
    } catch (e) {
      throw new ArgError(`GROUND_TRUTH: ${(e as Error).message}`);
    }
    if (samplingFrequency === undefined && typeof gt.samplingFrequency !== 'number') {
      throw new ArgError('--sampling-frequency is required: the ground truth file does not say its sampling rate');
    }
    const sorted = await loadSorted(positionals[1]!);
    try {
      report = compareToGroundTruth(gt, sorted, { deltaMs, samplingFrequency, snrField: v['by-filtered-snr'] ? 'filteredSnr' : 'snr' });
    } catch (e) {
      if (e instanceof ParameterError) throw new ArgError(e.message);
      throw e;
    }
  } catch (e) {
    if (e instanceof ArgError) {
      io.err(`spikesift compare: ${e.message}\n`);
      return 2;
    }
    io.err(`spikesift compare: failed: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    io.out(formatComparison(report));
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 1));
    return 0;
  } catch (e) {
    io.err(`spikesift compare: failed: ${(e as Error).message}\n`);
    return 1;
  }
}
