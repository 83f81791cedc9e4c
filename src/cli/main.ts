#!/usr/bin/env node
// The spikesift command line. Commands are loaded on demand so `--help` and light commands
// start quickly without initialising the GPU stack.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, asUsageError, formatHelp, processIO, wantsHelp, type CliIO, type Command } from './args.js';

/** A command written elsewhere in the project as `run(argv): Promise<number>` plus a `help` text. */
interface ExternalCommand {
  run(argv: string[], io?: CliIO): Promise<number>;
  help: string;
}

/** Commands owned by the ground-truth module keep their own parser and help text. */
function adaptExternal(mod: Partial<ExternalCommand>, name: string): ExternalCommand {
  if (typeof mod.run !== 'function') throw new Error(`the ${name} module does not export run(argv)`);
  return { run: mod.run, help: typeof mod.help === 'string' ? mod.help : `spikesift ${name}` };
}

type Loaded = { kind: 'own'; command: Command } | { kind: 'external'; command: ExternalCommand };

const COMMANDS: { name: string; summary: string; load: () => Promise<Loaded> }[] = [
  { name: 'sort', summary: 'Sort a raw recording; writes the result, Phy and SpikeInterface folders and a summary.', load: async () => ({ kind: 'own', command: (await import('./sort.js')).command }) },
  { name: 'merge', summary: 'Merge results of consecutive recordings on one probe.', load: async () => ({ kind: 'own', command: (await import('./merge.js')).command }) },
  { name: 'slurm', summary: 'Sort recordings on a Slurm cluster: a job array sorts the blocks, a dependent job merges them.', load: async () => ({ kind: 'own', command: (await import('./slurm.js')).command }) },
  { name: 'info', summary: 'Print units, segments, spikes and time span of a result.', load: async () => ({ kind: 'own', command: (await import('./info.js')).command }) },
  { name: 'export', summary: 'Export a result as a Phy folder or a SpikeInterface folder.', load: async () => ({ kind: 'own', command: (await import('./export.js')).command }) },
  { name: 'report', summary: 'Write a self-contained HTML report (raster, waveforms on the probe, drift, rates, accuracy).', load: async () => ({ kind: 'own', command: (await import('./report.js')).command }) },
  { name: 'demo', summary: 'Generate a small drifting recording, sort it, score it against ground truth, write a report.', load: async () => ({ kind: 'own', command: (await import('./demo.js')).command }) },
  { name: 'generate', summary: 'Generate a synthetic recording with known spikes (ground truth).', load: async () => ({ kind: 'external', command: adaptExternal(await import('./generate.js'), 'generate') }) },
  { name: 'compare', summary: 'Score a sorting against ground truth (SpikeInterface definitions).', load: async () => ({ kind: 'external', command: adaptExternal(await import('./compare.js'), 'compare') }) },
];

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: spikesift COMMAND [arguments] [options]',
    '',
    'Spike sorting for high-density extracellular recordings (WebGPU with a CPU fallback).',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    '  --help, -h     Show help (after a command: that command\'s options).',
    '  --version      Print the version.',
    '',
    'Run "spikesift COMMAND --help" for the options of a command. Exit status: 0 success,',
    '2 bad arguments (the message names the argument and why), 1 failure while running.',
    '',
    'Start with:  spikesift demo',
    '',
  ].join('\n');
}

/**
 * Runs the command line `argv` (without node and the script) and resolves to the exit status.
 * Output goes to `io` (process stdout/stderr by default); nothing calls process.exit.
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const args = [...argv];
  const first = args[0];
  if (first === undefined) {
    io.err(mainHelp());
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.out(mainHelp());
    return 0;
  }
  if (first === '--version') {
    io.out(version());
    return 0;
  }
  let name = first;
  let rest = args.slice(1);
  if (first === 'help') {
    if (rest.length === 0) {
      io.out(mainHelp());
      return 0;
    }
    name = rest[0];
    rest = ['--help'];
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const kind = name.startsWith('-') ? 'option' : 'command';
    io.err(`spikesift: unknown ${kind} "${name}"; commands are ${COMMANDS.map((c) => c.name).join(', ')} (see spikesift --help)`);
    return 2;
  }
  let loaded: Loaded;
  try {
    loaded = await entry.load();
  } catch (e) {
    io.err(`spikesift ${name}: this command is not available in this build (${(e as Error).message})`);
    return 1;
  }
  if (wantsHelp(rest)) {
    io.out(loaded.kind === 'own' ? formatHelp(loaded.command.spec) : loaded.command.help);
    return 0;
  }
  try {
    return loaded.kind === 'own' ? await loaded.command.run(rest, io) : await loaded.command.run(rest, io);
  } catch (e0) {
    const e = asUsageError(e0, name);
    if (e instanceof UsageError) {
      io.err(`spikesift ${name}: ${e.message}\nRun "spikesift ${name} --help" for usage.`);
      return 2;
    }
    const err = e as Error;
    io.err(`spikesift ${name}: error: ${err?.message ?? String(err)}`);
    if (process.env.SPIKESIFT_DEBUG && err?.stack) io.err(err.stack);
    return 1;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return fs.realpathSync(script) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  runCli(process.argv.slice(2)).then(
    // Exit explicitly: a GPU device or worker pool must not keep a finished command alive.
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`spikesift: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
