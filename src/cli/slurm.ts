// spikesift slurm: sort one or many recordings on a Slurm cluster. Each recording is cut into
// the blocks `sort --blocks N` sorts locally; one job array sorts every block still missing
// (`sort --blocks N --block I`), and a second job, started only when the whole array has
// succeeded (afterok), merges each recording's blocks into OUT/result.spikesift with the same
// exports `spikesift sort --out OUT` writes.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateSortOptions, type SortOptions } from '../pipeline/perform.js';
import { RECORDING_OPTIONS, RESULT_FILE, UsageError, asUsageError, optFlag, optNumber, optString, parseArgs, type CliIO, type Command, type CommandSpec, type OptionSpec, type OptionValue, type ParsedArgs } from './args.js';
import { recordingFromArgs } from './format-recording.js';
import { BLOCK_FORMAT, blockBaseName, checkBlock, planBlocks, samePlan, writeFileAtomic, type BlockMeta, type BlockPlan } from './blocks.js';
import { SORT_OPTIONS, sortOptionsFrom } from './sort.js';

/**
 * Sorting options a task passes on to `spikesift sort`. Threads and memory are not among them:
 * they follow --cpus-per-task and --mem inside the job (slurmResources), and --quiet would
 * empty the logs.
 */
const SORTING_OPTIONS: OptionSpec[] = SORT_OPTIONS.filter((o) => !['workers', 'memory-limit'].includes(o.name) && o.group !== 'Output');
const TASK_OPTIONS: OptionSpec[] = [...RECORDING_OPTIONS, ...SORTING_OPTIONS];

const SBATCH_ARG = 'sbatch-arg';

export const spec: CommandSpec = {
  name: 'slurm',
  summary:
    'Sort recordings on a Slurm cluster: a job array sorts the blocks (one task per block), a dependent job merges them into OUT/result.spikesift with the exports spikesift sort writes. A rerun submits only the blocks that are not complete.',
  positionals: [{ name: 'RECORDING', optional: true, description: 'The raw binary file (or give --manifest).' }],
  options: [
    ...RECORDING_OPTIONS,
    ...SORTING_OPTIONS,
    { name: 'blocks', kind: 'integer', value: 'N', min: 1, required: true, description: 'Blocks per recording, one array task each (the blocks sort --blocks N uses; fewer for a recording too short for N blocks of --min-segment-length).', group: 'Slurm' },
    { name: 'out', kind: 'string', value: 'DIR', required: true, description: 'Output folder; with --manifest, each recording gets DIR/NAME. Scripts and logs go to DIR/slurm.', group: 'Slurm' },
    { name: 'manifest', kind: 'string', value: 'FILE', description: 'Sort many recordings as one array: one per line, "RECORDING [sort options] [--out NAME]" (options on the command line are the defaults; relative paths are relative to FILE; # starts a comment).', group: 'Slurm' },
    { name: 'partition', kind: 'string', value: 'P', description: 'Slurm partition (sbatch --partition) for both jobs.', group: 'Slurm' },
    { name: 'time', kind: 'string', value: 'T', description: 'Time limit per task, in a Slurm format: MIN, HH:MM:SS, D-HH:MM (sbatch --time).', group: 'Slurm' },
    { name: 'cpus-per-task', kind: 'integer', value: 'C', min: 1, description: 'CPUs per block task (sbatch --cpus-per-task); the merge job gets 1.', group: 'Slurm' },
    { name: 'mem', kind: 'string', value: 'M', description: 'Memory per task, e.g. 16G (sbatch --mem); also for the merge job.', group: 'Slurm' },
    { name: 'gres', kind: 'string', value: 'G', description: 'Generic resources per block task, e.g. gpu:1 (sbatch --gres); use with --backend webgpu or auto. The merge job needs no GPU.', group: 'Slurm' },
    { name: SBATCH_ARG, kind: 'string', value: 'ARG', description: 'Any other sbatch option for both jobs, as one word, e.g. --sbatch-arg=--account=lab; may be repeated.', group: 'Slurm' },
    { name: 'job-name', kind: 'string', value: 'NAME', description: 'Prefix of the job names (NAME-sort, NAME-merge).', defaultText: 'spikesift', group: 'Slurm' },
    { name: 'command', kind: 'string', value: 'CMD', description: 'How a compute node runs spikesift (a shell command line the arguments are appended to).', defaultText: 'this node binary and this spikesift', group: 'Slurm' },
    { name: 'dry-run', kind: 'flag', description: 'Write and print the two sbatch scripts and the commands that would submit them; submit nothing.', group: 'Slurm' },
    { name: 'wait', kind: 'flag', description: 'Wait until the merge has ended; exit 1 if any task failed (naming each failed block and its log).', group: 'Slurm' },
    { name: 'poll', kind: 'number', value: 'S', greaterThan: 0, description: 'Seconds between queue checks with --wait.', defaultText: '10', group: 'Slurm' },
  ],
  details: `Example:
  spikesift slurm data.bin --probe probe.json --sampling-frequency 30000 --dtype int16 \\
    --blocks 16 --out sorted/ --partition gpu --time 2:00:00 --cpus-per-task 4 --mem 32G --gres gpu:1 --wait
Writes sorted/slurm/sort.sbatch and sorted/slurm/merge.sbatch, submits the first as an array and the
second with --dependency=afterok on it; logs go to sorted/slurm/logs/. After a failure run the same
command again: complete blocks (checked against their checksums) are skipped.`,
};

