// Recordings whose files describe themselves (SpikeGLX .bin + .meta, Open Ephys structure.oebin):
// the CLI reads rate, channels, sample type and geometry from them, so `spikesift sort x.ap.bin`
// needs no --probe / --dtype / --sampling-frequency.

import { looksLikeOpenEphys } from '../io/openephys.js';
import { loadProbe } from '../io/probe.js';
import { Recording } from '../io/recording.js';
import { looksLikeSpikeGLX } from '../io/spikeglx.js';
import { UsageError, asUsageError, optNumber, optString, type ParsedArgs } from './args.js';

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
