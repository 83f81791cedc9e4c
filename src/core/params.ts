/**
 * THE parameter table of performSpikeSorting: every option's name, type, range, default, unit
 * and help, with its validation rule (spec §1). It drives the library's validation and its
 * rejection of unknown option names, the CLI's `sort` options and `--help`, and the README's
 * table (scripts/update-readme.mjs writes it; a test checks the README matches). A default is
 * written here and nowhere else. Every rejection is a ParameterError naming the parameter, the
 * value received and what to pass instead.
 */
import { availableParallelism, freemem } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ParameterError, describeValue } from './errors.js';
import { roundDrift, roundHalfEven } from './rounding.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

/**
 * 'reference': spec §1-§10 exactly (no burst merge, §7.3 neighbourhoods, §10 chains as ids).
 * 'improved': beyond the reference, measured in bench/QUALITY.md (burst merge, balanced
 * neighbourhoods, tracks that may skip, start and end, a plausibility ceiling on links).
 */
export type SortMode = 'improved' | 'reference';

export interface SortProgress {
  /** Milliseconds of the sortable range processed so far. */
  doneMs: number;
  /** Milliseconds of the sortable range in total (ms blocks 1 .. T-1). */
  totalMs: number;
}

export interface SortOptions {
  /** Minimum segment length in seconds (default 10; clipped to >= 0.1). */
  minSegmentLength?: number;
  /** Detection threshold in multiples of the median absolute filtered signal (default 10). */
  detectionSensitivity?: number;
  /** Minimum spikes for a cluster to be kept (default 5; clipped to >= 2). */
  minSpikesPerCluster?: number;
  /** Split acceptance threshold λ of the binary splitting, 0 < λ < 1 (default 0.4). */
  mergingThreshold?: number;
  /** Maximal drift in µm between consecutive segments (default 30; rounded to a multiple of 5). */
  maxDrift?: number;
  /** Sign/scale applied to the data so spikes point down (default -1; any non-zero number). */
  detectionPolarity?: number;
  /** Progress bar and summary on stderr (default true). */
  verbose?: boolean;
  /** 'auto' (WebGPU when a hardware adapter measures faster, else CPU), 'webgpu' or 'cpu' (default 'auto'). */
  backend?: BackendChoice;
  /** 'improved' (default) or 'reference' (spec §1-§10 exactly). */
  mode?: SortMode;
  /** Mode 'improved': segments a track may skip and keep its id (default 30). */
  maxSkippedSegments?: number;
  /** Mode 'improved': recover tracks' spikes in segments where they were not clustered, and complete their units with the spikes clustering left out, by template matching (default true). */
  recoverSpikes?: boolean;
  /** Mode 'improved': cluster the unexplained large peaks of adjacent segments together, so rare units become tracks (default true). */
  poolResiduals?: boolean;
  /** Merge burst fragments within each segment (default true in mode 'improved'; always false in mode 'reference'). */
  mergeBursts?: boolean;
  /** Segments sorted at once on worker threads (default: the machine's available cores). */
  workers?: number;
  /** Bytes of segment windows in flight at once (default: half the free memory, 1 to 6 GiB). */
  memoryLimit?: number;
  /** Bytes of GPU memory the WebGPU engine may use for its segment windows, filter chunks and scratch (default 8 GiB). */
  gpuMemoryLimit?: number;
  /** Called after each sorted segment. */
  onProgress?: (p: SortProgress) => void;
  /**
   * Called with each plausibility warning (data that look wrong for the declared dtype or
   * layout, implausible spike rates). Without it, warnings go to stderr when verbose.
   */
  onWarning?: (message: string) => void;
}

export interface ResolvedSortOptions {
  /** L: minimum segment length in whole ms. */
  minSegmentMs: number;
  detectionSensitivity: number;
  minSpikesPerCluster: number;
  mergingThreshold: number;
  maxDrift: number;
  detectionPolarity: number;
  verbose: boolean;
  backend: BackendChoice;
  mode: SortMode;
  maxSkippedSegments: number;
  recoverSpikes: boolean;
  poolResiduals: boolean;
  mergeBursts: boolean;
  workers: number;
  memoryLimit: number;
  gpuMemoryLimit: number;
  onProgress: ((p: SortProgress) => void) | undefined;
  onWarning: ((message: string) => void) | undefined;
}

