// sort --blocks N --block I and merge of block results, on a generated recording with the real
// sorter: the blocks sorted one by one and merged must equal sort --blocks N byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRecording, type GeneratedRecording } from '../../src/groundtruth/generate.js';
import { SortedRecording } from '../../src/result/sorted-recording.js';
import { buildSorting, tempDir } from '../export/helpers.js';
import { cli } from './helpers.js';

let gen: GeneratedRecording;
let root: string;
let local: string;
let blocks: string;

function sortArgs(out: string, ...extra: (string | number)[]): (string | number)[] {
  return [
    'sort', gen.binaryFile,
    '--probe', gen.probeFile,
    '--sampling-frequency', gen.samplingFrequency,
    '--dtype', gen.dataType,
    '--detection-polarity', gen.detectionPolarity,
    '--min-segment-length', 0.5,
    '--backend', 'cpu',
    '--quiet',
    '--out', out,
    ...extra,
  ];
}

const read = (...p: string[]) => fs.readFileSync(path.join(...p));

beforeAll(async () => {
  root = tempDir('spikesift-blocks-');
  // Dense, clear units, so that the equality below is over hundreds of sorted spikes.
  gen = await generateRecording({ out: path.join(root, 'gen'), preset: 'linear32', duration: 4, seed: 3, numUnits: 8, firingRateRange: [10, 30], snrRange: [6, 20], drift: { rate: 2 } });
  local = path.join(root, 'local');
  const r = await cli(...sortArgs(local, "--blocks", 4));
  expect(r.code, r.err).toBe(0);
  blocks = path.join(root, 'blocks');
  // Out of order on purpose: nothing may depend on the order blocks finish in.
  for (const i of [2, 0, 3, 1]) {
    const b = await cli(...sortArgs(blocks, '--blocks', 4, '--block', i));
    expect(b.code, b.err).toBe(0);
    expect(b.out).toMatch(new RegExp(`sorted block ${i} of 4`));
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('sort --blocks/--block and merge of blocks', () => {
  it('merging the blocks, listed in any order, equals sort --blocks 4 byte for byte', async () => {
    const files = ['block-003', 'block-001', 'block-000', 'block-002'].map((b) => path.join(blocks, `${b}.spikesift`));
    const m = await cli('merge', ...files, '--out', path.join(blocks, 'result.spikesift'));
    expect(m.code, m.err).toBe(0);
    expect(m.out).toMatch(/merged 4 blocks/);
    expect(read(blocks, 'result.spikesift').equals(read(local, 'result.spikesift'))).toBe(true);
    for (const f of ['spike_times.npy', 'spike_clusters.npy', 'templates.npy']) {
      expect(read(blocks, 'phy', f).equals(read(local, 'phy', f)), f).toBe(true);
    }
    const s = JSON.parse(fs.readFileSync(path.join(blocks, 'summary.json'), 'utf8'));
    const l = JSON.parse(fs.readFileSync(path.join(local, 'summary.json'), 'utf8'));
    expect(s.blocks).toBe(4);
    expect(l.blocks).toBe(4);
    // Not two empty sortings: every segment's units count, chained across blocks or not.
    const saved = await SortedRecording.load(path.join(local, 'result.spikesift'));
    expect(saved.segments.reduce((n, seg) => n + seg.spikes.reduce((m, t) => m + t.length, 0), 0)).toBeGreaterThan(300);
    expect(s.spikesPerUnit).toEqual(l.spikesPerUnit);
    expect(JSON.parse(fs.readFileSync(path.join(blocks, 'recording.json'), 'utf8'))).toEqual(JSON.parse(fs.readFileSync(path.join(local, 'recording.json'), 'utf8')));
  });

  it('refuses an incomplete set, a tampered block and blocks of another plan, naming them', async () => {
    const files = [0, 1, 3].map((i) => path.join(blocks, `block-00${i}.spikesift`));
    const gap = await cli('merge', ...files, '--out', path.join(root, 'x'));
    expect(gap.code).toBe(2);
    expect(gap.err).toMatch(/incomplete set of blocks: block-002 of 4 missing/);

    const copy = path.join(root, 'copy');
    fs.cpSync(blocks, copy, { recursive: true });
    const victim = path.join(copy, 'block-001.spikesift');
    const bytes = fs.readFileSync(victim);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(victim, bytes);
    const all = [0, 1, 2, 3].map((i) => path.join(copy, `block-00${i}.spikesift`));
    const bad = await cli('merge', ...all, '--out', path.join(root, 'y'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/block-001\.spikesift \(block 1\) is not a complete block result/);

    const other = path.join(root, 'other');
    const o = await cli(...sortArgs(other, '--blocks', 2, '--block', 1));
    expect(o.code, o.err).toBe(0);
    const mixed = await cli('merge', path.join(blocks, 'block-000.spikesift'), path.join(other, 'block-001.spikesift'), '--out', path.join(root, 'z'));
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/belongs to another sort/);
    expect(fs.existsSync(path.join(root, 'z', 'result.spikesift'))).toBe(false);
  });

  it('checks --blocks and --block', async () => {
    const out = path.join(root, 'args');
    expect((await cli(...sortArgs(out, '--block', 1))).err).toMatch(/--block needs --blocks N/);
    expect((await cli(...sortArgs(out, '--blocks', 4, '--block', 4))).err).toMatch(/--block must be below --blocks \(4\), got 4/);
    // 4 s with 0.5 s segments: at most 8 blocks.
    const r = await cli(...sortArgs(out, '--blocks', 20, '--block', 9));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cut into 8 block\(s\), numbered 0 to 7/);
  });
});

describe('merge of separate results', () => {
  it('joins results listed out of order and refuses a gap unless --allow-gaps', async () => {
    const dir = tempDir();
    const save = async (name: string, offset: number, seed: number) => {
      const file = path.join(dir, name);
      await buildSorting({ numSamples: 30000, offset, units: 3, seed }).result.save(file);
      return file;
    };
    const a = await save('a.spikesift', 0, 1);
    const b = await save('b.spikesift', 30000, 2);
    const c = await save('c.spikesift', 90000, 3);
    const inOrder = await cli('merge', a, b, '--out', path.join(dir, 'ab'));
    const reversed = await cli('merge', b, a, '--out', path.join(dir, 'ba'));
    expect(inOrder.code, inOrder.err).toBe(0);
    expect(reversed.code, reversed.err).toBe(0);
    expect(reversed.err).toMatch(/joining in time order/);
    expect(read(dir, 'ba', 'result.spikesift').equals(read(dir, 'ab', 'result.spikesift'))).toBe(true);
    const gap = await cli('merge', a, b, c, '--out', path.join(dir, 'abc'));
    expect(gap.code).toBe(2);
    expect(gap.err).toMatch(/a gap of 30000 samples \(1\.000 s\) between .*b\.spikesift .* and .*c\.spikesift/);
    const allowed = await cli('merge', a, b, c, '--out', path.join(dir, 'abc'), '--allow-gaps');
    expect(allowed.code, allowed.err).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