/** One recording to sort: where its blocks go and the `sort` words its tasks run. */
interface Job {
  name: string;
  out: string;
  plan: BlockPlan;
  /** `sort RECORDING --option value ...` without --blocks, --block and --out. */
  sortWords: string[];
  /** Array task id of block 0; block I is task base + I. */
  base: number;
  pending: number[];
}

/** Words of a shell command line: whitespace separates, '...' and "..." quote, \ escapes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (inWord) words.push(cur);
  return words;
}

/** Quotes a word for bash (plain words stay readable). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_/.,:=+@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function optionWords(options: Record<string, OptionValue>, specs: OptionSpec[]): string[] {
  const words: string[] = [];
  for (const o of specs) {
    const v = options[o.name];
    if (v === undefined || v === false) continue;
    words.push(`--${o.name}`);
    if (o.kind !== 'flag') words.push(String(v));
  }
  return words;
}

/** `0-3,5,7-8` for the ids [0, 1, 2, 3, 5, 7, 8]. */
export function arrayRanges(ids: number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let k = 0; k < sorted.length; ) {
    let j = k;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === k ? String(sorted[k]) : `${sorted[k]}-${sorted[j]}`);
    k = j + 1;
  }
  return parts.join(',');
}

/** The `--sbatch-arg` words (repeatable, which parseArgs does not allow) and the rest. */
function takeSbatchArgs(argv: readonly string[]): { sbatchArgs: string[]; rest: string[] } {
  const sbatchArgs: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (w === `--${SBATCH_ARG}`) {
      if (i + 1 >= argv.length) throw new UsageError(`--${SBATCH_ARG} needs a value (one sbatch option, e.g. --${SBATCH_ARG}=--account=lab)`, 'slurm');
      sbatchArgs.push(argv[++i]);
    } else if (w.startsWith(`--${SBATCH_ARG}=`)) {
      sbatchArgs.push(w.slice(SBATCH_ARG.length + 3));
    } else {
      rest.push(w);
    }
  }
  for (const a of sbatchArgs) {
    if (!/^--?[A-Za-z]/.test(a) || /[\n\r]/.test(a)) {
      throw new UsageError(`--${SBATCH_ARG} "${a}" is not an sbatch option; give one option per --${SBATCH_ARG}, written like --account=lab`, 'slurm');
    }
  }
  return { sbatchArgs, rest };
}

