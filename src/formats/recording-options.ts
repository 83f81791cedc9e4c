/** What a Recording is made from (its own module, so the format readers that produce it need not import Recording). */
import type { DataType } from './dtype.js';

export interface RecordingOptions {
  /** Path of the raw file: (numSamples, C) sample-major after `header` bytes. */
  binaryFile: string;
  dataType: DataType | string;
  /** C rows of [x, y] in µm, in file channel order. */
  probeGeometry: number[][];
  samplingFrequency: number;
  /** Inferred from the file size when absent. */
  numSamples?: number;
  /** Bytes skipped at the start of the file. */
  header?: number;
  /** Samples skipped after the header; sample index 0 is the first one after them. */
  sampleOffset?: number;
  /** Added to every reported spike time (any sign). */
  recordingOffset?: number;
  /**
   * Columns per sample in the file when it holds more than are sorted (sync, ADC, unused
   * channels). Default: one column per probeGeometry row.
   */
  fileChannels?: number;
  /** File column of each probeGeometry row (0-based, distinct, < fileChannels). Default 0..C-1. */
  channels?: number[];
  /** µV per stored unit, one value for all channels or one per probeGeometry row (metadata only). */
  gainToMicrovolts?: number | number[];
}
