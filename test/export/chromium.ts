// Opening a page in Debian's headless Chromium for the report tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = process.env.SPIKESIFT_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

function baseArgs(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
  ];
}

/** The DOM after scripts ran (--dump-dom) and a PNG screenshot of the page. */
export function renderInChromium(htmlFile: string, screenshot: string, windowSize = '1100,2000'): { dom: string; stderr: string } {
  const url = pathToFileURL(path.resolve(htmlFile)).href;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-chromium-'));
  try {
    const dump = spawnSync(CHROMIUM, [...baseArgs(profile), '--dump-dom', url], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
    if (dump.status !== 0) throw new Error(`chromium --dump-dom exited with ${dump.status ?? dump.signal}: ${dump.stderr}`);
    const shot = spawnSync(CHROMIUM, [...baseArgs(profile), `--window-size=${windowSize}`, `--screenshot=${path.resolve(screenshot)}`, url], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    if (shot.status !== 0) throw new Error(`chromium --screenshot exited with ${shot.status ?? shot.signal}: ${shot.stderr}`);
    return { dom: dump.stdout, stderr: dump.stderr + shot.stderr };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