/** #SBATCH lines are not parsed by a shell: paths in them must not need quoting. */
function checkDirectivePath(p: string, option: string): void {
  if (/[\s%"'\\]/.test(p)) {
    throw new UsageError(`${option} "${p}": Slurm's #SBATCH lines cannot hold spaces, quotes, backslashes or % in a path; use a folder path without them`, 'slurm');
  }
}

function checkResources(parsed: ParsedArgs): void {
  const time = optString(parsed, 'time');
  if (time !== undefined && !/^((\d+-)?\d+(:\d+){0,2}|UNLIMITED|INFINITE)$/i.test(time)) {
    throw new UsageError(`--time "${time}" is not a Slurm time limit; write MIN, MIN:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. 2:00:00)`, 'slurm');
  }
  const mem = optString(parsed, 'mem');
  if (mem !== undefined && !/^\d+[KMGT]?$/i.test(mem)) {
    throw new UsageError(`--mem "${mem}" is not a Slurm memory size; write a whole number with an optional unit K, M, G or T (e.g. 16G)`, 'slurm');
  }
  const gres = optString(parsed, 'gres');
  if (gres !== undefined && !/^[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*(,[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*)*$/.test(gres)) {
    throw new UsageError(`--gres "${gres}" is not a Slurm gres list; write NAME[:TYPE]:COUNT, e.g. gpu:1`, 'slurm');
  }
  for (const o of ['partition', 'job-name']) {
    const v = optString(parsed, o);
    if (v !== undefined && /[\s"'\\%]/.test(v)) throw new UsageError(`--${o} "${v}" must not contain spaces, quotes, backslashes or %`, 'slurm');
  }
}

/** The command compute nodes run: `node .../dist/cli/main.js` of this spikesift unless --command. */
function nodeCommand(parsed: ParsedArgs): string {
  const given = optString(parsed, 'command');
  if (given !== undefined) return given;
  const here = fileURLToPath(import.meta.url);
  const main = here.endsWith('.ts') ? path.resolve(path.dirname(here), '../../dist/cli/main.js') : path.join(path.dirname(here), 'main.js');
  if (!fs.existsSync(main)) {
    throw new UsageError(`the built command line ${main} does not exist (run npm run build), or pass --command CMD (how compute nodes run spikesift)`, 'slurm');
  }
  return `${shellQuote(process.execPath)} ${shellQuote(main)}`;
}

/** Reads the manifest: each line's words, with paths made absolute against the manifest's folder. */
function readManifest(file: string): { line: number; words: string[] }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--manifest "${file}" cannot be read: ${(e as Error).message}`, 'slurm');
  }
  const entries: { line: number; words: string[] }[] = [];
  text.split(/\r?\n/).forEach((raw, k) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    let words: string[];
    try {
      words = splitWords(trimmed);
    } catch (e) {
      throw new UsageError(`--manifest ${file} line ${k + 1}: ${(e as Error).message}`, 'slurm');
    }
    entries.push({ line: k + 1, words });
  });
  if (entries.length === 0) throw new UsageError(`--manifest ${file} lists no recordings (one per line: RECORDING [sort options] [--out NAME])`, 'slurm');
  return entries;
}

const MANIFEST_LINE_SPEC: CommandSpec = {
  name: 'slurm',
  summary: 'manifest line',
  positionals: [{ name: 'RECORDING', description: 'The raw binary file.' }],
  options: [...TASK_OPTIONS, { name: 'out', kind: 'string', value: 'NAME', description: 'Folder name under --out.' }],
};

/** Recording + sort options of one job (command line defaults, then the manifest line). */
async function makeJob(name: string, out: string, recordingFile: string, options: Record<string, OptionValue>, requested: number, where: string): Promise<Job> {
  const parsed: ParsedArgs = { positionals: [recordingFile], options };
  let sortOptions: SortOptions;
  let plan: BlockPlan;
  try {
    const rec = await recordingFromArgs(recordingFile, parsed, 'slurm');
    sortOptions = sortOptionsFrom(parsed);
    validateSortOptions(rec, sortOptions);
    plan = planBlocks(rec, sortOptions, requested).plan;
  } catch (e) {
    const err = asUsageError(e, 'slurm');
    if (err instanceof UsageError && where) throw new UsageError(`${where}: ${err.message}`, 'slurm');
    throw err;
  }
  const taskOptions: Record<string, OptionValue> = { ...options };
  if (typeof taskOptions.probe === 'string') taskOptions.probe = path.resolve(taskOptions.probe);
  return { name, out, plan, sortWords: ['sort', path.resolve(recordingFile), ...optionWords(taskOptions, TASK_OPTIONS)], base: 0, pending: [] };
}

async function buildJobs(parsed: ParsedArgs, outDir: string, requested: number): Promise<Job[]> {
  const common: Record<string, OptionValue> = {};
  for (const o of TASK_OPTIONS) if (parsed.options[o.name] !== undefined) common[o.name] = parsed.options[o.name];
  const manifest = optString(parsed, 'manifest');
  if (manifest === undefined) {
    const file = parsed.positionals[0];
    if (file === undefined) throw new UsageError('missing RECORDING (the raw binary file), or give --manifest FILE', 'slurm');
    return [await makeJob(path.basename(file), outDir, file, common, requested, '')];
  }
  if (parsed.positionals.length > 0) throw new UsageError(`give either RECORDING or --manifest, not both (got "${parsed.positionals[0]}" and --manifest ${manifest})`, 'slurm');
  const base = path.dirname(path.resolve(manifest));
  const jobs: Job[] = [];
  const names = new Map<string, number>();
  for (const { line, words } of readManifest(manifest)) {
    const where = `--manifest ${manifest} line ${line}`;
    let lineArgs: ParsedArgs;
    try {
      lineArgs = parseArgs(MANIFEST_LINE_SPEC, words);
    } catch (e) {
      throw new UsageError(`${where}: ${(e as Error).message}`, 'slurm');
    }
    const options: Record<string, OptionValue> = { ...common, ...lineArgs.options };
    delete options.out;
    if (typeof lineArgs.options.probe === 'string') options.probe = path.resolve(base, lineArgs.options.probe);
    const file = path.resolve(base, lineArgs.positionals[0]);
    const name = optString(lineArgs, 'out') ?? path.basename(file).replace(/\.[^.]*$/, '');
    if (name === '' || name.includes('/') || name === '.' || name === '..' || name === 'slurm') {
      throw new UsageError(`${where}: --out "${name}" must be a plain folder name (not "slurm", which holds the scripts)`, 'slurm');
    }
    checkDirectivePath(name, `${where}: --out`);
    if (names.has(name)) {
      throw new UsageError(`${where}: folder "${name}" is already used by line ${names.get(name)}; give one of them --out NAME`, 'slurm');
    }
    names.set(name, line);
    jobs.push(await makeJob(name, path.join(outDir, name), file, options, requested, where));
  }
  return jobs;
}

/**
 * Refuses an output folder holding block files of another sort: the merge takes every
 * block-*.spikesift there, and deleting a user's results is not ours to do.
 */
function checkForeignBlocks(job: Job): void {
  if (!fs.existsSync(job.out)) return;
  const own = new Set(Array.from({ length: job.plan.blocks }, (_, i) => blockBaseName(i, job.plan.blocks)));
  for (const entry of fs.readdirSync(job.out)) {
    const m = /^(block-\d+)\.(spikesift|json)$/.exec(entry);
    if (!m) continue;
    const file = path.join(job.out, entry);
    let foreign = !own.has(m[1]);
    if (!foreign && m[2] === 'json') {
      try {
        const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as BlockMeta;
        foreign = meta.format !== BLOCK_FORMAT || !samePlan(meta.plan, job.plan);
      } catch {
        foreign = false; // unreadable: the block is simply sorted again and the file replaced
      }
    }
    if (foreign) {
      throw new UsageError(
        `${file} is a block of another sort (other recording, options or number of blocks); the merge would mix it in. Use another --out folder, or move the old block files away`,
        'slurm',
      );
    }
  }
}

interface Scripts {
  dir: string;
  logs: string;
  sortFile: string;
  mergeFile: string;
  sort: string;
  merge: string;
  arraySpec: string;
}

function directives(lines: string[], parsed: ParsedArgs, sbatchArgs: string[], forSort: boolean): void {
  const partition = optString(parsed, 'partition');
  const time = optString(parsed, 'time');
  const mem = optString(parsed, 'mem');
  const cpus = optNumber(parsed, 'cpus-per-task');
  const gres = optString(parsed, 'gres');
  if (partition) lines.push(`#SBATCH --partition=${partition}`);
  if (time) lines.push(`#SBATCH --time=${time}`);
  lines.push(`#SBATCH --cpus-per-task=${forSort ? (cpus ?? 1) : 1}`);
  if (mem) lines.push(`#SBATCH --mem=${mem}`);
  if (forSort && gres) lines.push(`#SBATCH --gres=${gres}`);
  for (const a of sbatchArgs) lines.push(`#SBATCH ${a}`);
}

function scriptHead(lines: string[], command: string): void {
  lines.push(
    'set -u',
    '',
    '# How this node runs spikesift (spikesift slurm --command changes it).',
    `run_spikesift() { ${command} "$@"; }`,
  );
}

function buildScripts(jobs: Job[], outDir: string, parsed: ParsedArgs, sbatchArgs: string[], command: string, rerun: string): Scripts {
  const dir = path.join(outDir, 'slurm');
  const logs = path.join(dir, 'logs');
  const jobName = optString(parsed, 'job-name') ?? 'spikesift';
  const total = jobs.reduce((n, j) => n + j.plan.blocks, 0);
  const pending = jobs.flatMap((j) => j.pending.map((b) => j.base + b));
  // With nothing missing the script is not submitted; written for all blocks, it re-sorts them by hand.
  const arraySpec = pending.length > 0 ? arrayRanges(pending) : `0-${total - 1}`;
  const what = jobs.length === 1 ? `${jobs[0].sortWords[1]} as ${jobs[0].plan.blocks} block(s)` : `${jobs.length} recordings as ${total} blocks in all`;

  const s: string[] = [
    '#!/bin/bash',
    `# spikesift: sorts ${what}, one array task per block.`,
    '# Task T sorts one block into its folder as block-I.spikesift (+ block-I.json); the merge',
    `# job (merge.sbatch, submitted with --dependency=afterok on this array) joins them.`,
    pending.length > 0
      ? `# This submission runs the tasks not yet complete: --array=${arraySpec} of 0-${total - 1}.`
      : `# Every block was complete when this was written, so spikesift slurm submitted only the merge.`,
    '# After a failure, rerun (complete blocks are skipped, only the rest is resubmitted):',
    `#   ${rerun}`,
    `#SBATCH --job-name=${jobName}-sort`,
    `#SBATCH --array=${arraySpec}`,
    `#SBATCH --output=${logs}/sort-%A_%a.log`,
  ];
  directives(s, parsed, sbatchArgs, true);
  scriptHead(s, command);
  s.push(
    '',
    'task="${SLURM_ARRAY_TASK_ID:?this is a Slurm array job: submit it with sbatch --array=...}"',
    `log="${logs}/sort-\${SLURM_ARRAY_JOB_ID}_\${task}.log"`,
  );
  jobs.forEach((j, k) => {
    const test = `[ "$task" -ge ${j.base} ] && [ "$task" -lt ${j.base + j.plan.blocks} ]`;
    s.push(`${k === 0 ? 'if' : 'elif'} ${test}; then`);
    s.push(`  name=${shellQuote(j.name)}; blocks=${j.plan.blocks}; block=$((task - ${j.base}))`);
    s.push(`  set -- ${j.sortWords.map(shellQuote).join(' ')} --blocks ${j.plan.blocks} --block "$block" --out ${shellQuote(j.out)}`);
  });
  s.push(
    'else',
    `  echo "spikesift: array task $task is not a block of this script (tasks 0-${total - 1})" >&2`,
    '  exit 2',
    'fi',
    '',
    'echo "spikesift: array task $task: block $block of $blocks of $name on $(hostname) at $(date -u +%FT%TZ)"',
    'run_spikesift "$@"',
    'status=$?',
    'if [ "$status" -ne 0 ]; then',
    '  echo "spikesift: FAILED: block $block of $blocks of $name (array task $task, exit status $status); log: $log" >&2',
    `  echo "spikesift: rerun the blocks still missing (complete ones are skipped): ${rerun.replace(/["$`\\]/g, '\\$&')}" >&2`,
    'fi',
    'exit "$status"',
    '',
  );

  const m: string[] = [
    '#!/bin/bash',
    `# spikesift: merges the blocks of ${jobs.length === 1 ? jobs[0].sortWords[1] : `${jobs.length} recordings`} into result.spikesift, phy/,`,
    '# spikeinterface/, summary.json and recording.json (what spikesift sort --out writes).',
    '# Submitted with --dependency=afterok:<sort array> --kill-on-invalid-dep=yes, so it runs only',
    '# when every block task succeeded; merge itself refuses an incomplete set of blocks.',
    `#SBATCH --job-name=${jobName}-merge`,
  ];
  if (jobs.length > 1) m.push(`#SBATCH --array=0-${jobs.length - 1}`, `#SBATCH --output=${logs}/merge-%A_%a.log`);
  else m.push(`#SBATCH --output=${logs}/merge-%j.log`);
  directives(m, parsed, sbatchArgs, false);
  scriptHead(m, command);
  m.push('');
  if (jobs.length === 1) {
    m.push(`out=${shellQuote(jobs[0].out)}`);
  } else {
    m.push('task="${SLURM_ARRAY_TASK_ID:?this is a Slurm array job: submit it with sbatch}"');
    jobs.forEach((j, k) => m.push(`${k === 0 ? 'if' : 'elif'} [ "$task" -eq ${k} ]; then`, `  out=${shellQuote(j.out)}`));
    m.push('else', `  echo "spikesift: merge task $task is not one of this script's (0-${jobs.length - 1})" >&2`, '  exit 2', 'fi');
  }
  m.push(
    '',
    'echo "spikesift: merging the blocks in $out on $(hostname) at $(date -u +%FT%TZ)"',
    // --overwrite: a rerun of the merge replaces the result of the previous one.
    `run_spikesift merge "$out"/block-*.spikesift --out "$out/${RESULT_FILE}" --overwrite`,
    'status=$?',
    `[ "$status" -ne 0 ] && echo "spikesift: FAILED: merging $out (exit status $status); rerun: ${rerun.replace(/["$`\\]/g, '\\$&')}" >&2`,
    'exit "$status"',
    '',
  );
  return { dir, logs, sortFile: path.join(dir, 'sort.sbatch'), mergeFile: path.join(dir, 'merge.sbatch'), sort: s.join('\n'), merge: m.join('\n'), arraySpec };
}

