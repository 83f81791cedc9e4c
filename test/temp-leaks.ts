// vitest globalSetup: every test file's temp folders must be gone when the run ends. The run
// gets a private temp folder (TMPDIR, inherited by the test workers and the processes they
// start), so that other programs' spikesift-* folders in the system temp dir do not count;
// whatever is left in it at the end is listed and fails the run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let root = '';

export function setup(): void {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-test-run-'));
  process.env.TMPDIR = root;
}

export function teardown(): void {
  // spikesift-worker-<hash>: the transpiled worker scripts of a run from the TypeScript
  // sources (src/engines/cpu/worker-script.ts), a cache by design; removed with the root.
  const left = fs.readdirSync(root).filter((n) => !/^spikesift-worker-[0-9a-f]{16}$/.test(n));
  fs.rmSync(root, { recursive: true, force: true });
  if (left.length > 0) {
    // One line and a failing exit status (an exception here would print a stack and exit 0).
    process.stdout.write(`FAIL the tests left ${left.length} temp folder(s) behind (each test must remove what it makes): ${left.sort().join(', ')}\n`);
    process.exitCode = 1;
  }
}
