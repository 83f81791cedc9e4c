// spikesift slurm without a cluster: argument errors, and the scripts --dry-run writes, run
// by bash with a stand-in for spikesift (--command echo) to see exactly what each task runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slurmResources } from '../../src/cli/blocks.js';
import { arrayRanges, splitWords } from '../../src/cli/slurm.js';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { tempDir } from '../export/helpers.js';
import { cli } from './helpers.js';

let root: string;
let gen: GeneratedRecording;

const recordingArgs = () => ['--probe', gen.probeFile, '--sampling-frequency', gen.samplingFrequency, '--dtype', gen.dataType, '--min-segment-length', 0.5];
const slurm = (...args: (string | number)[]) => cli('slurm', gen.binaryFile, ...recordingArgs(), '--command', 'echo', ...args);

/** Runs a written script as Slurm would run array task `task`, with `spikesift` = echo. */
function runTask(script: string, task?: number): { status: number | null; out: string; err: string } {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (task !== undefined) Object.assign(env, { SLURM_ARRAY_TASK_ID: String(task), SLURM_ARRAY_JOB_ID: '77' });
  const r = spawnSync('bash', [script], { env, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  root = tempDir('spikesift-slurm-script-');
  gen = await generateRecording({ out: path.join(root, 'gen'), preset: 'linear32', duration: 2, seed: 1 });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('spikesift slurm --dry-run', () => {
  it('writes an array script and a merge script with the resources asked for', async () => {
    const out = path.join(root, 'dry');
    const r = await slurm('--blocks', 4, '--out', out, '--partition', 'gpu', '--time', '1:30:00', '--cpus-per-task', 4, '--mem', '8G', '--gres', 'gpu:1',
      '--sbatch-arg', '--account=lab', '--sbatch-arg=--qos=short', '--dry-run');
    expect(r.code, r.err).toBe(0);
    const sortScript = path.join(out, 'slurm', 'sort.sbatch');
    const mergeScript = path.join(out, 'slurm', 'merge.sbatch');
    const sort = fs.readFileSync(sortScript, 'utf8');
    const merge = fs.readFileSync(mergeScript, 'utf8');
    expect(r.out).toContain(sort);
    expect(r.out).toContain(merge);
    expect(r.out).toContain(`sbatch --dependency=afterok:$jobid --kill-on-invalid-dep=yes ${mergeScript}`);
    for (const line of ['--array=0-3', '--partition=gpu', '--time=1:30:00', '--cpus-per-task=4', '--mem=8G', '--gres=gpu:1', '--account=lab', '--qos=short', `--output=${out}/slurm/logs/sort-%A_%a.log`]) {
      expect(sort).toContain(`#SBATCH ${line}\n`);
    }
    expect(merge).toContain('#SBATCH --cpus-per-task=1\n');
    expect(merge).not.toContain('#SBATCH --gres');
    expect(merge).toContain('#SBATCH --account=lab\n');
    for (const f of [sortScript, mergeScript]) expect(spawnSync('bash', ['-n', f]).status).toBe(0);
    expect(fs.readdirSync(out).filter((f) => f.startsWith('block-'))).toEqual([]);

    const task = runTask(sortScript, 2);
    expect(task.status, task.err).toBe(0);
    expect(task.out).toContain(
      `sort ${gen.binaryFile} --probe ${gen.probeFile} --sampling-frequency 30000 --dtype int16 --min-segment-length 0.5 --blocks 4 --block 2 --out ${out}\n`,
    );
    expect(task.out).toMatch(/array task 2: block 2 of 4 of recording\.bin/);
    expect(runTask(sortScript, 4).status).toBe(2);
    expect(runTask(sortScript).err).toMatch(/this is a Slurm array job/);
    expect(runTask(mergeScript).out).toContain(`merge ${out}/block-*.spikesift --out ${out}/result.spikesift --overwrite\n`);
  });

  it('a failing task names its block, its log and the rerun command', async () => {
    const out = path.join(root, 'fails');
    const r = await cli('slurm', gen.binaryFile, ...recordingArgs(), '--command', 'false', '--blocks', 2, '--out', out, '--dry-run');
    expect(r.code, r.err).toBe(0);
    const task = runTask(path.join(out, 'slurm', 'sort.sbatch'), 1);
    expect(task.status).toBe(1);
    expect(task.err).toContain(`FAILED: block 1 of 2 of recording.bin (array task 1, exit status 1); log: ${out}/slurm/logs/sort-77_1.log`);
    expect(task.err).toContain(`rerun the blocks still missing (complete ones are skipped): cd ${process.cwd()} && spikesift slurm ${gen.binaryFile}`);
  });

  it('a manifest puts each recording in its own folder, one array over all blocks', async () => {
    const manifest = path.join(root, 'list.txt');
    fs.writeFileSync(manifest, `# recordings\n\n${path.relative(root, gen.binaryFile)} --out a\n'${gen.binaryFile}' --num-samples 30000 --detection-sensitivity 8 --out b\n`);
    const out = path.join(root, 'many');
    const r = await cli('slurm', '--manifest', manifest, ...recordingArgs(), '--command', 'echo', '--blocks', 3, '--out', out, '--dry-run');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/note: b is long enough for 2 block\(s\)/);
    const sortScript = path.join(out, 'slurm', 'sort.sbatch');
    expect(fs.readFileSync(sortScript, 'utf8')).toContain('#SBATCH --array=0-4\n');
    const t4 = runTask(sortScript, 4);
    expect(t4.out).toContain(
      `sort ${gen.binaryFile} --probe ${gen.probeFile} --sampling-frequency 30000 --dtype int16 --num-samples 30000 --min-segment-length 0.5 --detection-sensitivity 8 --blocks 2 --block 1 --out ${out}/b\n`,
    );
    expect(runTask(sortScript, 1).out).toMatch(new RegExp(`--blocks 3 --block 1 --out ${out}/a\\n`));
    const mergeScript = path.join(out, 'slurm', 'merge.sbatch');
    expect(fs.readFileSync(mergeScript, 'utf8')).toContain('#SBATCH --array=0-1\n');
    expect(runTask(mergeScript, 1).out).toContain(`merge ${out}/b/block-*.spikesift --out ${out}/b/result.spikesift --overwrite\n`);
  });
});

describe('spikesift slurm argument errors', () => {
  it('names the parameter, the value and the fix', async () => {
    const out = path.join(root, 'errors');
    const cases: [(string | number)[], RegExp][] = [
      [['--out', out], /missing required option --blocks/],
      [['--blocks', 2, '--out', out, '--time', '2h'], /--time "2h" is not a Slurm time limit; write MIN, .*HH:MM:SS/],
      [['--blocks', 2, '--out', out, '--mem', '8 GB'], /--mem "8 GB" is not a Slurm memory size/],
      [['--blocks', 2, '--out', out, '--gres', 'gpu 1'], /--gres "gpu 1" is not a Slurm gres list/],
      [['--blocks', 2, '--out', out, '--sbatch-arg', 'account=lab'], /--sbatch-arg "account=lab" is not an sbatch option/],
      [['--blocks', 2, '--out', path.join(root, 'with space')], /cannot hold spaces/],
      [['--blocks', 2, '--out', out, '--dry-run', '--wait'], /--wait has nothing to wait for with --dry-run/],
      [['--blocks', 2, '--out', out, '--manifest', path.join(root, 'none.txt')], /give either RECORDING or --manifest/],
      [['--blocks', 2, '--out', out, '--workers', 2], /unknown option --workers/],
    ];
    for (const [args, message] of cases) {
      const r = await slurm(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });

  it('checks manifest lines and refuses block files of another sort in the folder', async () => {
    const manifest = path.join(root, 'bad.txt');
    const run = (text: string) => {
      fs.writeFileSync(manifest, text);
      return cli('slurm', '--manifest', manifest, ...recordingArgs(), '--command', 'echo', '--blocks', 2, '--out', path.join(root, 'm'), '--dry-run');
    };
    expect((await run('')).err).toMatch(/lists no recordings/);
    expect((await run(`${gen.binaryFile}\n${gen.binaryFile}\n`)).err).toMatch(/line 2: folder "recording" is already used by line 1; give one of them --out NAME/);
    expect((await run(`${gen.binaryFile} --threshold 3\n`)).err).toMatch(/line 1: unknown option --threshold/);
    expect((await run(`${gen.binaryFile} --out slurm\n`)).err).toMatch(/line 1: --out "slurm" must be a plain folder name/);
    expect((await run(`'${gen.binaryFile}\n`)).err).toMatch(/line 1: unclosed ' quote/);

    const out = path.join(root, 'stale');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'block-007.spikesift'), 'not ours');
    const r = await slurm('--blocks', 2, '--out', out, '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/block-007\.spikesift is a block of another sort .* Use another --out folder, or move the old block files away/);
    expect(fs.readFileSync(path.join(out, 'block-007.spikesift'), 'utf8')).toBe('not ours');
  });

  it('says so when sbatch is not there', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(root, 'no-bin');
    try {
      const r = await slurm('--blocks', 2, '--out', path.join(root, 'nosbatch'));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/sbatch was not found on PATH \(run this on a Slurm login node, or use --dry-run/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('helpers', () => {
  it('splitWords and arrayRanges', () => {
    expect(splitWords(`a 'b c' "d \\"e\\"" f\\ g`)).toEqual(['a', 'b c', 'd "e"', 'f g']);
    expect(arrayRanges([7, 0, 1, 2, 3, 5, 8])).toBe('0-3,5,7-8');
    expect(arrayRanges([4])).toBe('4');
  });

  it('slurmResources keeps a block task within its job: --cpus-per-task threads, half its --mem', () => {
    const node = { workers: 64, memoryLimit: 6 * 2 ** 30 };
    expect(slurmResources({}, node)).toEqual({});
    expect(slurmResources({ SLURM_CPUS_PER_TASK: '4', SLURM_MEM_PER_NODE: '8192' }, node)).toEqual({ workers: 4, memoryLimit: 4 * 2 ** 30 });
    expect(slurmResources({ SLURM_CPUS_PER_TASK: '2', SLURM_MEM_PER_CPU: '1024' }, node)).toEqual({ workers: 2, memoryLimit: 2 ** 30 });
    // Never more than the node-wide defaults.
    expect(slurmResources({ SLURM_CPUS_PER_TASK: '128', SLURM_MEM_PER_NODE: '512000' }, node)).toEqual(node);
  });
});