function sbatch(args: string[]): { ok: true; id: string } | { ok: false; message: string } {
  const r = spawnSync('sbatch', ['--parsable', ...args], { encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, message: missing ? 'sbatch was not found on PATH (run this on a Slurm login node, or use --dry-run to get the scripts)' : r.error.message };
  }
  if (r.status !== 0) return { ok: false, message: `sbatch exited with status ${r.status}: ${(r.stderr || r.stdout).trim()}` };
  const id = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) return { ok: false, message: `sbatch printed "${r.stdout.trim()}", not a job id` };
  return { ok: true, id };
}

const ACTIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);

/**
 * State of each job or array task of `ids` (keys like 12 or 12_3); an empty map once Slurm has
 * forgotten them; undefined when squeue itself failed (try again later).
 */
function queueStates(ids: string[]): Map<string, { state: string; reason: string }> | undefined {
  const r = spawnSync('squeue', ['-h', '-r', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%r'], { encoding: 'utf8' });
  const out = new Map<string, { state: string; reason: string }>();
  if (r.error) return undefined;
  if (r.status !== 0) return /invalid job id/i.test(r.stderr) ? out : undefined;
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && state) out.set(id, { state, reason: reason ?? '' });
  }
  return out;
}

/** DIR/slurm/submitted.json: the jobs of the last submission, so a rerun can see them. */
const SUBMITTED_FILE = 'submitted.json';

