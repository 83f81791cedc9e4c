// Argument parsing for the spikesift command line. Each command declares its options once
// (name, kind, description); the same declaration drives parsing, validation and --help, so
// the help text cannot fall out of step with what is accepted.

import fs from 'node:fs';
import path from 'node:path';
import { SORT_PARAMETERS } from '../core/params.js';
import { Recording } from '../formats/recording.js';
import { SortedRecording } from '../result/sorted-recording.js';

/** A bad command line: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionKind = 'string' | 'number' | 'integer' | 'flag';

export interface OptionSpec {
  /** Long name without the leading dashes, e.g. 'sampling-frequency'. */
  name: string;
  kind: OptionKind;
  description: string;
  /** Placeholder shown in help, e.g. 'HZ'. */
  value?: string;
  required?: boolean;
  /** Shown in help; parsing does not fill it in (the library applies its own defaults). */
  defaultText?: string;
  choices?: readonly string[];
  /** Inclusive lower bound for numbers. */
  min?: number;
  /** Exclusive lower bound for numbers. */
  greaterThan?: number;
  /** Section heading in --help, for commands with many options. */
  group?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  /** Accept one or more values (only the last positional may be variadic). */
  variadic?: boolean;
  optional?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Extra paragraphs printed after the option list. */
  details?: string;
  positionals: PositionalSpec[];
  options: OptionSpec[];
}

export type OptionValue = string | number | boolean | undefined;

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, OptionValue>;
}

/** The first sentence of a description, lower-cased, for "missing X (what X is)": ".json" is not a sentence end. */
export function firstSentence(text: string): string {
  const m = /^(.*?[^.])\.(?:\s|$)/.exec(text);
  const s = (m ? m[1] : text).trim();
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** True when the command line asks for help anywhere (help wins over every other error). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

function parseNumber(spec: OptionSpec, raw: string, command: string): number {
  const trimmed = raw.trim();
  const value = trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(value)) {
    throw new UsageError(`--${spec.name} expects a number, got "${raw}"`, command);
  }
  if (spec.kind === 'integer' && !Number.isInteger(value)) {
    throw new UsageError(`--${spec.name} expects a whole number, got "${raw}"`, command);
  }
  if (spec.min !== undefined && value < spec.min) {
    throw new UsageError(`--${spec.name} must be at least ${spec.min}, got ${raw}`, command);
  }
  if (spec.greaterThan !== undefined && !(value > spec.greaterThan)) {
    throw new UsageError(`--${spec.name} must be greater than ${spec.greaterThan}, got ${raw}`, command);
  }
  return value;
}

