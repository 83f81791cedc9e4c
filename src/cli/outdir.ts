// Output folders that never lose work. A command writes everything into a staging folder
// beside its output (same file system) and moves it into place only when all of it has been
// written, so a failed or interrupted run leaves the previous output as it was. An output that
// already holds a previous result is refused unless --overwrite is given; with it, the files
// spikesift wrote are replaced, its own stale files (a report of the previous result) are
// removed, and the files it did not write (Phy's curation: cluster_*.tsv edited in Phy, its
// .phy/ cache, phy.log, anything else in phy/) are moved into OUT/kept-<time>/ and listed,
// because beside the new result they would describe the previous result's clusters.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError, type CliIO } from './args.js';

/** What a folder holds: a sort output (result, phy/, spikeinterface/, ...), or one export. */
export type OutputKind = 'sort' | 'phy' | 'spikeinterface';

/** Files exportPhy writes (src/export/phy.ts); anything else in a Phy folder is Phy's or the user's. */
export const PHY_FILES = new Set([
  'params.py', 'spike_times.npy', 'spike_templates.npy', 'spike_clusters.npy', 'amplitudes.npy', 'templates.npy',
  'channel_map.npy', 'channel_positions.npy', 'similar_templates.npy', 'whitening_mat.npy', 'whitening_mat_inv.npy',
  'cluster_group.tsv', 'cluster_spikesift_id.tsv', 'ops.npy', 'pc_features.npy', 'pc_feature_ind.npy',
]);
/** Files exportSpikeInterface writes. */
export const SPIKEINTERFACE_FILES = new Set(['spikes.npy', 'numpysorting_info.json', 'properties', 'si_folder.json', 'provenance.json']);
/** Top-level entries of a sort folder that spikesift writes (report.html: `spikesift report DIR --out DIR/report.html`). */
export const SORT_FILES = new Set(['result.spikesift', 'recording.json', 'summary.json', 'phy', 'spikeinterface', 'report.html']);

/** The mark of a previous result in a folder of this kind. */
function holdsResult(dir: string, kind: OutputKind): boolean {
  const has = (name: string) => fs.existsSync(path.join(dir, name));
  if (kind === 'phy') return has('params.py') || has('spike_times.npy');
  if (kind === 'spikeinterface') return has('spikes.npy') || has('numpysorting_info.json');
  return ['result.spikesift', 'summary.json', 'recording.json', 'phy', 'spikeinterface'].some(has) ||
    fs.readdirSync(dir).some((n) => n.endsWith('.spikesift') && !n.startsWith('block-'));
}

/** True when cluster_group.tsv still says what exportPhy wrote (every cluster "unsorted"). */
function uncuratedGroups(file: string): boolean {
  try {
    const rows = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
    return rows.every((r) => r.split('\t')[1]?.trim() === 'unsorted');
  } catch {
    return false;
  }
}

/** Entries of a Phy folder that spikesift did not write (or that Phy has changed), with why each is kept. */
export function userPhyEntries(dir: string): { name: string; why: string }[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  const out: { name: string; why: string }[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (name === 'cluster_group.tsv') {
      if (!uncuratedGroups(path.join(dir, name))) out.push({ name, why: 'curated cluster labels' });
    } else if (name === '.phy') out.push({ name: '.phy/', why: "Phy's cache" });
    else if (/^cluster_.*\.tsv$/.test(name) && !PHY_FILES.has(name)) out.push({ name, why: 'Phy cluster table' });
    else if (!PHY_FILES.has(name)) out.push({ name, why: name === 'phy.log' ? "Phy's log" : 'not written by spikesift' });
  }
  return out;
}

function timeStamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

/**
 * One output folder being written. Write into `staging`; `commit()` moves it into place and
 * returns what it did (lines to print); `abort()` removes the staging folder.
 */
export class OutputFolder {
  readonly staging: string;
  private done = false;

  constructor(readonly dir: string, readonly kind: OutputKind, readonly previous: boolean) {
    const abs = path.resolve(dir);
    this.staging = path.join(path.dirname(abs), `.${path.basename(abs)}.spikesift-partial-${process.pid}`);
    fs.rmSync(this.staging, { recursive: true, force: true });
    fs.mkdirSync(this.staging, { recursive: true });
  }

