/**
 * Shared plumbing of the examples: where the input comes from (a user's file given on the
 * command line, or a small recording generated on the spot) and how files are cut and
 * rescaled for the multi-file workflows. The workflows themselves live in the example files.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generateRecording } from '../src/groundtruth/generate.js';
import { itemSize, parseDataType } from '../src/formats/dtype.js';
import { loadProbe } from '../src/formats/probe.js';
import { Recording, type RecordingOptions } from '../src/formats/recording.js';
import type { SortedRecording } from '../src/result/sorted-recording.js';
import type { SortOptions } from '../src/core/params.js';

/** Everything needed to open a raw recording file. */
export interface FileSpec {
  binaryFile: string;
  dataType: string;
  probeGeometry: number[][];
  samplingFrequency: number;
  numSamples: number;
}

export interface ExampleOptions {
  /** Sorting options used by every sort in the example (defaults of the library otherwise). */
  sortOptions?: SortOptions;
  /** Where outputs go (default: a new temporary folder). */
  outDir?: string;
  /** Print what the example does (default true). */
  log?: (line: string) => void;
}

export function outputDir(opts: ExampleOptions): string {
  return opts.outDir ?? mkdtempSync(join(tmpdir(), 'spikesift-example-'));
}

export function logger(opts: ExampleOptions): (line: string) => void {
  return opts.log ?? ((line) => console.log(line));
}

export function openRecording(spec: FileSpec, extra: Partial<RecordingOptions> = {}): Recording {
  return new Recording({ ...spec, ...extra });
}

/**
 * A small synthetic recording (ground-truth generator) standing in for the user's data:
 * 32-channel linear probe, int16, 30 kHz, slow drift. Without `dir` it is generated once into
 * a fixed folder under the system temp dir and reused by later runs (generation is
 * deterministic for the same options, so the cached copy is the same data).
 */
export async function generatedData(
  opts: { duration?: number; seed?: number; dir?: string; numUnits?: number; driftRate?: number; preset?: 'linear32' | 'poly64' | 'np384' } = {},
): Promise<FileSpec> {
  const options = {
    preset: opts.preset ?? 'linear32',
    duration: opts.duration ?? 40,
    numUnits: opts.numUnits ?? 10,
    seed: opts.seed ?? 1,
    samplingFrequency: 30000,
    dataType: 'int16' as const,
    // A slow drift, so that segment-to-segment assignment has something to do.
    drift: { rate: opts.driftRate ?? 0.25 },
  };
  let dir = opts.dir;
  if (dir === undefined) {
    const key = `${options.preset}-${options.duration}s-${options.numUnits}u-seed${options.seed}-drift${options.drift.rate}`;
    dir = join(tmpdir(), `spikesift-example-data-${key}`);
    if (!existsSync(join(dir, 'params.json'))) {
      // Generate next to the final folder and rename it into place, so that an interrupted or
      // concurrent run never leaves a half-written folder that later runs would trust.
      const staging = mkdtempSync(`${dir}.tmp-`);
      await generateRecording({ ...options, out: staging });
      try {
        renameSync(staging, dir);
      } catch {
        rmSync(staging, { recursive: true, force: true }); // another run won the race
      }
    }
  } else {
    await generateRecording({ ...options, out: dir });
  }
  const params = JSON.parse(readFileSync(join(dir, 'params.json'), 'utf8')) as { numSamples: number };
  return {
    binaryFile: join(dir, 'recording.bin'),
    dataType: 'int16',
    probeGeometry: await loadProbe(join(dir, 'probe.json')),
    samplingFrequency: options.samplingFrequency,
    numSamples: params.numSamples,
  };
}

/** Runs `fn` with a fresh temporary folder that is removed afterwards (for intermediate files). */
export async function withScratchDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'spikesift-scratch-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Command-line input: `--file PATH --probe PROBE --fs HZ --dtype TYPE` (repeat --file for
 * workflows with several files, in time order; one --dtype for all files or one per file). Returns undefined when no --file is given, so
 * the example generates its own data.
 */
