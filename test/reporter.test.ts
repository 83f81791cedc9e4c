// The test run prints one line per failure plus the summary: console output of passing tests
// (ground-truth tables, adapter names) is not shown (vitest.config.ts, test/summary-reporter.ts).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('a run prints one line per failure and the summary line, nothing from passing tests', () => {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  expect(r.status).toBe(1);
  expect(lines).toEqual([
    'FAIL test/fixtures/reporter/run.sample.ts > fails with a message: two is not three: expected 2 to be 3 // Object.is equality',
    'Tests: 1 passed, 1 failed, 0 skipped',
  ]);
}, 150_000);
