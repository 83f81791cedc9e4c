/**
 * Where a worker thread's entry module is. From dist/ the compiled `.js` sits beside its
 * source position. From the TypeScript sources (vitest, benchmarks through
 * scripts/ts-loader.mjs), the entry's module graph is transpiled once into a
 * content-addressed folder, because a worker that loads the TypeScript compiler itself takes
 * over a second to start (25 ms from the cached copy).
 *
 * The graph is followed through the transpiled output, so type-only imports (elided by the
 * compiler) never pull in modules the worker does not run. Bare specifiers are not supported
 * in a worker's graph (the cached copy has no node_modules beside it): worker modules import
 * only node: built-ins and each other.
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
    const ts = ((await import('typescript')) as unknown as { default: typeof import('typescript') }).default;
    const root = fileURLToPath(ROOT);
    // Transpile the graph in memory first: the folder name is the hash of every module's text.
    const outputs = new Map<string, string>();
    const queue = [fileURLToPath(tsEntry)];
    while (queue.length > 0) {
      const file = queue.pop()!;
      const rel = relative(root, file).split('\\').join('/');
      if (outputs.has(rel)) continue;
      const text = readFileSync(file, 'utf8');
      const out = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      outputs.set(rel, out);
      for (const m of out.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
        queue.push(join(dirname(file), `${m[1]}.ts`));
      }
    }
    const names = [...outputs.keys()].sort();
    const hash = createHash('sha256');
    for (const n of names) hash.update(n).update('\0').update(outputs.get(n)!).update('\0');
    const dir = join(tmpdir(), `spikesift-worker-${hash.digest('hex').slice(0, 16)}`);
    const entryJs = posix.join(dir, `${relative(root, fileURLToPath(tsEntry)).split('\\').join('/').replace(/\.ts$/, '.js')}`);
    if (!existsSync(entryJs)) {
      const staging = mkdtempSync(join(tmpdir(), 'spikesift-worker-tmp-'));
      writeFileSync(join(staging, 'package.json'), '{"type":"module"}\n');
      for (const n of names) {
        const target = join(staging, n.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, outputs.get(n)!);
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