/**
 * Parses `argv` (the words after the command name) against `spec`. Accepts `--name value`
 * and `--name=value`; a value that starts with '-' is still taken as the value (negative
 * offsets and polarities are legal). Throws UsageError naming the argument and the reason.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const options: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (onlyPositionals || !word.startsWith('-') || word === '-' || /^-\d/.test(word)) {
      positionals.push(word);
      continue;
    }
    if (word === '--') {
      onlyPositionals = true;
      continue;
    }
    if (!word.startsWith('--')) {
      throw new UsageError(`unknown option "${word}" (options are written --name; see spikesift ${spec.name} --help)`, spec.name);
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq === -1 ? undefined : eq);
    const opt = byName.get(name);
    if (!opt) {
      const close = spec.options.find((o) => o.name.startsWith(name) || name.startsWith(o.name));
      const hint = close ? `; did you mean --${close.name}?` : '';
      throw new UsageError(`unknown option --${name} for "${spec.name}"${hint} (see spikesift ${spec.name} --help)`, spec.name);
    }
    if (Object.prototype.hasOwnProperty.call(options, name)) {
      throw new UsageError(`--${name} was given more than once`, spec.name);
    }
    if (opt.kind === 'flag') {
      if (eq !== -1) throw new UsageError(`--${name} is a switch and takes no value (got "${word.slice(eq + 1)}")`, spec.name);
      options[name] = true;
      continue;
    }
    let raw: string;
    if (eq !== -1) {
      raw = word.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) {
        throw new UsageError(`--${name} needs a value (${opt.value ?? 'VALUE'})`, spec.name);
      }
      raw = argv[++i];
    }
    if (opt.kind === 'string') {
      if (raw === '') throw new UsageError(`--${name} needs a non-empty value`, spec.name);
      if (opt.choices && !opt.choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${opt.choices.join(', ')}; got "${raw}"`, spec.name);
      }
      options[name] = raw;
    } else {
      options[name] = parseNumber(opt, raw, spec.name);
    }
  }

  for (const opt of spec.options) {
    if (opt.required && options[opt.name] === undefined) {
      throw new UsageError(`missing required option --${opt.name} ${opt.value ?? ''}`.trimEnd() + ` (${firstSentence(opt.description)})`, spec.name);
    }
  }

  const required = spec.positionals.filter((p) => !p.optional);
  const variadic = spec.positionals.length > 0 && spec.positionals[spec.positionals.length - 1].variadic;
  if (positionals.length < required.length) {
    const missing = required[positionals.length];
    throw new UsageError(`missing ${missing.name} (${firstSentence(missing.description)})`, spec.name);
  }
  if (!variadic && positionals.length > spec.positionals.length) {
    const extra = positionals.slice(spec.positionals.length).map((p) => `"${p}"`).join(' ');
    throw new UsageError(`unexpected argument ${extra} for "${spec.name}" (it takes ${describeCount(spec.positionals)})`, spec.name);
  }
  return { positionals, options };
}

/**
 * For commands parsed with node:util parseArgs, which takes "--duration -5" for a missing
 * value ("argument is ambiguous"): joins `--name -5` into `--name=-5` for options that take a
 * value, so a negative number reaches the option's own check ("must be a positive number").
 */
export function joinNegativeValues(argv: readonly string[], valueOptions: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const next = argv[i + 1];
    if (w.startsWith('--') && !w.includes('=') && valueOptions.includes(w.slice(2)) && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      out.push(`${w}=${next}`);
      i++;
    } else out.push(w);
  }
  return out;
}

function describeCount(ps: PositionalSpec[]): string {
  if (ps.length === 0) return 'no positional arguments';
  return ps.map((p) => p.name).join(' ');
}

function wrap(text: string, width: number, indent: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n' + ' '.repeat(indent));
}

/** The --help text of one command, generated from its declaration. */
export function formatHelp(spec: CommandSpec): string {
  const usageParts = [`spikesift ${spec.name}`];
  for (const p of spec.positionals) {
    const word = p.variadic ? `${p.name}...` : p.name;
    usageParts.push(p.optional ? `[${word}]` : word);
  }
  for (const o of spec.options) {
    if (!o.required) continue;
    usageParts.push(o.kind === 'flag' ? `--${o.name}` : `--${o.name} ${o.value ?? 'VALUE'}`);
  }
  if (spec.options.some((o) => !o.required)) usageParts.push('[options]');

  const out: string[] = [];
  out.push(`Usage: ${usageParts.join(' ')}`, '', spec.summary, '');
  if (spec.positionals.length) {
    out.push('Arguments:');
    for (const p of spec.positionals) {
      out.push(`  ${p.name.padEnd(28)}${wrap(p.description, 70, 30)}`);
    }
    out.push('');
  }
  const groups: string[] = [];
  for (const o of spec.options) {
    const g = o.group ?? 'Options';
    if (!groups.includes(g)) groups.push(g);
  }
  for (const g of groups) {
    out.push(`${g}:`);
    for (const o of spec.options.filter((x) => (x.group ?? 'Options') === g)) {
      const left = o.kind === 'flag' ? `--${o.name}` : `--${o.name} ${o.value ?? 'VALUE'}`;
      let desc = o.description;
      if (o.choices) desc += ` One of: ${o.choices.join(', ')}.`;
      if (o.required) desc += ' Required.';
      if (o.defaultText !== undefined) desc += ` Default: ${o.defaultText}.`;
      const pad = left.length >= 28 ? `${left}\n${' '.repeat(30)}` : left.padEnd(28);
      out.push(`  ${pad}${wrap(desc, 70, 30)}`);
    }
    out.push('');
  }
  out.push(`  ${'--help'.padEnd(28)}Show this help.`, '');
  if (spec.details) out.push(spec.details.trim(), '');
  return out.join('\n');
}

