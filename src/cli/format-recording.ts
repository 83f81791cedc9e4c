// Recordings whose files describe themselves (SpikeGLX .bin + .meta, Open Ephys structure.oebin):
// the CLI reads rate, channels, sample type and geometry from them, so `spikesift sort x.ap.bin`
// needs no --probe / --dtype / --sampling-frequency.

import fs from 'node:fs';
import path from 'node:path';
import { looksLikeOpenEphys } from '../formats/openephys.js';
import { loadProbe } from '../formats/probe.js';
import { Recording, type RecordingOptions } from '../formats/recording.js';
import type { SortedRecording } from '../result/sorted-recording.js';
import { looksLikeSpikeGLX } from '../formats/spikeglx.js';
import { RECORDING_FILE, UsageError, asUsageError, optNumber, optString, type CliIO, type ParsedArgs } from './args.js';

/**
 * The Recording of a SpikeGLX or Open Ephys file, or undefined when `file` is neither (or
 * when --dtype / --sampling-frequency ask to read it as a raw binary instead).
 */
export async function formatRecordingFromArgs(
  file: string,
  parsed: ParsedArgs,
  command: string,
  onWarning?: (message: string) => void,
): Promise<Recording | undefined> {
  const stream = optString(parsed, 'stream');
  const raw = optString(parsed, 'dtype') !== undefined || optNumber(parsed, 'sampling-frequency') !== undefined;
  const common = {
    sampleOffset: optNumber(parsed, 'sample-offset'),
    numSamples: optNumber(parsed, 'num-samples'),
    recordingOffset: optNumber(parsed, 'recording-offset'),
    onWarning,
  };
  if (!raw && looksLikeOpenEphys(file)) {
    if (optNumber(parsed, 'header') !== undefined) throw new UsageError('--header does not apply to an Open Ephys recording (its continuous.dat has no header)', command);
    let probeGeometry: number[][] | undefined;
    const probe = optString(parsed, 'probe');
    if (probe !== undefined) {
      try {
        probeGeometry = await loadProbe(probe);
      } catch (e) {
        throw new UsageError(`--probe: ${(e as Error).message}`, command);
      }
    }
    try {
      return Recording.fromOpenEphys(file, { ...common, stream, probeGeometry });
    } catch (e) {
      throw asUsageError(e, command);
    }
  }
  if (stream !== undefined) {
    throw new UsageError(`--stream names a stream of an Open Ephys recording, but ${file} is not one (pass its structure.oebin or recording folder)`, command);
  }
  if (!raw && optString(parsed, 'probe') === undefined && looksLikeSpikeGLX(file)) {
    if (optNumber(parsed, 'header') !== undefined) throw new UsageError('--header does not apply to a SpikeGLX recording (its .bin has no header)', command);
    try {
      return Recording.fromSpikeGLX(file, common);
    } catch (e) {
      throw asUsageError(e, command);
    }
  }
  return undefined;
}

/**
 * Builds a Recording from `file` and the recording options. `fallback` supplies the probe
 * and rate when the options omit them (export/report take them from the result).
 * Library validation errors become UsageErrors naming the CLI argument.
 */
export async function recordingFromArgs(
  file: string,
  parsed: ParsedArgs,
  command: string,
  fallback?: { probeGeometry: number[][]; samplingFrequency: number },
  onWarning?: (message: string) => void,
): Promise<Recording> {
  const described = await formatRecordingFromArgs(file, parsed, command, onWarning);
  if (described) return described;
  const probeFile = optString(parsed, 'probe');
  let probeGeometry = fallback?.probeGeometry;
  if (probeFile !== undefined) {
    try {
      probeGeometry = await loadProbe(probeFile);
    } catch (e) {
      throw new UsageError(`--probe: ${(e as Error).message}`, command);
    }
  }
  if (!probeGeometry) throw new UsageError('missing required option --probe FILE (the probe geometry; not needed for a SpikeGLX .bin with its .meta or an Open Ephys structure.oebin)', command);
  const samplingFrequency = optNumber(parsed, 'sampling-frequency') ?? fallback?.samplingFrequency;
  if (samplingFrequency === undefined) throw new UsageError('missing required option --sampling-frequency HZ', command);
  const dataType = optString(parsed, 'dtype');
  if (dataType === undefined) throw new UsageError('missing required option --dtype TYPE (the sample type of the file, e.g. int16)', command);
  const options: RecordingOptions = {
    binaryFile: file,
    dataType,
    probeGeometry,
    samplingFrequency,
    header: optNumber(parsed, 'header'),
    sampleOffset: optNumber(parsed, 'sample-offset'),
    numSamples: optNumber(parsed, 'num-samples'),
    recordingOffset: optNumber(parsed, 'recording-offset'),
  };
  try {
    return new Recording(options);
  } catch (e) {
    throw asUsageError(e, command);
  }
}

/**
 * The recording for export/report: from --recording and its options when given, else from
 * recording.json beside the result when RESULT is a sort output folder (and the file is
 * still there), else undefined.
 */
export async function optionalRecording(
  resultArg: string,
  parsed: ParsedArgs,
  result: SortedRecording,
  command: string,
  io: CliIO,
): Promise<Recording | undefined> {
  const file = optString(parsed, 'recording');
  if (file !== undefined) {
    return recordingFromArgs(file, parsed, command, { probeGeometry: result.probeGeometry, samplingFrequency: result.samplingFrequency });
  }
  for (const o of ['probe', 'dtype', 'header', 'sample-offset', 'num-samples', 'recording-offset', 'sampling-frequency', 'stream']) {
    if (parsed.options[o] !== undefined) throw new UsageError(`--${o} describes the recording, so it needs --recording FILE`, command);
  }
  const dir = fs.existsSync(resultArg) && fs.statSync(resultArg).isDirectory() ? resultArg : path.dirname(resultArg);
  const desc = path.join(dir, RECORDING_FILE);
  if (!fs.existsSync(desc)) return undefined;
  try {
    const options = JSON.parse(fs.readFileSync(desc, 'utf8')) as RecordingOptions;
    const rec = new Recording(options);
    io.err(`using the recording described in ${desc} (${rec.binaryFile})`);
    return rec;
  } catch (e) {
    io.err(`note: ${desc} could not be used (${(e as Error).message}); continuing without the recording`);
    return undefined;
  }
}
