import { defineConfig } from 'vitest/config';
import './test/quiet-workers.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // A private TMPDIR for the run; temp folders left at the end fail it (test/temp-leaks.ts).
    globalSetup: ['./test/temp-leaks.ts'],
    setupFiles: ['./test/setup-temp.ts'],
    // One line per failure and a closing count (test/summary-reporter.ts); console output only
    // from failing tests, so no ground-truth tables or adapter names in a passing run.
    reporters: ['./test/summary-reporter.ts'],
    silent: 'passed-only',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