/** What validateSortOptions needs to know about the recording. */
export interface RecordingShape {
  numChannels: number;
  numSamples: number;
  samplingFrequency: number;
  samplesPerMs?: number;
}

export type ParameterKind = 'number' | 'integer' | 'boolean' | 'choice' | 'function';

export interface ParameterSpec {
  /** The option's name in SortOptions. */
  name: keyof SortOptions;
  kind: ParameterKind;
  /** 'choice' values. */
  choices?: readonly string[];
  /** The default value, or how it is found (evaluated when options are validated). */
  default: number | boolean | string | undefined | (() => number);
  /** The default as documentation shows it. */
  defaultText: string;
  unit: string;
  /** The valid range as documentation shows it. */
  range: string;
  help: string;
  /**
   * The command-line flag (without dashes); `negate`: a flag that sets a boolean option to
   * false (e.g. --no-merge-bursts); `sets`: a flag that sets a choice option to this value
   * (e.g. --reference sets mode 'reference'). null: library only.
   */
  cli: { flag: string; value?: string; negate?: boolean; sets?: string } | null;
}

/** Below this rate the wide DoG width floor(S/4.75) is 0 and the filtered signal is identically zero. */
export const MIN_SORTING_RATE_HZ = 5000;
/** Sorting needs at least this many channels (the difference vector uses 4 or 5 neighbours). */
export const MIN_SORTING_CHANNELS = 4;
/** Sorting needs at least this many whole ms blocks. */
export const MIN_SORTING_MS = 10;

/** Sort threads by default: every available core (inside a worker thread: 1, sorted on that thread). */
export function defaultWorkers(): number {
  return isMainThread ? Math.max(1, availableParallelism()) : 1;
}

/** Segment windows in flight by default: half the free memory, between 1 and 6 GiB. */
export function defaultMemoryLimit(): number {
  return Math.floor(Math.max(2 ** 30, Math.min(freemem() / 2, 6 * 2 ** 30)));
}