/** Typed accessors: the parser has already checked kinds, these only narrow the types. */
export function optString(parsed: ParsedArgs, name: string): string | undefined {
  const v = parsed.options[name];
  return typeof v === 'string' ? v : undefined;
}
export function optNumber(parsed: ParsedArgs, name: string): number | undefined {
  const v = parsed.options[name];
  return typeof v === 'number' ? v : undefined;
}
export function optFlag(parsed: ParsedArgs, name: string): boolean {
  return parsed.options[name] === true;
}

// ---------------------------------------------------------------------------------------
// Shared by the command modules: output sinks, error classification and common option sets.

/** Where a command writes. Tests pass collectors; the bin passes process.stdout/stderr. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Writes to stderr as given (no newline added), for a line redrawn on a terminal. */
  errRaw?(text: string): void;
  /** stderr is a terminal: progress is redrawn in place rather than printed line by line. */
  isTTY?: boolean;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
  errRaw: (text) => void process.stderr.write(text),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

export interface Command {
  spec: CommandSpec;
  run(argv: string[], io: CliIO): Promise<number>;
}

/** Library parameter names (as errors name them) and the CLI argument that sets each. */
export const PARAMETER_TO_OPTION: Record<string, string> = {
  binaryFile: 'RECORDING',
  dataType: '--dtype',
  probeGeometry: '--probe',
  samplingFrequency: '--sampling-frequency',
  header: '--header',
  sampleOffset: '--sample-offset',
  numSamples: '--num-samples',
  recordingOffset: '--recording-offset',
  binOrMetaPath: 'RECORDING',
  path: 'RECORDING',
  stream: '--stream',
};
for (const p of SORT_PARAMETERS) if (p.cli) PARAMETER_TO_OPTION[p.name] = `--${p.cli.flag}`;

/**
 * Turns a library ParameterError (it carries `parameter`) into a UsageError that names the
 * command-line argument; anything else is returned unchanged.
 */
export function asUsageError(e: unknown, command: string): unknown {
  if (e instanceof Error && e.name === 'ParameterError' && typeof (e as { parameter?: unknown }).parameter === 'string') {
    const param = (e as unknown as { parameter: string }).parameter;
    const opt = PARAMETER_TO_OPTION[param];
    return new UsageError(opt ? `${opt}: ${e.message}` : e.message, command);
  }
  return e;
}

export const RECORDING_OPTIONS: OptionSpec[] = [
  { name: 'probe', kind: 'string', value: 'FILE', description: 'Probe geometry: a probeinterface .json, a plain JSON [[x, y], ...] or a .npy (C x 2), in µm, in file channel order.', group: 'Recording' },
  { name: 'sampling-frequency', kind: 'number', value: 'HZ', description: 'Sampling rate of the file in Hz.', greaterThan: 0, group: 'Recording' },
  { name: 'dtype', kind: 'string', value: 'TYPE', description: 'Sample type of the file: int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64 (numpy codes such as <i2 also work).', group: 'Recording' },
  { name: 'header', kind: 'integer', value: 'BYTES', min: 0, description: 'Bytes to skip at the start of the file.', defaultText: '0', group: 'Recording' },
  { name: 'sample-offset', kind: 'integer', value: 'N', min: 0, description: 'Whole samples to skip after the header; sample 0 is the first one after them.', defaultText: '0', group: 'Recording' },
  { name: 'num-samples', kind: 'integer', value: 'N', min: 1, description: 'Samples to use; by default everything after the offsets (the rest of the file must then be whole samples).', group: 'Recording' },
  { name: 'recording-offset', kind: 'integer', value: 'N', description: 'Added to every reported spike time (samples, any sign); use it to place several files on one time line.', defaultText: '0', group: 'Recording' },
  { name: 'stream', kind: 'string', value: 'NAME', description: 'Open Ephys only: the continuous stream to read (stream_name such as ProbeA-AP, or its folder), needed when structure.oebin lists several.', group: 'Recording' },
];

