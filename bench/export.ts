/**
 * Export time against sort time (issue 12: the exports must take less time than the sort
 * itself, at 384 and 1536 channels). For each channel count, a ground-truth recording is
 * generated (384: the np384 preset; 1536: four np384 shanks 250 µm apart, as an NP2.0
 * four-shank or NP2020 quad base), sorted once, then the Phy folder, the SpikeInterface folder
 * and the HTML report are written from the result and the recording. Markdown table on stdout.
 *
 *   node --import ./scripts/ts-loader.mjs bench/export.ts [--seconds 30] [--channels 384,1536] [--backend auto|cpu|webgpu] [--keep]
 *
 * Columns: sort = performSpikeSorting wall seconds; phy / si / report = wall seconds of each
 * export; "phy / sort" = their ratio (below 1 is what the issue asks); units and spikes of the
 * sort, so the export's per-spike work can be judged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPhy } from '../src/export/phy.js';
import { writeReport } from '../src/export/report.js';
import { exportSpikeInterface } from '../src/export/spikeinterface.js';
import { generateRecording } from '../src/groundtruth/index.js';
import { presetLayout } from '../src/groundtruth/probes.js';
import { Recording } from '../src/formats/recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { flagValue } from './args.js';

interface Args { seconds: number; channels: number[]; backend: 'auto' | 'cpu' | 'webgpu'; keep: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 30, channels: [384, 1536], backend: 'auto', keep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => flagValue(argv, ++i, k);
    if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--channels') a.channels = v().split(',').map(Number);
    else if (k === '--backend') a.backend = v() as Args['backend'];
    else if (k === '--keep') a.keep = true;
    else throw new Error(`unknown argument ${k} (see the comment at the top of bench/export.ts)`);
  }
  return a;
}

function geometryFor(channels: number): number[][] {
  const shank = presetLayout('np384').positions;
  if (channels % 384 !== 0) throw new Error(`--channels takes multiples of 384 (np384 shanks), got ${channels}`);
  const out: number[][] = [];
  for (let s = 0; s < channels / 384; s++) for (const [x, y] of shank) out.push([x + 250 * s, y]);
  return out;
}

async function timed<T>(f: () => T | Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

const args = parseArgs(process.argv.slice(2));
const root = mkdtempSync(join(tmpdir(), 'spikesift-bench-export-'));
const rows: string[] = [];
try {
  for (const C of args.channels) {
    process.stderr.write(`generating ${C} channels x ${args.seconds} s...\n`);
    const gen = await generateRecording({ out: join(root, `c${C}`), geometry: geometryFor(C), duration: args.seconds, seed: 1, numUnits: Math.round(C / 5) });
    const rec = new Recording({ binaryFile: gen.binaryFile, dataType: gen.dataType, probeGeometry: gen.probeGeometry, samplingFrequency: gen.samplingFrequency });
    const [sorted, sortS] = await timed(() => performSpikeSorting(rec, { backend: args.backend, verbose: false, detectionPolarity: gen.detectionPolarity }));
    const [, phyS] = await timed(() => exportPhy(sorted, join(root, `phy${C}`), { recording: rec }));
    const [, siS] = await timed(() => exportSpikeInterface(sorted, join(root, `si${C}`), { origin: rec.recordingOffset }));
    const [, reportS] = await timed(() => writeReport(join(root, `report${C}.html`), { result: sorted, recording: rec }));
    const spikes = sorted.clusterIds().reduce((n, id) => n + sorted.spikes(id).length, 0);
    rows.push(`| ${C} | ${args.seconds} | ${sorted.length} | ${spikes} | ${sortS.toFixed(1)} | ${phyS.toFixed(1)} | ${siS.toFixed(2)} | ${reportS.toFixed(1)} | ${(phyS / sortS).toFixed(2)} |`);
    process.stderr.write(rows[rows.length - 1] + '\n');
    if (!args.keep) rmSync(join(root, `c${C}`), { recursive: true, force: true });
  }
} finally {
  if (!args.keep) rmSync(root, { recursive: true, force: true });
}
console.log(`Export vs sort (backend ${args.backend}), seconds of wall time:\n`);
console.log('| channels | recording s | units | spikes | sort | phy | spikeinterface | report | phy / sort |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
if (args.keep) console.log(`\nkept ${root}`);