export const SORT_PARAMETERS: readonly ParameterSpec[] = Object.freeze([
  {
    name: 'minSegmentLength', kind: 'number', default: 10, defaultText: '10', unit: 's', range: '>= 0.1 (clipped), whole ms',
    help: 'Shortest segment; the recording is cut into segments at least this long where the activity changes (drift). Memory per segment in flight is about 2·L·C·fs·4 bytes at most (a segment is at most 2L long: 0.98 GB for 384 channels at 30 kHz, L = 10 s): lower it to save memory.',
    cli: { flag: 'min-segment-length', value: 'S' },
  },
  {
    name: 'detectionSensitivity', kind: 'number', default: 10, defaultText: '10', unit: '', range: '> 0',
    help: 'κ: threshold = −κ·median|filtered| per channel (first sample of each ms of the first 4L ms); higher finds fewer, larger spikes.',
    cli: { flag: 'detection-sensitivity', value: 'K' },
  },
  {
    name: 'minSpikesPerCluster', kind: 'number', default: 5, defaultText: '5', unit: 'spikes', range: '>= 2 (clipped)',
    help: 'Smallest number of spikes for a unit to be kept.',
    cli: { flag: 'min-spikes-per-cluster', value: 'N' },
  },
  {
    name: 'mergingThreshold', kind: 'number', default: 0.4, defaultText: '0.4', unit: '', range: '(0, 1)',
    help: 'λ: how different two halves must be (difference vectors) to stay split; higher merges more.',
    cli: { flag: 'merging-threshold', value: 'X' },
  },
  {
    name: 'maxDrift', kind: 'number', default: 30, defaultText: '30', unit: 'µm', range: '>= 0, rounded half to even to a multiple of 5',
    help: 'Largest drift searched when linking segments (and recordings).',
    cli: { flag: 'max-drift', value: 'UM' },
  },
  {
    name: 'detectionPolarity', kind: 'number', default: -1, defaultText: '-1', unit: '', range: 'non-zero',
    help: 'Multiplies the data so spikes point down: −1 for negative spikes, +1 for positive, −1/a for data saved as a·x+b.',
    cli: { flag: 'detection-polarity', value: 'P' },
  },
  {
    name: 'backend', kind: 'choice', choices: ['auto', 'webgpu', 'cpu'], default: 'auto', defaultText: 'auto', unit: '', range: 'auto, webgpu, cpu',
    help: 'Where filtering runs: webgpu needs a GPU adapter; auto uses a hardware GPU when it measures faster than the CPU path, else the CPU, and says why.',
    cli: { flag: 'backend', value: 'NAME' },
  },
  {
    name: 'workers', kind: 'integer', default: defaultWorkers, defaultText: 'available cores', unit: 'threads', range: '>= 1',
    help: 'Segments sorted at once on worker threads (and, at large probes, the threads sharing the tracking\'s drift searches); results are the same for any number.',
    cli: { flag: 'workers', value: 'N' },
  },
  {
    name: 'memoryLimit', kind: 'number', default: defaultMemoryLimit, defaultText: 'half the free memory, 1–6 GiB', unit: 'bytes', range: '> 0, at least one longest segment',
    help: 'Bound on the filtered windows of the segments in flight (each sized for the longest segment, 2L·C·(4S+8) bytes: 0.98 GB at 384 channels, 30 kHz, L = 10 s) and the filtered chunks pass 1 keeps for pass 2 (kept only when both take at most half of it; a short recording whose whole filtered data take no more than they would is kept whole instead and sorted in place); fewer segments run at once when they would exceed it.',
    cli: { flag: 'memory-limit', value: 'BYTES' },
  },
  {
    name: 'mode', kind: 'choice', choices: ['improved', 'reference'], default: 'improved', defaultText: 'improved', unit: '', range: 'improved, reference',
    help: "'reference' reproduces the published algorithm exactly (spec §1-§10: ids are the first segment's clusters whose chain of links never breaks; no burst merge). 'improved' follows every unit through the whole recording as a track (it may skip segments, start late and end), refuses implausible links, balances neighbourhoods among equidistant sites and merges burst fragments: see bench/QUALITY.md.",
    cli: { flag: 'reference', sets: 'reference' },
  },
  {
    name: 'maxSkippedSegments', kind: 'integer', default: 30, defaultText: '30', unit: 'segments', range: '>= 0',
    help: "Mode 'improved': a unit missing from up to this many consecutive segments (a rare unit with fewer than minSpikesPerCluster spikes in them) keeps its id when it reappears within maxDrift per segment of the gap, at most 3·maxDrift, and within the drift measured over the gap (the winning shifts of the consecutive segments' assignments) plus maxDrift (0: a track ends at its first missing segment). Mode 'reference' ignores it.",
    cli: { flag: 'max-skipped-segments', value: 'N' },
  },
  {
    name: 'recoverSpikes', kind: 'boolean', default: true, defaultText: 'true', unit: '', range: 'true, false',
    help: "Mode 'improved': after tracking, filter each segment again and match the tracks' templates (drift-following: each track's amplitude vector in its nearest segment) to recover their spikes in segments where they were not clustered, and to complete a track's unit with the spikes its segment's clustering left out (spikes crossing the detection threshold only), accepted above a threshold set from each template's noise scores; never creates a unit. Mode 'reference' never recovers.",
    cli: { flag: 'no-recover-spikes', negate: true },
  },
  {
    name: 'poolResiduals', kind: 'boolean', default: true, defaultText: 'true', unit: '', range: 'true, false',
    help: "Mode 'improved': before tracking, cluster the peaks no unit explains (at least 1.5x the threshold) over windows of adjacent segments (>= 45 s of data) together, so a unit too rare to reach minSpikesPerCluster in one segment becomes a unit of the segments where it fired, with the window's mean amplitude vector (needs minSpikesPerCluster peaks in >= 2 segments). Mode 'reference' never pools.",
    cli: { flag: 'no-pool-residuals', negate: true },
  },
  {
    name: 'gpuMemoryLimit', kind: 'number', default: 8 * 1024 ** 3, defaultText: '8589934592 (8 GiB)', unit: 'bytes', range: '> 0, at least one longest segment window',
    help: 'Bound on the GPU memory of the WebGPU engine: its device-resident segment windows (each for the longest segment, 2L·C·(4S+8) bytes: 3.9 GB at 1536 channels, 30 kHz, L = 10 s) plus up to 768 MiB for filter chunks and kernel scratch; fewer segments are in flight on the GPU when more would exceed it. Ignored by the CPU engine.',
    cli: { flag: 'gpu-memory-limit', value: 'BYTES' },
  },
  {
    name: 'mergeBursts', kind: 'boolean', default: true, defaultText: 'true', unit: '', range: 'true, false',
    help: "Merge burst fragments (the later, smaller spikes of a burst) into their unit within each segment, and in mode 'improved' do not list a track that is a burst fragment of another (beyond the reference; mode 'reference' never merges).",
    cli: { flag: 'no-merge-bursts', negate: true },
  },
  {
    name: 'verbose', kind: 'boolean', default: true, defaultText: 'true', unit: '', range: 'true, false',
    help: 'Progress bar (ms done, × real time, ETA) and a one-line summary on stderr.',
    cli: { flag: 'quiet', negate: true },
  },
  {
    name: 'onProgress', kind: 'function', default: undefined, defaultText: '—', unit: '', range: '({ doneMs, totalMs }) => void',
    help: 'Called after each sorted segment.',
    cli: null,
  },
  {
    name: 'onWarning', kind: 'function', default: undefined, defaultText: '— (stderr when verbose)', unit: '', range: '(message) => void',
    help: 'Called with each plausibility warning: data that look wrong for the declared dtype or layout (values railing at the type limits, unsigned data centred at half range, a channel count that does not fit the file), thresholds far apart on neighbouring channels, implausible spike rates; each names the likely fix.',
    cli: null,
  },
] satisfies ParameterSpec[]);

