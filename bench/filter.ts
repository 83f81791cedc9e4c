/**
 * Filtering + per-ms minima throughput (spec §3-4) for 32, 384 and 1024 channels at 30 kHz,
 * per backend, as a markdown table on stdout (the integrator copies it to bench/RESULTS.md).
 *
 *   npm run bench:filter -- [--seconds N] [--quick] [--repeat R] [--channels 32,384] [--gpu-seconds N] [--dtype int16|float32] [--chunk-mib M]
 *
 * Data: int16 (or float32 = 0.195 * int16 + 812.5, --dtype float32) noise with spikes in a temp file (deleted afterwards), read through Recording
 * like a sort does, filtered in 1000-ms chunks into a reused FilteredBuffer (bounded memory).
 * Throughput counts raw input bytes; "x real time" is recording seconds per wall second.
 * Each configuration runs `repeat` times; the table shows the best and the median.
 * For webgpu a second table gives the stage times of the best run (read, upload+submit, GPU
 * wait, copy-out; see GpuFilterStats). --chunk-mib sets the processors' chunkBytes (the webgpu
 * path uses chunks of max(2 MiB, request/4) up to half of that: two chunks are in flight).
 */
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { cpus, tmpdir, totalmem, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Recording } from '../src/formats/recording.js';
import { probeAdapter, releaseGpuContext } from '../src/engines/webgpu/context.js';
import { createSignalProcessor, type SignalProcessor } from '../src/engines/select.js';
import { type GpuFilterStats } from '../src/engines/webgpu/engine.js';
import { allocateFilteredBuffer, type FilteredBuffer } from '../src/core/window.js';
import { flagValue } from './args.js';