/** File name of the saved result inside an output folder. */
export const RESULT_FILE = 'result.spikesift';
/** File name of the recording description written next to the result by `sort`. */
export const RECORDING_FILE = 'recording.json';

/** A RESULT argument is the saved file or a folder that holds result.spikesift. */
export function resolveResultPath(arg: string, command: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(arg);
  } catch {
    throw new UsageError(`RESULT "${arg}" does not exist; pass a saved ${RESULT_FILE} or the --out folder of spikesift sort`, command);
  }
  if (stat.isDirectory()) {
    const file = path.join(arg, RESULT_FILE);
    if (!fs.existsSync(file)) {
      throw new UsageError(`RESULT folder "${arg}" has no ${RESULT_FILE}; pass the --out folder of spikesift sort/merge or the file itself`, command);
    }
    return file;
  }
  return arg;
}

export async function loadResult(arg: string, command: string): Promise<SortedRecording> {
  const file = resolveResultPath(arg, command);
  try {
    return await SortedRecording.load(file);
  } catch (e) {
    throw new UsageError(`RESULT "${arg}" could not be read as a spikesift result: ${(e as Error).message}`, command);
  }
}

/** Saves what is needed to reopen the recording later (report/export without --recording). */
export function writeRecordingDescription(dir: string, rec: Recording): void {
  const json = { ...rec.toJSON(), binaryFile: path.resolve(rec.binaryFile) };
  fs.writeFileSync(path.join(dir, RECORDING_FILE), JSON.stringify(json, null, 2) + '\n');
}


/** Creates `dir` (and parents); a path that exists and is not a folder is a usage error. */
export function ensureOutDir(dir: string, command: string, option = '--out'): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`${option} "${dir}" exists and is not a folder`, command);
  }
  fs.mkdirSync(dir, { recursive: true });
}

/** What sort and merge write to summary.json. */
export interface SummaryJson {
  units: number;
  spikesPerUnit: Record<string, number>;
  totalSpikes: number;
  segments: number;
  /** Wall-clock seconds spent sorting. */
  seconds: number;
  /** Seconds of recording covered by the result. */
  recordingSeconds: number;
  backend: string;
  blocks: number;
  samplingFrequency: number;
  numChannels: number;
  startTime: number;
  endTime: number;
  files: Record<string, string>;
}

export function summarize(result: SortedRecording, extra: { seconds: number; backend: string; blocks: number; files: Record<string, string> }): SummaryJson {
  const spikesPerUnit: Record<string, number> = {};
  let total = 0;
  for (const id of result.clusterIds()) {
    const n = result.spikes(id).length;
    spikesPerUnit[String(id)] = n;
    total += n;
  }
  return {
    units: result.length,
    spikesPerUnit,
    totalSpikes: total,
    segments: result.numSegments,
    seconds: Math.round(extra.seconds * 1000) / 1000,
    recordingSeconds: (result.endTime() - result.startTime()) / result.samplingFrequency,
    backend: extra.backend,
    blocks: extra.blocks,
    samplingFrequency: result.samplingFrequency,
    numChannels: result.numChannels,
    startTime: result.startTime(),
    endTime: result.endTime(),
    files: extra.files,
  };
}
