// The CLI on hand-built results (no sorter needed): help, argument errors, info, export, merge, report.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/formats/npy.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { buildSorting, tempDir, GEOMETRY } from '../export/helpers.js';
import { cli } from './helpers.js';

const COMMANDS = ['sort', 'merge', 'info', 'export', 'report', 'demo'];

async function savedResult(dir: string, name: string, opts: Parameters<typeof buildSorting>[0]) {
  const built = buildSorting(opts);
  const file = path.join(dir, name);
  await built.result.save(file);
  return { ...built, file };
}

describe('help and argument errors', () => {
  it('prints the tool help with every command', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const c of [...COMMANDS, 'generate', 'compare']) expect(r.out).toMatch(new RegExp(`^  ${c}\\s`, 'm'));
  });

  it('prints the version and hands help for generate/compare to their own text', async () => {
    const v = await cli('--version');
    expect(v.code).toBe(0);
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const g = await cli('help', 'generate');
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/Usage: spikesift generate/);
    const c = await cli('compare', '-h');
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/Usage: spikesift compare/);
  });

  it('documents every option of each own command', async () => {
    const specs: Record<string, { options: { name: string }[] }> = {
      sort: (await import('../../src/cli/sort.js')).spec,
      merge: (await import('../../src/cli/merge.js')).spec,
      info: (await import('../../src/cli/info.js')).spec,
      export: (await import('../../src/cli/export.js')).spec,
      report: (await import('../../src/cli/report.js')).spec,
      demo: (await import('../../src/cli/demo.js')).spec,
    };
    const sortSpec = specs.sort;
    for (const c of COMMANDS) {
      const r = await cli(c, '--help');
      expect(r.code, c).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: spikesift ${c}`));
      for (const o of specs[c].options) expect(r.out, `${c} --${o.name}`).toContain(`--${o.name}`);
    }
    const sortHelp = (await cli('help', 'sort')).out;
    for (const o of ['probe', 'sampling-frequency', 'dtype', 'header', 'sample-offset', 'num-samples', 'recording-offset', 'min-segment-length', 'detection-sensitivity', 'min-spikes-per-cluster', 'merging-threshold', 'max-drift', 'detection-polarity', 'backend', 'workers', 'memory-limit', 'blocks', 'no-merge-bursts', 'quiet', 'out']) {
      expect(sortHelp).toContain(`--${o}`);
      expect(sortSpec.options.some((s) => s.name === o)).toBe(true);
    }
  });

  it('exits 2 with a message naming the argument', async () => {
    const dir = tempDir();
    const bin = path.join(dir, 'r.bin');
    fs.writeFileSync(bin, Buffer.alloc(8 * 2 * 3000));
    const probe = path.join(dir, 'probe.json');
    fs.writeFileSync(probe, JSON.stringify(GEOMETRY));
    const cases: [string[], RegExp][] = [
      [[], /Usage: spikesift COMMAND/],
      [['frobnicate'], /unknown command "frobnicate"/],
      // The probe, rate and type are not required up front (a SpikeGLX / Open Ephys file says them).
      [['sort'], /missing required option --out/],
      [['sort', bin, '--out', dir], /missing required option --probe FILE .*SpikeGLX/],
      [['sort', bin, '--probe', probe, '--dtype', 'int16', '--out', dir], /missing required option --sampling-frequency/],
      [['sort', bin, '--stream', 'ProbeA', '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16', '--out', dir], /--stream names a stream of an Open Ephys recording/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16'], /missing required option --out/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', 'fast', '--dtype', 'int16', '--out', dir], /--sampling-frequency expects a number, got "fast"/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int17', '--out', dir], /--dtype: .*int17/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16', '--backend', 'cuda', '--out', dir], /--backend must be one of auto, webgpu, cpu; got "cuda"/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16', '--workers', '0', '--out', dir], /--workers must be at least 1/],
      [['sort', path.join(dir, 'missing.bin'), '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16', '--out', dir], /RECORDING: .*does not exist/],
      [['sort', bin, '--probe', path.join(dir, 'nope.json'), '--sampling-frequency', '30000', '--dtype', 'int16', '--out', dir], /--probe: .*cannot be read/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16', '--header', '7', '--out', dir], /--num-samples|whole number of samples|numSamples/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '30000', '--dtype', 'int16', '--merging-threshold', '1.5', '--out', dir], /--merging-threshold: .*between 0 and 1/],
      [['sort', bin, '--probe', probe, '--sampling-frequency', '2000', '--dtype', 'int16', '--out', dir], /--sampling-frequency: .*too low/],
      [['info'], /missing RESULT/],
      [['info', path.join(dir, 'none.spikesift')], /RESULT .*does not exist/],
      [['info', dir], /has no result\.spikesift/],
      [['info', bin], /could not be read as a spikesift result/],
      [['export', bin, '--format', 'csv', '--out', dir], /--format must be one of phy, spikeinterface/],
      [['merge', bin, '--out', dir], /at least two RESULT/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(pattern);
    }
  });
});

describe('info, export, merge and report on saved results', () => {
  it('info prints units, segments, spikes and the time span', async () => {
    const dir = tempDir();
    const { file, trains } = await savedResult(dir, 'a.spikesift', { numSamples: 60000, offset: 30000, numSegments: 3, units: 4, broken: 3 });
    const total = [...trains.values()].reduce((n, t) => n + t.length, 0);
    const r = await cli('info', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/units:\s+3/);
    expect(r.out).toMatch(/segments:\s+3/);
    expect(r.out).toMatch(new RegExp(`spikes:\\s+${total}\\b`));
    expect(r.out).toMatch(/samples \[30000, 90000\) = 1\.000 s to 3\.000 s \(2\.000 s\)/);
    const j = await cli('info', file, '--json');
    const info = JSON.parse(j.out);
    expect(info.units).toBe(3);
    expect(info.unitList.map((u: { id: number }) => u.id)).toEqual([0, 1, 2]);
    expect(info.spikes).toBe(total);
  });

  it('export writes Phy and SpikeInterface folders from a result folder', async () => {
    const dir = tempDir();
    const { trains } = await savedResult(dir, 'result.spikesift', { numSamples: 30000, units: 3 });
    const phy = path.join(dir, 'phy');
    const r1 = await cli('export', dir, '--format', 'phy', '--out', phy);
    expect(r1.code, r1.err).toBe(0);
    const st = readNpy(path.join(phy, 'spike_times.npy'));
    expect(st.shape).toEqual([[...trains.values()].flat().length]);
    const si = path.join(dir, 'si');
    const r2 = await cli('export', path.join(dir, 'result.spikesift'), '--format', 'spikeinterface', '--out', si);
    expect(r2.code, r2.err).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(si, 'numpysorting_info.json'), 'utf8')).unit_ids).toEqual([0, 1, 2]);
    const r3 = await cli('export', dir, '--format', 'phy', '--out', phy, '--dtype', 'int16');
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/--dtype describes the recording, so it needs --recording FILE/);
  });

  it('merge joins consecutive results and refuses overlapping ones', async () => {
    const dir = tempDir();
    const a = await savedResult(dir, 'a.spikesift', { numSamples: 30000, offset: 0, units: 3, seed: 1 });
    const b = await savedResult(dir, 'b.spikesift', { numSamples: 30000, offset: 30000, units: 3, seed: 2 });
    const out = path.join(dir, 'merged');
    const r = await cli('merge', a.file, b.file, '--out', out, '--max-drift', '10');
    expect(r.code, r.err).toBe(0);
    const merged = await SortedRecording.load(path.join(out, 'result.spikesift'));
    expect(merged.numSegments).toBe(6);
    expect(merged.startTime()).toBe(0);
    expect(merged.endTime()).toBe(60000);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.segments).toBe(6);
    // Identical amplitude patterns: every unit continues into the second result.
    expect(merged.length).toBe(3);
    const bad = await cli('merge', a.file, a.file, '--out', path.join(dir, 'x'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/cannot merge/);
  });

  it('report writes a self-contained page with one card per unit', async () => {
    const dir = tempDir();
    const { file } = await savedResult(dir, 'a.spikesift', { numSamples: 30000, units: 4, broken: 1 });
    const out = path.join(dir, 'report.html');
    const r = await cli('report', file, '--out', out);
    expect(r.code, r.err).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html.match(/data-unit="/g)?.length).toBe(3);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    // An output path that is a folder is refused before anything is written (exit 2).
    const fail = await cli('report', file, '--out', dir);
    expect(fail.code).toBe(2);
    expect(fail.err).toMatch(/--out ".*" is a folder; pass a file name such as .*report\.html/);
  });
});

describe('the bin', () => {
  it('runs from the TypeScript sources with the project loader', () => {
    const root = path.resolve(__dirname, '../..');
    const p = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/cli/main.ts', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Usage: spikesift COMMAND/);
    const bad = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/cli/main.ts', 'info'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/missing RESULT/);
  });
});
