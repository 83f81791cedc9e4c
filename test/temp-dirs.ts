// Temp folders of a test file, removed when the file ends: test/setup-temp.ts (a vitest
// setupFile, so its afterAll belongs to every file) removes what tempFolder() registered,
// wherever it was called (a hook, a describe block or a test).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

export function tempFolder(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempFolders(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
