/**
 * A small pool of worker threads for the CPU filter. Work is split in time at grid-block
 * boundaries (see filter.ts `cpuGridMs`), so the result is bit-identical to a single thread.
 *
 * Workers are found next to this module (see `workerEntry`). Idle workers are unref'd and
 * never keep the process alive.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface FilterJob {
  id: number;
  kind: 'int16' | 'uint16' | 'int8' | 'uint8' | 'float32';
  input: SharedArrayBuffer;
  inputByteOffset: number;
  inputLength: number;
  inputStart: number;
  firstMs: number;
  numMs: number;
  polarity: number;
  numChannels: number;
  samplesPerMs: number;
  capacityMs: number;
  data: SharedArrayBuffer;
  dataByteOffset: number;
  minVal: SharedArrayBuffer;
  minValByteOffset: number;
  minPos: SharedArrayBuffer;
  minPosByteOffset: number;
  destMs: number;
  /** Allow the WebAssembly SIMD kernel (bit-identical to the TypeScript one). */
  wasm: boolean;
}

/** The worker's module graph (filter-worker imports cpu-pool only for types). */
const WORKER_MODULES = ['filter-worker', 'filter', 'filter-wasm', 'wasm-assembler', 'constants'];

let entryPromise: Promise<{ url: URL; execArgv: string[] }> | null = null;

/**
 * Where the worker script is. From dist/: filter-worker.js beside this module. From the
 * TypeScript sources (vitest, benchmarks through scripts/ts-loader.mjs): the worker's
 * modules are transpiled once into a content-addressed folder under the temp dir, because a
 * worker that loads the TypeScript compiler itself takes over a second to start.
 */
function workerEntry(): Promise<{ url: URL; execArgv: string[] }> {
  entryPromise ??= (async () => {
    const js = new URL('./filter-worker.js', import.meta.url);
    if (existsSync(fileURLToPath(js))) return { url: js, execArgv: [] };
    const sources = WORKER_MODULES.map((m) => new URL(`./${m}.ts`, import.meta.url));
    if (!sources.every((u) => existsSync(fileURLToPath(u)))) {
      throw new Error(`spikesift: CPU filter worker not found next to ${fileURLToPath(import.meta.url)}; rebuild the package (npm run build)`);
    }
    try {
      const texts = sources.map((u) => readFileSync(u, 'utf8'));
      const hash = createHash('sha256').update(texts.join('\0')).digest('hex').slice(0, 16);
      const dir = join(tmpdir(), `spikesift-filter-worker-${hash}`);
      if (!existsSync(join(dir, 'filter-worker.js'))) {
        // Loading the compiler costs ~0.3 s: only on a cache miss.
        const ts = ((await import('typescript')) as unknown as { default: typeof import('typescript') }).default;
        const staging = mkdtempSync(join(tmpdir(), 'spikesift-filter-worker-tmp-'));
        writeFileSync(join(staging, 'package.json'), '{"type":"module"}\n');
        WORKER_MODULES.forEach((m, i) => {
          const out = ts.transpileModule(texts[i], { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
          writeFileSync(join(staging, `${m}.js`), out.outputText);
        });
        try {
          renameSync(staging, dir);
        } catch {
          rmSync(staging, { recursive: true, force: true });  // another process made it first
        }
      }
      return { url: pathToFileURL(join(dir, 'filter-worker.js')), execArgv: [] };
    } catch {
      // No compiler at hand: let the worker transpile on load (slow start, same result).
      const loader = new URL('../../scripts/ts-loader.mjs', import.meta.url);
      return { url: new URL('./filter-worker.ts', import.meta.url), execArgv: ['--import', loader.href] };
    }
  })();
  return entryPromise;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
}

export class CpuFilterPool {
  private slots: Slot[] = [];
  private nextId = 1;
  private failed: Error | null = null;

  constructor(readonly size: number) {}

  private starting: Promise<void> | null = null;

  /** Starts the workers ahead of the first job. */
  warm(): void {
    if (!this.failed) this.start().catch(() => undefined);
  }

  private start(): Promise<void> {
    this.starting ??= workerEntry().then(({ url, execArgv }) => this.spawn(url, execArgv), (e: Error) => {
      this.failed = e;
      throw e;
    });
    return this.starting;
  }

  private spawn(url: URL, execArgv: string[]): void {
    if (this.terminated) return;
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(url, { execArgv });
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (msg: { id: number; error?: string }) => {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        if (slot.pending.size === 0) worker.unref();
        if (msg.error) p.reject(new Error(`CPU filter worker failed: ${msg.error}`));
        else p.resolve();
      });
      const fail = (e: Error): void => {
        this.failed = e;
        for (const p of slot.pending.values()) p.reject(new Error(`CPU filter worker died: ${e.message}`));
        slot.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (slot.pending.size > 0) fail(new Error(`exit code ${code}`));
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Runs job i on worker i (jobs.length <= size). */
  async run(jobs: Omit<FilterJob, 'id'>[]): Promise<void> {
    if (this.failed) throw new Error(`CPU filter worker pool is broken: ${this.failed.message}`);
    await this.start();
    if (this.terminated || this.slots.length === 0) throw new Error('CPU filter worker pool was terminated');
    return Promise.all(jobs.map((job, i) => new Promise<void>((resolve, reject) => {
      const slot = this.slots[i % this.slots.length];
      const id = this.nextId++;
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ ...job, id });
    }))).then(() => undefined);
  }

  private terminated = false;

  terminate(): void {
    this.terminated = true;
    for (const s of this.slots) void s.worker.terminate();
    this.slots = [];
  }
}