/** The defaults as values (the functional ones evaluated now). */
export function sortDefaults(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of SORT_PARAMETERS) out[p.name] = typeof p.default === 'function' ? p.default() : p.default;
  return out;
}

/** The constant defaults, frozen (workers and memoryLimit depend on the machine: see sortDefaults()). */
export const SORT_DEFAULTS = Object.freeze(Object.fromEntries(
  SORT_PARAMETERS.filter((p) => typeof p.default !== 'function' && p.default !== undefined).map((p) => [p.name, p.default]),
)) as Readonly<{
  minSegmentLength: number; detectionSensitivity: number; minSpikesPerCluster: number; mergingThreshold: number;
  maxDrift: number; detectionPolarity: number; backend: BackendChoice; mode: SortMode; maxSkippedSegments: number; recoverSpikes: boolean; poolResiduals: boolean; mergeBursts: boolean; verbose: boolean;
}>;

function reject(parameter: string, value: unknown, message: string): never {
  throw new ParameterError(parameter, value, message);
}

/** Levenshtein distance, for "did you mean" on misspelled option names. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The closest of `names` to `name`, when it is close enough to be a likely misspelling. */
export function closestName(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(name, n);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * Rejects option names that `fn` does not know, naming the closest valid one: a misspelt
 * option must not fall back to its default silently. For the library's entry points other than
 * performSpikeSorting (whose names are SORT_PARAMETERS, checked by validateSortOptions).
 */
export function checkOptionNames(fn: string, options: unknown, names: readonly string[]): void {
  if (options === null || options === undefined || typeof options !== 'object') return;
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue;
    const near = closestName(key, names);
    reject(key, (options as Record<string, unknown>)[key],
      `${fn}: unknown option ${JSON.stringify(key)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''} (valid options: ${names.join(', ')})`);
  }
}

