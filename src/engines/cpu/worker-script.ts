/**
 * Where a worker thread's entry module is. From dist/ the compiled `.js` sits beside its
 * source position. From the TypeScript sources (vitest, benchmarks through
 * scripts/ts-loader.mjs), the entry's module graph is transpiled once into a
 * content-addressed folder, because a worker that loads the TypeScript compiler itself takes
 * over a second to start (25 ms from the cached copy).
 *
 * Bare specifiers are not supported in a worker's graph (the cached copy has no node_modules
 * beside it): worker modules import only node: built-ins and each other.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerScript {
  url: URL;
  execArgv: string[];
}

/** The package's src/ (or dist/) root: this module lives in <root>/engines/cpu/. */
const ROOT = new URL('../../', import.meta.url);

const cache = new Map<string, Promise<WorkerScript>>();

/**
 * @param entry path of the entry module relative to src/ without extension, e.g.
 *   'engines/cpu/filter-worker'
 */
export function workerScript(entry: string): Promise<WorkerScript> {
  let p = cache.get(entry);
  if (!p) {
    p = locate(entry);
    cache.set(entry, p);
  }
  return p;
}

async function locate(entry: string): Promise<WorkerScript> {
  const js = new URL(`${entry}.js`, ROOT);
  if (existsSync(fileURLToPath(js))) return { url: js, execArgv: [] };
  const tsEntry = new URL(`${entry}.ts`, ROOT);
  if (!existsSync(fileURLToPath(tsEntry))) {
    throw new Error(`spikesift: worker module ${entry} not found under ${fileURLToPath(ROOT)}; rebuild the package (npm run build)`);
  }
  try {
    const root = fileURLToPath(ROOT);
    // The graph from the sources' relative imports (type-only ones too: a module the worker never
    // loads only costs a transpile on a cache miss). The folder name is the hash of every text,
    // so the compiler is loaded only when a source changed.
    const sources = new Map<string, string>();
    const queue = [fileURLToPath(tsEntry)];
    while (queue.length > 0) {
      const file = queue.pop()!;
      const rel = relative(root, file).split('\\').join('/');
      if (sources.has(rel)) continue;
      const text = readFileSync(file, 'utf8');
      sources.set(rel, text);
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
        queue.push(join(dirname(file), `${m[1]}.ts`));
      }
    }
    const names = [...sources.keys()].sort();
    const hash = createHash('sha256');
    for (const n of names) hash.update(n).update('\0').update(sources.get(n)!).update('\0');
    const dir = join(tmpdir(), `spikesift-worker-${hash.digest('hex').slice(0, 16)}`);
    const entryJs = posix.join(dir, relative(root, fileURLToPath(tsEntry)).split('\\').join('/').replace(/\.ts$/, '.js'));
    if (!existsSync(entryJs)) {
      // Loading the compiler costs ~0.3 s: only on a cache miss.
      const ts = ((await import('typescript')) as unknown as { default: typeof import('typescript') }).default;
      const staging = mkdtempSync(join(tmpdir(), 'spikesift-worker-tmp-'));
      writeFileSync(join(staging, 'package.json'), '{"type":"module"}\n');
      for (const n of names) {
        const out = ts.transpileModule(sources.get(n)!, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
        const target = join(staging, n.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, out);
      }
      try {
        renameSync(staging, dir);
      } catch {
        rmSync(staging, { recursive: true, force: true });  // another process made it first
      }
    }
    return { url: pathToFileURL(entryJs), execArgv: [] };
  } catch {
    // No compiler at hand: let the worker transpile on load (slow start, same result).
    const loader = new URL('../scripts/ts-loader.mjs', ROOT);
    return { url: tsEntry, execArgv: ['--import', loader.href] };
  }
}
