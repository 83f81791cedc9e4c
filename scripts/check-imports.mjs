// Checks the module graph of src/: no import cycles (type-only imports included), and no module
// outside src/engines/ imports WebGPU code (src/engines/webgpu/ or the 'webgpu' package).
// Usage: node scripts/check-imports.mjs [ROOT]   (ROOT defaults to src/; exit 1 with the offending paths)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ? resolve(process.argv[2]) : resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const files = [];
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(root);
const edges = new Map();
const problems = [];
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
    const spec = m[1];
    const rel = relative(root, f);
    if (spec === 'webgpu' && !rel.startsWith('engines/')) problems.push(`${rel} imports the webgpu package`);
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(f), spec.replace(/\.js$/, '.ts'));
    deps.push(target);
    if (relative(root, target).startsWith('engines/webgpu/') && !rel.startsWith('engines/')) {
      problems.push(`${rel} imports GPU code ${relative(root, target)}`);
    }
  }
  edges.set(f, deps);
}
// Cycles: depth-first search with colours.
const colour = new Map();
const stack = [];
const visit = (f) => {
  colour.set(f, 1);
  stack.push(f);
  for (const d of edges.get(f) ?? []) {
    if (!edges.has(d)) continue;
    if (colour.get(d) === 1) {
      const cyc = stack.slice(stack.indexOf(d)).concat(d).map((x) => relative(root, x));
      problems.push(`import cycle: ${cyc.join(' -> ')}`);
    } else if (!colour.has(d)) visit(d);
  }
  stack.pop();
  colour.set(f, 2);
};
for (const f of files) if (!colour.has(f)) visit(f);
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`check-imports: ${files.length} modules, no import cycle, GPU code only under engines/`);
