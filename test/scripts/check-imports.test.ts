// The import rules of the acceptance (no import cycle, GPU code only under src/engines/) hold
// for src/, and the check finds a cycle and a stray GPU import where there are some.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempFolder } from '../temp-dirs.js';

const script = fileURLToPath(new URL('../../scripts/check-imports.mjs', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

describe('npm run check:imports', () => {
  it('src/ has no import cycle and no GPU import outside engines/', () => {
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no import cycle, GPU code only under engines\//);
  });

  it('reports a cycle, type-only imports included, and a GPU import outside engines/', () => {
    const root = tempFolder('spikesift-imports-');
    mkdirSync(join(root, 'stages'));
    mkdirSync(join(root, 'engines', 'webgpu'), { recursive: true });
    writeFileSync(join(root, 'stages', 'a.ts'), "import { b } from './b.js';\nexport const a = b + 1;\n");
    writeFileSync(join(root, 'stages', 'b.ts'), "import type { A } from './c.js';\nexport const b = 1;\nexport type B = A;\n");
    writeFileSync(join(root, 'stages', 'c.ts'), "import { a } from './a.js';\nexport type A = typeof a;\n");
    writeFileSync(join(root, 'engines', 'webgpu', 'gpu.ts'), 'export const g = 1;\n');
    writeFileSync(join(root, 'stages', 'd.ts'), "import { g } from '../engines/webgpu/gpu.js';\nexport const d = g;\n");
    const r = run(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/import cycle: stages\/a\.ts -> stages\/b\.ts -> stages\/c\.ts -> stages\/a\.ts/);
    expect(r.stderr).toMatch(/stages\/d\.ts imports GPU code engines\/webgpu\/gpu\.ts/);
  });
});