interface Args { seconds: number; quick: boolean; repeat: number; channels: number[]; gpuSeconds: number | null; dtype: 'int16' | 'float32'; chunkBytes: number | undefined }

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 10, quick: false, repeat: 3, channels: [32, 384, 1024], gpuSeconds: null, dtype: 'int16', chunkBytes: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => flagValue(argv, ++i, k);
    if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--quick') a.quick = true;
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--channels') a.channels = v().split(',').map(Number);
    else if (k === '--gpu-seconds') a.gpuSeconds = Number(v());
    else if (k === '--chunk-mib') a.chunkBytes = Math.round(Number(v()) * 2 ** 20);
    else if (k === '--dtype') {
      const d = v();
      if (d !== 'int16' && d !== 'float32') throw new Error(`--dtype must be int16 or float32, got ${d}`);
      a.dtype = d;
    }
    else if (k === '--help' || k === '-h') {
      console.log('usage: npm run bench:filter -- [--seconds N] [--quick] [--repeat R] [--channels 32,384,1024] [--gpu-seconds N] [--dtype int16|float32] [--chunk-mib M]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k} (try --help)`);
  }
  if (a.quick) {
    a.seconds = Math.min(a.seconds, 2);
    a.repeat = 1;
  }
  if (!(a.seconds > 0)) throw new Error(`--seconds must be > 0, got ${a.seconds}`);
  if (!(a.repeat >= 1)) throw new Error(`--repeat must be >= 1, got ${a.repeat}`);
  if (a.chunkBytes !== undefined && !(a.chunkBytes >= 1)) throw new Error('--chunk-mib must be > 0');
  if (a.channels.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--channels must be positive integers, got ${a.channels.join(',')}`);
  return a;
}

const FS = 30000;
const S = 30;
const CHUNK_MS = 1000;

/** Writes `seconds` of int16 noise (+ spikes) for C channels; fast deterministic generator. */
function writeData(dir: string, C: number, seconds: number, dtype: 'int16' | 'float32'): Recording {
  const file = join(dir, `bench-${C}.bin`);
  const rows = Math.round(seconds * FS) + 2 * S + 100;
  const fd = openSync(file, 'w');
  let state = 12345 ^ C;
  const rowsPerWrite = Math.max(1, Math.floor((8 << 20) / (2 * C)));
  const block = new Int16Array(rowsPerWrite * C);
  for (let r0 = 0; r0 < rows; r0 += rowsPerWrite) {
    const n = Math.min(rowsPerWrite, rows - r0);
    for (let i = 0; i < n * C; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) | 0;
      block[i] = (state >> 24) + ((state >> 16) & 63) - 32;     // ~uniform noise, +-160
    }
    for (let r = 0; r < n; r += 97) {                            // sparse spikes
      const c = (r0 + r) % C;
      for (let j = 0; j < 20 && r + j < n; j++) block[(r + j) * C + c] -= Math.round(400 * Math.exp(-((j - 6) ** 2) / 8));
    }
    if (dtype === 'float32') {
      const f = Float32Array.from(block.subarray(0, n * C), (x) => 0.195 * x + 812.5);
      writeSync(fd, f, 0, n * C * 4);
    } else {
      writeSync(fd, block, 0, n * C * 2);
    }
  }
  closeSync(fd);
  const geometry = Array.from({ length: C }, (_, c) => [(c % 2) * 16, Math.floor(c / 2) * 20]);
  return new Recording({ binaryFile: file, dataType: dtype, probeGeometry: geometry, samplingFrequency: FS });
}

function gpuStats(p: SignalProcessor): GpuFilterStats | undefined {
  return (p as { stats?: GpuFilterStats }).stats;
}

async function timeRun(p: SignalProcessor, rec: Recording, seconds: number, buf: FilteredBuffer): Promise<number> {
  const totalMs = Math.round(seconds * 1000);
  const st = gpuStats(p);
  if (st) for (const k of Object.keys(st) as (keyof GpuFilterStats)[]) st[k] = 0;
  const t0 = performance.now();
  for (let m = 1; m < 1 + totalMs; m += CHUNK_MS) {
    const n = Math.min(CHUNK_MS, 1 + totalMs - m);
    await p.filterBlocks(rec, m, n, -1, buf, 0);
  }
  return (performance.now() - t0) / 1000;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const probe = await probeAdapter();
  const gpuName = probe.adapter ? `${probe.name} (${probe.isSoftware ? 'software' : 'hardware'})` : `none (${probe.reason})`;
  // A software adapter runs far below real time: keep its runs short unless told otherwise.
  const gpuSeconds = args.gpuSeconds ?? (probe.isSoftware ? Math.min(args.seconds, 1) : args.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'spikesift-bench-'));
  const rows: string[] = [];
  const diffs: string[] = [];
  const cb = args.chunkBytes === undefined ? {} : { chunkBytes: args.chunkBytes };
  const stages: string[] = [];
  const configs: { label: string; make: () => Promise<SignalProcessor>; gpu: boolean }[] = [
    { label: 'cpu TypeScript only, 1 thread', make: () => createSignalProcessor('cpu', { cpuWorkers: 0, cpuSimd: false, ...cb }), gpu: false },
    { label: 'cpu WASM SIMD, 1 thread', make: () => createSignalProcessor('cpu', { cpuWorkers: 0, ...cb }), gpu: false },
    { label: `cpu WASM SIMD, ${Math.min(4, availableParallelism())} workers (default)`, make: () => createSignalProcessor('cpu', cb), gpu: false },
  ];
  if (probe.adapter) configs.push({ label: 'webgpu', make: () => createSignalProcessor('webgpu', cb), gpu: true });
  try {
    for (const C of args.channels) {
      const rec = writeData(dir, C, Math.max(args.seconds, gpuSeconds), args.dtype);
      const itemBytes = args.dtype === 'float32' ? 4 : 2;
      const buf = allocateFilteredBuffer(C, S, CHUNK_MS);
      const ref = allocateFilteredBuffer(C, S, CHUNK_MS);
      let refDone = false;
      for (const cfg of configs) {
        const p = await cfg.make();
        try {
          const secs = cfg.gpu ? gpuSeconds : args.seconds;
          await timeRun(p, rec, Math.min(secs, 0.2), buf);      // warm-up: pipelines, workers, JIT
          const times: number[] = [];
          let bestStats: GpuFilterStats | undefined;
          for (let r = 0; r < args.repeat; r++) {
            times.push(await timeRun(p, rec, secs, buf));
            const st = gpuStats(p);
            if (st && times[r] === Math.min(...times)) bestStats = { ...st };
          }
          const best = Math.min(...times);
          if (bestStats) {
            const f = (x: number): string => x.toFixed(0);
            stages.push(`| ${C} | ${secs} | ${f(best * 1000)} | ${bestStats.chunks} | ${f(bestStats.readMs)} | ${f(bestStats.readWaitMs)} | ` +
              `${f(bestStats.decodeMs)} | ${f(bestStats.submitMs)} | ${f(bestStats.waitMs)} | ${f(bestStats.copyMs)} |`);
          }
          const med = median(times);
          const mb = (secs * FS * C * itemBytes) / 1e6;
          rows.push(`| ${C} | ${cfg.label}${cfg.gpu ? ` (${probe.name})` : ''} | ${secs} | ${(mb / best).toFixed(0)} | ${(secs / best).toFixed(1)}x | ${(secs / med).toFixed(1)}x |`);
          // Worst difference against the single-thread CPU result on the first second.
          const n = Math.min(CHUNK_MS, Math.round(secs * 1000));
          if (!refDone) {
            const cpu = await createSignalProcessor('cpu', { cpuWorkers: 0, cpuSimd: false });
            await cpu.filterBlocks(rec, 1, n, -1, ref, 0);
            cpu.dispose();
            refDone = true;
          }
          const out = allocateFilteredBuffer(C, S, n);
          await p.filterBlocks(rec, 1, n, -1, out, 0);
          let worst = 0;
          let maxY = 0;
          let posDiff = 0;
          for (let i = 0; i < n * C * S; i++) {
            worst = Math.max(worst, Math.abs(out.data[i] - ref.data[i]));
            maxY = Math.max(maxY, Math.abs(ref.data[i]));
          }
          for (let i = 0; i < n * C; i++) if (out.minPos[i] !== ref.minPos[i]) posDiff++;
          diffs.push(`| ${C} | ${cfg.label} | ${worst.toExponential(2)} | ${maxY.toFixed(1)} | ${posDiff} of ${n * C} |`);
        } finally {
          p.dispose();
        }
      }
      rmSync(rec.binaryFile, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await releaseGpuContext();
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`## Filter + per-ms minima throughput (spec §3-4), ${args.dtype} at 30 kHz\n`);
  console.log(`- date: ${new Date().toISOString()}`);
  console.log(`- machine: ${cpu}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`- WebGPU adapter: ${gpuName}`);
  console.log(`- command: npm run bench:filter -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`- ${args.repeat} run(s) per row after a warm-up; read from the page cache through Recording, ${CHUNK_MS}-ms chunks into a reused buffer\n`);
  console.log('| channels | backend | seconds of data | MB/s (best) | x real time (best) | x real time (median) |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  if (stages.length > 0) {
    console.log('\nwebgpu stage times of the best run (ms, summed over chunks; the read runs on the thread pool and overlaps the rest):\n');
    console.log('| channels | seconds of data | wall | chunks | read | waited for read | decode | upload+submit | GPU wait | copy-out |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of stages) console.log(r);
  }
  console.log('\nWorst absolute difference vs the single-thread TypeScript-only path (first second):\n');
  console.log('| channels | backend | worst abs diff | max abs y | minPos differences |');
  console.log('|---:|---|---:|---:|---:|');
  for (const d of diffs) console.log(d);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
