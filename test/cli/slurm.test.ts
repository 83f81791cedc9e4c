// spikesift slurm on a real one-node Slurm cluster (scripts/slurm-local.sh, started and stopped
// here): a generated recording sorted as 4 array tasks and merged by the dependent job must
// equal sort --blocks 4 byte for byte; a failing block is named with its log, nothing is
// merged, and the rerun sorts only that block. Skips (saying why) where Slurm is not installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { tempDir } from '../export/helpers.js';
import { cli } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const clusterScript = path.join(repo, 'scripts', 'slurm-local.sh');

function whySkip(): string | undefined {
  if (process.platform !== 'linux') return 'Slurm tests need Linux';
  if (process.getuid?.() !== 0) return 'the local Slurm cluster needs root (slurmd, munged)';
  const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'munged'].filter(
    (exe) => spawnSync('sh', ['-c', `command -v ${exe} || test -x /usr/sbin/${exe}`]).status !== 0,
  );
  if (missing.length > 0) return `Slurm is not installed (missing ${missing.join(', ')}; apt-get install slurmctld slurmd slurm-client munge)`;
  return undefined;
}
const skip = whySkip();
if (skip) console.log(`[slurm tests] skipped: ${skip}`);

/** How the compute node runs spikesift: the built CLI when it is current, else the sources. */
function nodeCommand(): string {
  const built = path.join(repo, 'dist', 'cli', 'slurm.js');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((t, e) => Math.max(t, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= newest(path.join(repo, 'src'))) {
    return `${process.execPath} ${path.join(repo, 'dist', 'cli', 'main.js')}`;
  }
  console.log('[slurm tests] dist/ is missing or older than src/; the tasks run the TypeScript sources (slower; npm run build avoids it)');
  return `${process.execPath} --import ${path.join(repo, 'scripts', 'ts-loader.mjs')} ${path.join(repo, 'src', 'cli', 'main.ts')}`;
}

let root: string;
let cluster: string;
let gen: GeneratedRecording;
let local: string;
let env: NodeJS.ProcessEnv;
let command: string;
const savedConf = process.env.SLURM_CONF;

const recordingArgs = (): string[] => [
  '--probe', gen.probeFile,
  '--sampling-frequency', String(gen.samplingFrequency),
  '--dtype', gen.dataType,
  '--detection-polarity', String(gen.detectionPolarity),
  '--min-segment-length', '0.5',
  '--backend', 'cpu',
];

/** `spikesift slurm RECORDING ... --blocks 4` against the test cluster (SLURM_CONF is set). */
function slurm(...args: string[]) {
  return cli('slurm', gen.binaryFile, ...recordingArgs(), '--blocks', '4', '--command', command, '--poll', '0.5', ...args);
}

const bytes = (...p: string[]) => fs.readFileSync(path.join(...p));

/** The local reference, `sort --blocks N`, run by the same spikesift the tasks run. */
function localSort(...args: (string | number)[]): void {
  const r = spawnSync('bash', ['-c', `${command} "$@"`, 'spikesift', 'sort', gen.binaryFile, ...recordingArgs(), '--quiet', ...args.map(String)], { encoding: 'utf8', timeout: 90_000 });
  expect(r.status, r.stderr).toBe(0);
}

function sameAsLocal(dir: string): void {
  expect(bytes(dir, 'result.spikesift').equals(bytes(local, 'result.spikesift'))).toBe(true);
  for (const f of ['spike_times.npy', 'spike_clusters.npy', 'amplitudes.npy']) {
    expect(bytes(dir, 'phy', f).equals(bytes(local, 'phy', f)), f).toBe(true);
  }
  for (const f of ['summary.json', 'recording.json']) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
  expect(fs.readdirSync(path.join(dir, 'spikeinterface')).sort()).toEqual(fs.readdirSync(path.join(local, 'spikeinterface')).sort());
}

describe.skipIf(skip !== undefined)('spikesift slurm on a local Slurm cluster', () => {
  beforeAll(async () => {
    root = tempDir('spikesift-slurm-');
    cluster = path.join(root, 'cluster');
    const started = spawnSync('bash', [clusterScript, 'start', cluster], { encoding: 'utf8', timeout: 60_000 });
    expect(started.status, `${started.stdout}\n${started.stderr}`).toBe(0);
    env = { ...process.env, SLURM_CONF: path.join(cluster, 'slurm.conf') };
    // sbatch and squeue, run by the command under test, find the cluster through it.
    process.env.SLURM_CONF = env.SLURM_CONF;
    command = nodeCommand();
    // Dense, clear units, so that the byte equality is over hundreds of sorted spikes.
    gen = await generateRecording({ out: path.join(root, 'gen'), preset: 'linear32', duration: 4, seed: 3, numUnits: 8, firingRateRange: [10, 30], snrRange: [6, 20], drift: { rate: 2 } });
    local = path.join(root, 'local');
    localSort('--blocks', 4, '--out', local);
    expect(JSON.parse(fs.readFileSync(path.join(local, 'summary.json'), 'utf8')).blocks).toBe(4);
    const saved = await SortedRecording.load(path.join(local, 'result.spikesift'));
    expect(saved.segments.reduce((n, seg) => n + seg.spikes.reduce((m, t) => m + t.length, 0), 0)).toBeGreaterThan(300);
  });
  afterAll(() => {
    if (savedConf === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = savedConf;
    if (cluster) spawnSync('bash', [clusterScript, 'stop', cluster], { stdio: 'inherit', timeout: 60_000 });
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('--dry-run writes scripts sbatch accepts and submits nothing', async () => {
    const out = path.join(root, 'dry');
    const r = await slurm('--out', out, '--time', '10:00', '--mem', '1G', '--dry-run');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/nothing was submitted \(4 block\(s\), 0 already complete, 4 to sort\)/);
    expect(r.out).toContain('#SBATCH --array=0-3');
    const sortScript = path.join(out, 'slurm', 'sort.sbatch');
    expect(r.out).toContain(fs.readFileSync(sortScript, 'utf8'));
    for (const f of ['sort.sbatch', 'merge.sbatch']) {
      const syntax = spawnSync('bash', ['-n', path.join(out, 'slurm', f)], { encoding: 'utf8' });
      expect(syntax.status, syntax.stderr).toBe(0);
    }
    const test = spawnSync('sbatch', ['--test-only', sortScript], { env, encoding: 'utf8' });
    expect(test.status, test.stderr).toBe(0);
    expect(test.stderr).toMatch(/to start at/);
    const queue = spawnSync('squeue', ['-h', '-t', 'all', '-o', '%i'], { env, encoding: 'utf8' });
    expect(queue.stdout.trim()).toBe('');
    expect(fs.existsSync(path.join(out, 'block-000.spikesift'))).toBe(false);
  });

  it('sorts 4 blocks as an array and merges them; the result equals sort --blocks 4 byte for byte', async () => {
    const out = path.join(root, 'slurm');
    const r = await slurm('--out', out, '--wait');
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.out).toMatch(/submitted sort array \d+ \(tasks 0-3; 4 block\(s\), 0 already complete, 4 to sort\)/);
    expect(r.out).toMatch(/submitted merge job \d+ \(runs after array \d+ succeeds\); log: .*merge-\d+\.log/);
    sameAsLocal(out);
    const logs = fs.readdirSync(path.join(out, 'slurm', 'logs'));
    const sortLogs = logs.filter((f) => /^sort-\d+_[0-3]\.log$/.test(f));
    expect(sortLogs).toHaveLength(4);
    // The script asks for one CPU per task, and the task keeps to it.
    expect(fs.readFileSync(path.join(out, 'slurm', 'logs', sortLogs[0]), 'utf8')).toMatch(/within the Slurm job's share: 1 thread\(s\)/);
  });

  it('names a failed block and its log, merges nothing, and the rerun sorts only that block', async () => {
    const out = path.join(root, 'failing');
    // A folder where block 2's result must go: that task cannot save, the others can.
    fs.mkdirSync(path.join(out, 'block-002.spikesift'), { recursive: true });
    const r = await slurm('--out', out, '--wait');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/1 block task\(s\) failed, so nothing was merged/);
    const m = /block 2 of 4 of recording\.bin failed .*; log: (\S+sort-(\d+)_2\.log)/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    const log = fs.readFileSync(m![1], 'utf8');
    expect(log).toMatch(/FAILED: block 2 of 4 of recording\.bin \(array task 2, exit status 1\)/);
    expect(log).toMatch(/EISDIR/);
    expect(log).toContain(`cd ${process.cwd()} && spikesift slurm`);
    expect(r.err).toMatch(/rerun to sort only the missing blocks and merge: cd .* spikesift slurm/);
    expect(fs.existsSync(path.join(out, 'result.spikesift'))).toBe(false);
    const before = [0, 1, 3].map((i) => fs.statSync(path.join(out, `block-00${i}.spikesift`)).mtimeMs);

    fs.rmdirSync(path.join(out, 'block-002.spikesift'));
    const again = await slurm('--out', out, '--wait');
    expect(again.code, `${again.out}\n${again.err}`).toBe(0);
    expect(again.out).toMatch(/\(tasks 2; 4 block\(s\), 3 already complete, 1 to sort\)/);
    expect([0, 1, 3].map((i) => fs.statSync(path.join(out, `block-00${i}.spikesift`)).mtimeMs)).toEqual(before);
    sameAsLocal(out);

    // Once everything is complete, a rerun sorts nothing and only merges again.
    const third = await slurm('--out', out, '--wait');
    expect(third.code, `${third.out}\n${third.err}`).toBe(0);
    expect(third.out).toMatch(/all 4 block\(s\) are complete; submitting the merge only/);
    expect(third.out).not.toMatch(/submitted sort array/);
    sameAsLocal(out);
  });

  it('refuses a rerun while the previous submission is still queued', async () => {
    const out = path.join(root, 'held');
    const first = await slurm('--out', out, '--sbatch-arg=--hold');
    expect(first.code, first.err).toBe(0);
    const ids = [...first.out.matchAll(/submitted (?:sort array|merge job) (\d+)/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    try {
      const again = await slurm('--out', out);
      expect(again.code).toBe(2);
      expect(again.err).toContain(`jobs ${ids.join(', ')} of the previous submission into ${out} are still queued or running`);
      expect(again.err).toContain(`scancel ${ids.join(' ')}`);
    } finally {
      spawnSync('scancel', ids, { env });
    }
    expect(fs.readdirSync(out).filter((f) => f.startsWith('block-'))).toEqual([]);
  });

  it('a manifest sorts several recordings in one array, each into its own folder', async () => {
    const manifest = path.join(root, 'manifest.txt');
    // Two 1-s pieces of the file (2 blocks each), the second named relative to the manifest.
    fs.writeFileSync(manifest, [
      '# two recordings',
      `${gen.binaryFile} --num-samples 30000 --out first`,
      `${path.relative(root, gen.binaryFile)} --sample-offset 30000 --recording-offset 30000 --num-samples 30000 --out second`,
      '',
    ].join('\n'));
    const out = path.join(root, 'many');
    const r = await cli('slurm', '--manifest', manifest, ...recordingArgs(), '--blocks', 4, '--out', out, '--command', command, '--poll', 0.5, '--wait');
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.err).toMatch(/note: first is long enough for 2 block\(s\)/);
    expect(r.out).toMatch(/tasks 0-3; 4 block\(s\), 0 already complete, 4 to sort/);
    const first = path.join(root, 'local-first');
    localSort('--num-samples', 30000, '--blocks', 4, '--out', first);
    expect(bytes(out, 'first', 'result.spikesift').equals(bytes(first, 'result.spikesift'))).toBe(true);
    const second = JSON.parse(fs.readFileSync(path.join(out, 'second', 'summary.json'), 'utf8'));
    expect(second.blocks).toBe(2);
    expect([second.startTime, second.endTime]).toEqual([30000, 60000]);
  });
});