/** Type check of one option against its table entry; returns the value or the default. */
function typed(spec: ParameterSpec, value: unknown): unknown {
  const def = typeof spec.default === 'function' ? spec.default() : spec.default;
  if (value === undefined) return def;
  const name = spec.name;
  switch (spec.kind) {
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        reject(name, value, `${name} must be a finite number${spec.unit ? ` (${spec.unit})` : ''}, got ${describeValue(value)}; pass ${spec.range}, e.g. ${spec.defaultText.match(/^-?[\d.]+$/) ? spec.defaultText : def}`);
      }
      if (spec.kind === 'integer' && !Number.isInteger(value)) {
        reject(name, value, `${name} must be a whole number (${spec.range}), got ${describeValue(value)}`);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') reject(name, value, `${name} must be true or false, got ${describeValue(value)}`);
      return value;
    case 'choice':
      if (typeof value !== 'string' || !spec.choices!.includes(value)) {
        reject(name, value, `${name} must be ${spec.choices!.map((c) => `'${c}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')}, got ${describeValue(value)}`);
      }
      return value;
    case 'function':
      if (typeof value !== 'function') reject(name, value, `${name} must be a function ${spec.range}, got ${describeValue(value)}`);
      return value;
  }
}

export function validateSortOptions(recording: RecordingShape, options: SortOptions = {}): ResolvedSortOptions {
  if (options === null || typeof options !== 'object') {
    reject('options', options, `sorting options must be an object such as { detectionSensitivity: 10 }, got ${describeValue(options)}`);
  }
  const names = SORT_PARAMETERS.map((p) => p.name as string);
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue;
    const near = closestName(key, names);
    reject(key, (options as Record<string, unknown>)[key],
      `unknown sorting option ${JSON.stringify(key)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''} (valid options: ${names.join(', ')})`);
  }

  const fsHz = recording.samplingFrequency;
  if (!(fsHz >= MIN_SORTING_RATE_HZ)) {
    reject('samplingFrequency', fsHz,
      `samplingFrequency ${describeValue(fsHz)} Hz is too low for sorting: below ${MIN_SORTING_RATE_HZ} Hz the ` +
      `wide filter width floor(S/4.75) is 0 and the filtered signal is identically zero, so no spike could be found; ` +
      `sort a recording sampled at >= ${MIN_SORTING_RATE_HZ} Hz (typically 20000-30000 Hz)`);
  }
  const C = recording.numChannels;
  if (!(C >= MIN_SORTING_CHANNELS)) {
    reject('probeGeometry', C,
      `sorting needs at least ${MIN_SORTING_CHANNELS} channels, the recording has ${C}; pass a probe with >= ${MIN_SORTING_CHANNELS} sites`);
  }
  const S = recording.samplesPerMs ?? Math.floor(fsHz / 1000);
  const blocks = Math.floor(recording.numSamples / S);
  if (!(blocks >= MIN_SORTING_MS)) {
    reject('numSamples', recording.numSamples,
      `the recording is too short to sort: ${recording.numSamples} samples are ${blocks} whole ms blocks at ` +
      `${fsHz} Hz, sorting needs at least ${MIN_SORTING_MS} (${MIN_SORTING_MS * S} samples); pass a longer recording`);
  }

  const v: Record<string, unknown> = {};
  for (const p of SORT_PARAMETERS) v[p.name] = typed(p, (options as Record<string, unknown>)[p.name]);

  // The rules beyond type and presence (spec §1).
  const minSegmentMs = roundHalfEven(1000 * Math.max(0.1, v.minSegmentLength as number));
  const detectionSensitivity = v.detectionSensitivity as number;
  if (!(detectionSensitivity > 0)) {
    reject('detectionSensitivity', detectionSensitivity,
      `detectionSensitivity must be > 0, got ${describeValue(detectionSensitivity)}; pass a positive number, e.g. 10 (higher finds fewer, larger spikes)`);
  }
  const minSpikesPerCluster = Math.max(2, v.minSpikesPerCluster as number);
  const mergingThreshold = v.mergingThreshold as number;
  if (!(mergingThreshold > 0 && mergingThreshold < 1)) {
    reject('mergingThreshold', mergingThreshold,
      `mergingThreshold must be strictly between 0 and 1, got ${describeValue(mergingThreshold)}; pass e.g. 0.4 (higher merges more)`);
  }
  const maxDriftRaw = v.maxDrift as number;
  if (!(maxDriftRaw >= 0)) {
    reject('maxDrift', maxDriftRaw, `maxDrift must be >= 0 (µm), got ${describeValue(maxDriftRaw)}; pass e.g. 30, or 0 for no drift`);
  }
  const detectionPolarity = v.detectionPolarity as number;
  if (detectionPolarity === 0) {
    reject('detectionPolarity', detectionPolarity,
      `detectionPolarity must be non-zero, got 0; pass -1 for negative-going spikes, +1 for positive-going ones (or -1/a for data saved as a*x+b)`);
  }
  const workers = v.workers as number;
  if (!(workers >= 1)) {
    reject('workers', workers, `workers must be a whole number >= 1, got ${describeValue(workers)}; pass e.g. 2 (segments sorted at once)`);
  }
  const memoryLimit = v.memoryLimit as number;
  if (!(memoryLimit > 0)) {
    reject('memoryLimit', memoryLimit, `memoryLimit must be a positive number of bytes, got ${describeValue(memoryLimit)}; pass e.g. 4e9`);
  }
  const gpuMemoryLimit = v.gpuMemoryLimit as number;
  if (!(gpuMemoryLimit > 0)) {
    reject('gpuMemoryLimit', gpuMemoryLimit, `gpuMemoryLimit must be a positive number of bytes, got ${describeValue(gpuMemoryLimit)}; pass e.g. 8e9`);
  }

  const mode = v.mode as SortMode;
  if (mode === 'reference' && options.mergeBursts === true) {
    reject('mergeBursts', true,
      "mergeBursts true cannot be combined with mode 'reference' (the reference algorithm has no burst merge); drop mergeBursts, or use mode 'improved'");
  }
  const mergeBursts = mode === 'reference' ? false : (v.mergeBursts as boolean);
  const maxSkippedSegments = v.maxSkippedSegments as number;
  if (!(maxSkippedSegments >= 0)) {
    reject('maxSkippedSegments', maxSkippedSegments, `maxSkippedSegments must be a whole number >= 0, got ${describeValue(maxSkippedSegments)}; pass e.g. 3, or 0 to end a track at its first missing segment`);
  }

  return {
    minSegmentMs, detectionSensitivity, minSpikesPerCluster, mergingThreshold, maxDrift: roundDrift(maxDriftRaw),
    detectionPolarity, verbose: v.verbose as boolean, backend: v.backend as BackendChoice, mode, maxSkippedSegments, recoverSpikes: mode === 'improved' && (v.recoverSpikes as boolean),
    poolResiduals: mode === 'improved' && (v.poolResiduals as boolean), mergeBursts,
    workers, memoryLimit, gpuMemoryLimit, onProgress: v.onProgress as ResolvedSortOptions['onProgress'], onWarning: v.onWarning as ResolvedSortOptions['onWarning'],
  };
}

/** The README's option table, generated from SORT_PARAMETERS. */
export function parameterTableMarkdown(): string {
  const cell = (t: string): string => t.replace(/\|/g, '\\|');
  const rows = SORT_PARAMETERS.map((p) => {
    const cli = p.cli ? ` (CLI \`--${p.cli.flag}\`${p.cli.negate ? ' sets false' : p.cli.sets ? ` sets '${p.cli.sets}'` : ''})` : '';
    const unit = p.unit ? ` ${p.unit}` : '';
    return `| \`${p.name}\` | ${p.kind === 'choice' ? 'string' : p.kind} | ${cell(p.defaultText)}${/^-?[\d.]+$/.test(p.defaultText) ? unit : ''} | ${cell(p.range)} | ${cell(p.help)}${cli} |`;
  });
  return ['| option | type | default | range | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
