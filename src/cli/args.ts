// Argument parsing for the spikesift command line. Each command declares its options once
// (name, kind, description); the same declaration drives parsing, validation and --help, so
// the help text cannot fall out of step with what is accepted.

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
      throw new UsageError(`missing required option --${opt.name} ${opt.value ?? ''}`.trimEnd() + ` (${opt.description.split('.')[0].toLowerCase()})`, spec.name);
    }
  }

  const required = spec.positionals.filter((p) => !p.optional);
  const variadic = spec.positionals.length > 0 && spec.positionals[spec.positionals.length - 1].variadic;
  if (positionals.length < required.length) {
    const missing = required[positionals.length];
    throw new UsageError(`missing ${missing.name} (${missing.description.split('.')[0].toLowerCase()})`, spec.name);
  }
  if (!variadic && positionals.length > spec.positionals.length) {
    const extra = positionals.slice(spec.positionals.length).map((p) => `"${p}"`).join(' ');
    throw new UsageError(`unexpected argument ${extra} for "${spec.name}" (it takes ${describeCount(spec.positionals)})`, spec.name);
  }
  return { positionals, options };
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
