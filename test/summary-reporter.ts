// The test run's output: one line per failed test (file, test name, first line of the error)
// and a closing line, "Tests: N passed, N failed, N skipped", that tools reading a run's last
// line (CI dashboards, log scrapers) understand without parsing vitest's coloured summary.
// Console output of passing tests is not shown (vitest.config.ts: silent 'passed-only');
// `npx vitest run --reporter=default FILE` gives vitest's full view while working on a test.
import type { Reporter, TestModule } from 'vitest/node';

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const lines: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') {
          failed++;
          const err = result.errors?.[0];
          lines.push(`FAIL ${mod.moduleId.replace(process.cwd() + '/', '')} > ${test.fullName}: ${firstLine(err?.message ?? String(err))}`);
        } else skipped++;
      }
      // A file that failed to load has no tests but is a failure all the same.
      if (mod.state() === 'failed' && mod.children.size === 0) {
        failed++;
        lines.push(`FAIL ${mod.moduleId.replace(process.cwd() + '/', '')}: ${firstLine((mod.errors()[0] as { message?: string } | undefined)?.message)}`);
      }
    }
    for (const e of unhandledErrors) lines.push(`ERROR (unhandled): ${firstLine((e as { message?: string })?.message ?? String(e))}`);
    process.stdout.write(`${lines.map((l) => l + '\n').join('')}Tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
