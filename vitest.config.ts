import { defineConfig } from 'vitest/config';
import './test/quiet-workers.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // One line per failure and a closing count (test/summary-reporter.ts); console output only
    // from failing tests, so no ground-truth tables or adapter names in a passing run.
    reporters: ['./test/summary-reporter.ts'],
    silent: 'passed-only',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
