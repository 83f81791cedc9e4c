// Writes the generated parts of README.md: the sorting option table from the parameter table
// (src/core/params.ts), between <!-- parameters:begin --> and <!-- parameters:end -->.
//   npm run docs
import { readFileSync, writeFileSync } from 'node:fs';
import { parameterTableMarkdown } from '../src/core/params.js';

const file = new URL('../README.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const begin = '<!-- parameters:begin -->';
const end = '<!-- parameters:end -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error(`README.md has no ${begin} ... ${end} section`);
const next = `${text.slice(0, a + begin.length)}\n${parameterTableMarkdown()}\n${text.slice(b)}`;
if (next !== text) writeFileSync(file, next);
console.log(next === text ? 'README.md is up to date' : 'README.md: parameter table rewritten');
