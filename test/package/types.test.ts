/**
 * The published package's types compile for a consumer that installs only spikesift and runs a
 * plain `tsc --strict` (no skipLibCheck): the package is built, packed with npm pack, installed
 * from the tarball into a tiny project (its dependencies come from the npm registry or npm's
 * cache), and a .ts file using the public API is type-checked.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-pack-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const CONSUMER = `import { performSpikeSorting, Recording, SortedRecording, exportPhy, probeAdapter, type SortOptions } from 'spikesift';
const options: SortOptions = { detectionSensitivity: 10, backend: 'auto' };
export async function sortFile(file: string): Promise<number> {
  const rec = new Recording({ binaryFile: file, dataType: 'int16', probeGeometry: [[0, 0], [0, 20]], samplingFrequency: 30000 });
  const sorted: SortedRecording = await performSpikeSorting(rec, options);
  exportPhy(sorted, 'phy', { recording: rec });
  const probe = await probeAdapter();
  return sorted.length + (probe.adapter ? 1 : 0);
}
`;

describe('the published .d.ts', () => {
  it('compiles in a consumer project with plain tsc --strict', (ctx) => {
    const pkg = path.join(root, 'pkg');
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = run(process.execPath, [tsc, '-p', path.join(repo, 'tsconfig.build.json'), '--outDir', path.join(pkg, 'dist')], repo);
    expect(build.status, build.out).toBe(0);
    for (const f of ['package.json', 'README.md']) fs.copyFileSync(path.join(repo, f), path.join(pkg, f));
    fs.cpSync(path.join(repo, 'shaders'), path.join(pkg, 'shaders'), { recursive: true });
    const pack = run('npm', ['pack', '--silent', '--pack-destination', root], pkg);
    expect(pack.status, pack.out).toBe(0);
    const tarball = path.join(root, pack.out.trim().split('\n').pop()!.trim());
    expect(fs.existsSync(tarball), pack.out).toBe(true);

    const consumer = path.join(root, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    fs.writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true }, files: ['index.ts'] }));
    fs.writeFileSync(path.join(consumer, 'index.ts'), CONSUMER);
    const install = run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', tarball], consumer);
    if (install.status !== 0 && /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENETUNREACH/.test(install.out)) {
      console.log(`skipping: the npm registry cannot be reached to install spikesift's dependencies (${install.out.split('\n')[0]})`);
      ctx.skip();
    }
    expect(install.status, install.out).toBe(0);
    // Only spikesift and what it depends on: the consumer has no @types of its own.
    expect(JSON.parse(fs.readFileSync(path.join(consumer, 'package.json'), 'utf8')).dependencies).toEqual({ spikesift: expect.any(String) });
    const check = run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);
  }, 300_000);
});
