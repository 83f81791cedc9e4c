// The real acquisition metadata in ../shared/data (beside the repository root, as CI lays it
// out). Tests that need it skip, saying why, when the folder is missing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data');
export const HAVE_SHARED_DATA = fs.existsSync(path.join(SHARED_DATA, 'spikeglx'));
if (!HAVE_SHARED_DATA) console.log(`skipping the real-metadata format tests: ${SHARED_DATA} is missing (CI puts shared/ beside the clone)`);

/** Positions with each axis's minimum subtracted (readers differ in where x = 0 is). */
export function translated(p: readonly (readonly number[])[]): number[][] {
  const mx = Math.min(...p.map((r) => r[0]));
  const my = Math.min(...p.map((r) => r[1]));
  return p.map((r) => [r[0] - mx, r[1] - my]);
}
