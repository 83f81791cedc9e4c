// Lets `node --import ./scripts/ts-loader.mjs file.ts` run TypeScript on Node 20 (which has
// no type stripping) for benchmarks and examples: each .ts module is transpiled on load
// with the TypeScript compiler already in devDependencies. Imports written as `./x.js`
// resolve to `./x.ts` as tsc's NodeNext resolution does.
import { register } from 'node:module';
register('./ts-hooks.mjs', import.meta.url);