/** Jobs of the previous submission still queued or running (their tasks would race a rerun's). */
function previousJobsActive(scriptDir: string): string[] {
  let ids: string[];
  try {
    const last = JSON.parse(fs.readFileSync(path.join(scriptDir, SUBMITTED_FILE), 'utf8')) as { sort?: string; merge?: string };
    ids = [last.sort, last.merge].filter((x): x is string => typeof x === 'string' && /^\d+$/.test(x));
  } catch {
    return [];
  }
  if (ids.length === 0) return [];
  const states = queueStates(ids);
  if (!states) return [];
  return [...new Set([...states].filter(([, st]) => ACTIVE.has(st.state)).map(([id]) => id.split('_')[0]))].sort((a, b) => Number(a) - Number(b));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(the log is not there)';
  }
}

/** Waits for the array and the merge to leave the queue, then reports from the outputs. */
async function waitFor(jobs: Job[], scripts: Scripts, sortId: string | undefined, mergeId: string, pollMs: number, rerun: string, startedAt: number, io: CliIO): Promise<number> {
  const ids = sortId ? [sortId, mergeId] : [mergeId];
  let last = '';
  let final = new Map<string, { state: string; reason: string }>();
  let squeueFailures = 0;
  for (;;) {
    const states = queueStates(ids);
    if (states === undefined) {
      // A busy or restarting controller is not the end of the jobs; give up only if it lasts.
      if (++squeueFailures === 1) io.err('note: squeue failed; retrying');
      if (squeueFailures > 60) {
        io.err(`squeue kept failing; check the jobs with squeue -j ${ids.join(',')} and rerun: ${rerun}`);
        return 1;
      }
      await sleep(pollMs);
      continue;
    }
    squeueFailures = 0;
    final = states;
    const active = [...states.values()].filter((s) => ACTIVE.has(s.state)).length;
    const counts = new Map<string, number>();
    for (const s of states.values()) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
    const line = [...counts].map(([k, v]) => `${v} ${k.toLowerCase()}`).join(', ');
    if (line !== last && line !== '') {
      io.err(`waiting for jobs ${ids.join(', ')}: ${line}`);
      last = line;
    }
    if (active === 0) break;
    await sleep(pollMs);
  }
  const failed: string[] = [];
  for (const j of jobs) {
    for (const b of j.pending) {
      const check = await checkBlock(j.out, j.plan, b);
      if (check.ok) continue;
      const log = sortId ? path.join(scripts.logs, `sort-${sortId}_${j.base + b}.log`) : '';
      failed.push(`block ${b} of ${j.plan.blocks} of ${j.name} failed (${check.reason}); log: ${log}\n${tail(log, 4).replace(/^/gm, '    ')}`);
    }
  }
  const unmerged = jobs.filter((j, k) => {
    const file = path.join(j.out, RESULT_FILE);
    if (!fs.existsSync(file) || !fs.existsSync(path.join(j.out, 'summary.json'))) return true;
    const merge = final.get(jobs.length > 1 ? `${mergeId}_${k}` : mergeId);
    if (merge) return merge.state !== 'COMPLETED';
    // Slurm has forgotten the merge: a result older than this submission is from an earlier run.
    return fs.statSync(file).mtimeMs < startedAt;
  });
  if (failed.length > 0) {
    io.err(`${failed.length} block task(s) failed, so nothing was merged:\n  ${failed.join('\n  ')}`);
    io.err(`rerun to sort only the missing blocks and merge: ${rerun}`);
    return 1;
  }
  if (unmerged.length > 0) {
    const log = path.join(scripts.logs, jobs.length > 1 ? `merge-${mergeId}_*.log` : `merge-${mergeId}.log`);
    io.err(`all blocks are complete but the merge did not write ${unmerged.map((j) => path.join(j.out, RESULT_FILE)).join(', ')}; see ${log}, then rerun: ${rerun}`);
    return 1;
  }
  for (const j of jobs) io.out(`done: ${path.join(j.out, RESULT_FILE)} (${j.plan.blocks} blocks merged)`);
  return 0;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const startedAt = Date.now();
  const { sbatchArgs, rest } = takeSbatchArgs(argv);
  const parsed = parseArgs(spec, rest);
  checkResources(parsed);
  const outDir = path.resolve(optString(parsed, 'out')!);
  checkDirectivePath(outDir, '--out');
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new UsageError(`--out "${outDir}" exists and is not a folder`, 'slurm');
  const requested = optNumber(parsed, 'blocks')!;
  const command = nodeCommand(parsed);
  const dryRun = optFlag(parsed, 'dry-run');
  if (dryRun && optFlag(parsed, 'wait')) throw new UsageError('--wait has nothing to wait for with --dry-run; leave one of them out', 'slurm');

  const jobs = await buildJobs(parsed, outDir, requested);
  let base = 0;
  for (const j of jobs) {
    j.base = base;
    base += j.plan.blocks;
    checkForeignBlocks(j);
    if (j.plan.blocks < requested) io.err(`note: ${j.name} is long enough for ${j.plan.blocks} block(s) of at least --min-segment-length, not ${requested}`);
    for (let b = 0; b < j.plan.blocks; b++) {
      const check = await checkBlock(j.out, j.plan, b);
      if (!check.ok) j.pending.push(b);
    }
  }
  const total = base;
  const pending = jobs.reduce((n, j) => n + j.pending.length, 0);
  // Relative paths in the command line are relative to this folder, so the rerun goes there first.
  const rerunWords = ['spikesift', 'slurm', ...argv.filter((w) => w !== '--dry-run')];
  const rerun = `cd ${shellQuote(process.cwd())} && ${rerunWords.map(shellQuote).join(' ')}`;
  if (optString(parsed, 'gres')?.startsWith('gpu') && optString(parsed, 'backend') === 'cpu') {
    io.err('note: --gres asks for a GPU but --backend cpu will not use it; use --backend auto or webgpu');
  }
  const scripts = buildScripts(jobs, outDir, parsed, sbatchArgs, command, rerun);

  const active = previousJobsActive(scripts.dir);
  if (active.length > 0 && !dryRun) {
    throw new UsageError(
      `jobs ${active.join(', ')} of the previous submission into ${outDir} are still queued or running; a rerun now would sort their blocks twice. ` +
        `Wait for them (squeue -j ${active.join(',')}) or cancel them (scancel ${active.join(' ')}), then run this again`,
      'slurm',
    );
  }
  fs.mkdirSync(scripts.logs, { recursive: true });
  writeFileAtomic(scripts.sortFile, scripts.sort);
  writeFileAtomic(scripts.mergeFile, scripts.merge);
  const complete = total - pending;
  const status = `${total} block(s), ${complete} already complete, ${pending} to sort`;

  if (dryRun) {
    io.out(`# spikesift slurm --dry-run: nothing was submitted (${status}).`);
    io.out(`# The scripts are also in ${scripts.dir}; to submit them by hand:`);
    if (pending > 0) {
      io.out(`#   jobid=$(sbatch --parsable ${scripts.sortFile})`);
      io.out(`#   sbatch --dependency=afterok:$jobid --kill-on-invalid-dep=yes ${scripts.mergeFile}`);
    } else {
      io.out(`#   sbatch ${scripts.mergeFile}`);
    }
    io.out(`# ---- ${scripts.sortFile}`);
    io.out(scripts.sort);
    io.out(`# ---- ${scripts.mergeFile}`);
    io.out(scripts.merge);
    return 0;
  }

  let sortId: string | undefined;
  if (pending > 0) {
    const r = sbatch([scripts.sortFile]);
    if (!r.ok) {
      io.err(`spikesift slurm: the sort array was not submitted: ${r.message}`);
      if (/array/i.test(r.message)) {
        io.err(`note: the array's task ids go up to ${total - 1}; a cluster's MaxArraySize (scontrol show config) may be lower: use fewer --blocks or split the manifest`);
      }
      return 1;
    }
    sortId = r.id;
    io.out(`submitted sort array ${sortId} (tasks ${scripts.arraySpec}; ${status}); logs: ${path.join(scripts.logs, `sort-${sortId}_<task>.log`)}`);
  } else {
    io.out(`all ${total} block(s) are complete; submitting the merge only`);
  }
  const mergeArgs = sortId ? [`--dependency=afterok:${sortId}`, '--kill-on-invalid-dep=yes', scripts.mergeFile] : [scripts.mergeFile];
  const m = sbatch(mergeArgs);
  writeFileAtomic(path.join(scripts.dir, SUBMITTED_FILE), JSON.stringify({ sort: sortId, merge: m.ok ? m.id : undefined, at: new Date().toISOString() }, null, 2) + '\n');
  if (!m.ok) {
    io.err(`spikesift slurm: the merge job was not submitted: ${m.message}`);
    if (sortId) io.err(`the sort array ${sortId} is queued; submit the merge by hand: sbatch --dependency=afterok:${sortId} --kill-on-invalid-dep=yes ${scripts.mergeFile}`);
    return 1;
  }
  const mergeLog = path.join(scripts.logs, jobs.length > 1 ? `merge-${m.id}_<task>.log` : `merge-${m.id}.log`);
  io.out(`submitted merge job ${m.id}${sortId ? ` (runs after array ${sortId} succeeds)` : ''}; log: ${mergeLog}`);
  for (const j of jobs) io.out(`result: ${path.join(j.out, RESULT_FILE)}`);
  if (!optFlag(parsed, 'wait')) return 0;
  return waitFor(jobs, scripts, sortId, m.id, Math.round((optNumber(parsed, 'poll') ?? 10) * 1000), rerun, startedAt, io);
}

export const command: Command = { spec, run };