  /** Moves the staged files into `dir`; returns one line per thing replaced, kept or removed. */
  commit(): string[] {
    const notes: string[] = [];
    const dir = path.resolve(this.dir);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      fs.renameSync(this.staging, dir);
      this.done = true;
      return notes;
    }
    if (this.previous) {
      const phyDir = this.kind === 'phy' ? dir : this.kind === 'sort' ? path.join(dir, 'phy') : null;
      const kept = phyDir ? userPhyEntries(phyDir) : [];
      if (kept.length > 0) {
        const keptDir = path.join(dir, `kept-${timeStamp()}`);
        const sub = this.kind === 'sort' ? 'phy' : '';
        fs.mkdirSync(path.join(keptDir, sub), { recursive: true });
        for (const k of kept) fs.renameSync(path.join(phyDir!, k.name.replace(/\/$/, '')), path.join(keptDir, sub, k.name.replace(/\/$/, '')));
        notes.push(
          `kept your files from the previous result in ${keptDir}${path.sep}: ${kept.map((k) => `${path.join(sub, k.name)} (${k.why})`).join(', ')}; ` +
            'they describe the previous result\'s clusters (copy them back into phy/ only if the clusters are the same)',
        );
      }
      const own = this.kind === 'sort' ? SORT_FILES : this.kind === 'phy' ? PHY_FILES : SPIKEINTERFACE_FILES;
      const staged = new Set(fs.readdirSync(this.staging));
      for (const name of fs.readdirSync(dir)) {
        const isOwn = own.has(name) || (this.kind === 'sort' && name.endsWith('.spikesift') && !name.startsWith('block-'));
        if (!isOwn) continue;
        fs.rmSync(path.join(dir, name), { recursive: true, force: true });
        if (!staged.has(name)) notes.push(`removed ${path.join(this.dir, name)} (it described the previous result)`);
      }
      notes.unshift(`replaced the previous result in ${this.dir} (--overwrite)`);
    }
    for (const name of fs.readdirSync(this.staging)) {
      const target = path.join(dir, name);
      if (fs.existsSync(target)) fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(path.join(this.staging, name), target);
    }
    fs.rmSync(this.staging, { recursive: true, force: true });
    this.done = true;
    return notes;
  }

  /** Removes the staging folder of an unfinished write (the output stays as it was). */
  abort(): void {
    if (!this.done) fs.rmSync(this.staging, { recursive: true, force: true });
  }
}

export interface OutputCheck {
  /** --overwrite was given. */
  overwrite: boolean;
  /** The option that names the output, for messages. */
  option?: string;
  /** Input files and folders: the output must not be the folder that holds them. */
  inputs?: string[];
}

/**
 * Checks an output folder and returns an OutputFolder to write into. Refuses a path that is a
 * file, the folder of an input, or a folder with a previous result (without --overwrite).
 */
export function openOutputFolder(dir: string, kind: OutputKind, command: string, check: OutputCheck): OutputFolder {
  const option = check.option ?? '--out';
  const abs = path.resolve(dir);
  for (const input of check.inputs ?? []) {
    const inAbs = path.resolve(input);
    const inputDir = fs.existsSync(inAbs) && fs.statSync(inAbs).isDirectory() ? inAbs : path.dirname(inAbs);
    if (abs === inputDir) {
      throw new UsageError(`${option} "${dir}" is the folder of the input ${input}; spikesift does not write next to its input: pass a new folder, e.g. ${option} ${path.join(dir, `${command}-out`)}`, command);
    }
  }
  let previous = false;
  if (fs.existsSync(abs)) {
    if (!fs.statSync(abs).isDirectory()) throw new UsageError(`${option} "${dir}" exists and is not a folder; pass a folder`, command);
    previous = holdsResult(abs, kind);
    if (previous && !check.overwrite) {
      const what = kind === 'sort' ? 'a previous result' : kind === 'phy' ? 'a previous Phy export' : 'a previous SpikeInterface export';
      const curated = userPhyEntries(kind === 'phy' ? abs : path.join(abs, 'phy'));
      throw new UsageError(
        `${option} "${dir}" already holds ${what}; pass another folder, or add --overwrite to replace it` +
          (curated.length ? ` (your ${curated.map((c) => c.name).join(', ')} in ${kind === 'phy' ? dir : path.join(dir, 'phy')} would be moved into ${path.join(dir, 'kept-<time>')}, not deleted)` : ''),
        command,
      );
    }
  }
  return new OutputFolder(dir, kind, previous);
}

/**
 * Writes one output file (a report) atomically: `write` gets a temp path beside `file`, which
 * is renamed over `file` when it is complete. An existing file is replaced only with --overwrite.
 */
export async function writeOutputFile(file: string, command: string, check: OutputCheck, write: (tmp: string) => void | Promise<void>): Promise<string[]> {
  const option = check.option ?? '--out';
  const abs = path.resolve(file);
  for (const input of check.inputs ?? []) {
    if (path.resolve(input) === abs) throw new UsageError(`${option} "${file}" is the input ${input}; pass another file name`, command);
  }
  let existed = false;
  if (fs.existsSync(abs)) {
    if (fs.statSync(abs).isDirectory()) throw new UsageError(`${option} "${file}" is a folder; pass a file name such as ${path.join(file, 'report.html')}`, command);
    if (!check.overwrite) throw new UsageError(`${option} "${file}" already exists; pass another file name, or add --overwrite to replace it`, command);
    existed = true;
  }
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.spikesift-partial-${process.pid}`);
  try {
    await write(tmp);
    fs.renameSync(tmp, abs);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return existed ? [`replaced ${file} (--overwrite)`] : [];
}

/** The --overwrite switch, shared by every command that writes an output. */
export const OVERWRITE_OPTION = {
  name: 'overwrite', kind: 'flag' as const, group: 'Output',
  description: 'Replace a previous result in the output (spikesift\'s own files are replaced once the new ones are complete; files it did not write, such as Phy curation, are moved into OUT/kept-<time>/ and listed). Without it an output that holds a previous result is refused.',
};

/** Prints what commit() did. */
export function reportNotes(io: CliIO, notes: string[]): void {
  for (const n of notes) io.err(`note: ${n}`);
}