export async function filesFromArgs(argv: string[]): Promise<{ files?: FileSpec[]; values: Record<string, string | undefined> }> {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', multiple: true },
      probe: { type: 'string' },
      fs: { type: 'string' },
      dtype: { type: 'string', multiple: true },
      out: { type: 'string' },
      id: { type: 'string' },
      saved: { type: 'string' },
      a: { type: 'string' },
      b: { type: 'string' },
    },
    strict: true,
  });
  const rest = { out: values.out, id: values.id, saved: values.saved, a: values.a, b: values.b };
  if (!values.file || values.file.length === 0) return { values: rest };
  if (!values.probe || !values.fs || !values.dtype || values.dtype.length === 0) {
    throw new Error('with --file, also pass --probe PROBE_FILE --fs SAMPLING_HZ --dtype DATA_TYPE (e.g. --fs 30000 --dtype int16)');
  }
  const probeGeometry = await loadProbe(values.probe);
  const samplingFrequency = Number(values.fs);
  const dtypes = values.dtype;
  if (dtypes.length !== 1 && dtypes.length !== values.file.length) {
    throw new Error(`pass one --dtype for all files or one per --file (${values.file.length} files, ${dtypes.length} --dtype)`);
  }
  const files = values.file.map((binaryFile, i) => {
    const dataType = dtypes.length === 1 ? dtypes[0] : dtypes[i];
    const r = new Recording({ binaryFile, dataType, probeGeometry, samplingFrequency });
    return { binaryFile, dataType: r.dataType, probeGeometry, samplingFrequency, numSamples: r.numSamples };
  });
  return { files, values: rest };
}

/** Copies samples [start, start + numSamples) of a file into a new file of the same type (raw bytes). */
export function cutFile(spec: FileSpec, start: number, numSamples: number, dest: string): FileSpec {
  const bytesPerSample = itemSize(parseDataType(spec.dataType)) * spec.probeGeometry.length;
  const input = openSync(spec.binaryFile, 'r');
  const output = openSync(dest, 'w');
  try {
    const chunk = Buffer.alloc(bytesPerSample * 65536);
    let done = 0;
    const total = numSamples * bytesPerSample;
    while (done < total) {
      const n = readSync(input, chunk, 0, Math.min(chunk.length, total - done), start * bytesPerSample + done);
      if (n === 0) throw new Error(`cutFile: ${spec.binaryFile} ends before sample ${start + numSamples}`);
      writeSync(output, chunk, 0, n);
      done += n;
    }
  } finally {
    closeSync(input);
    closeSync(output);
  }
  return { ...spec, binaryFile: dest, numSamples };
}

/** Writes a file's samples as float32 a*x + b (how some acquisition systems store scaled data). */
export function writeScaledFloat32(spec: FileSpec, a: number, b: number, dest: string): FileSpec {
  const rec = openRecording(spec);
  const out = openSync(dest, 'w');
  try {
    const step = 30000;
    for (let start = 0; start < rec.numSamples; start += step) {
      const n = Math.min(step, rec.numSamples - start);
      const x = rec.read({ start, numSamples: n });
      for (let i = 0; i < x.length; i++) x[i] = a * x[i] + b;
      writeSync(out, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    }
  } finally {
    closeSync(out);
  }
  return { ...spec, binaryFile: dest, dataType: 'float32' };
}

/** One line per cluster: id, spike count, rate, best channel in the first segment. */
export function describeResult(result: SortedRecording, label: string): string[] {
  const seconds = (result.endTime() - result.startTime()) / result.samplingFrequency;
  const lines = [
    `${label}: ${result.length} clusters, ${result.numSegments} segments, ` +
      `${(result.startTime() / result.samplingFrequency).toFixed(2)}-${(result.endTime() / result.samplingFrequency).toFixed(2)} s`,
  ];
  for (const id of result.clusterIds()) {
    const n = result.spikes(id).length;
    const v = result.amplitudeVectors(id)[0];
    let best = 0;
    for (let c = 1; c < v.length; c++) if (v[c] > v[best]) best = c;
    lines.push(`  cluster ${id}: ${n} spikes (${(n / seconds).toFixed(1)} Hz), best channel ${best}`);
  }
  return lines;
}

/** True when `moduleUrl` is the script node was started with (run as a program, not imported). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}

/** Runs an example's main from the command line with a readable failure. */
export function runMain(fn: (argv: string[]) => Promise<unknown>): void {
  fn(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
