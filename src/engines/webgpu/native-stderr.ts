/**
 * Dawn writes a few lines straight to file descriptor 2 from native code when it enumerates
 * Vulkan adapters, e.g. on lavapipe, once per process:
 *   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ...
 * They are not about anything spikesift does (Dawn clamps a limit the driver reports as
 * "unlimited"; spikesift uses no dynamic buffers), there is no toggle or callback that silences
 * them, and they reach the user through every command, `--quiet` included, and through the
 * library. Node cannot dup2(), so while the adapter is first requested, fd 2 is pointed at a
 * temporary file by closing it and opening the file (the lowest free descriptor is reused), and
 * afterwards fd 2 is reopened from /proc/self/fd. Lines Dawn wrote there that are not these
 * known warnings are written to the real stderr afterwards, so nothing else is lost.
 *
 * Linux only (Vulkan is where Dawn prints them, and /proc/self/fd is needed to restore fd 2),
 * and only when stderr is a terminal or a pipe; elsewhere (a regular file, a socket) `fn` simply
 * runs and Dawn's lines stay.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Dawn's limit-clamping warnings: harmless, printed by native code on every Vulkan run. */
export const DAWN_LIMIT_WARNING = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** The lines of `text` that are not Dawn's known limit warnings. */
export function withoutDawnLimitWarnings(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !DAWN_LIMIT_WARNING.test(line.trim()))
    .map((line) => line + '\n')
    .join('');
}

/**
 * Runs `fn` with native writes to fd 2 captured; JS writes to process.stderr during it are
 * held and written after, in order. Returns what `fn` returns.
 */
export async function withNativeStderrCaptured<T>(fn: () => Promise<T>): Promise<T> {
  if (process.platform !== 'linux' || process.env.SPIKESIFT_DAWN_STDERR === 'show') return fn();
  let saved: number;
  try {
    // Only a terminal or a pipe can be reopened as the same thing. A regular file (`2>log`,
    // `>log 2>&1`) would come back with its own offset and overwrite what stdout writes.
    const st = fs.fstatSync(2);
    if (!st.isFIFO() && !st.isCharacterDevice()) return fn();
    // A second descriptor on whatever fd 2 is (terminal, pipe, file; append so a file is not overwritten).
    saved = fs.openSync('/proc/self/fd/2', 'a');
  } catch {
    return fn();
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spikesift-dawn-'));
  const capture = path.join(dir, 'stderr.txt');
  const held: string[] = [];
  const stderr = process.stderr as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean };
  const realWrite = stderr.write;
  let redirected = false;
  try {
    fs.closeSync(2);
    const fd = fs.openSync(capture, 'w');
    redirected = fd === 2;
    if (!redirected) {
      // fd 2 was taken by another thread's open() in the instant it was free (no async fs work
      // runs while the adapter is first requested, so this is not expected): leave it alone.
      fs.closeSync(fd);
    } else {
      stderr.write = (chunk: unknown) => {
        held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return true;
      };
    }
    return await fn();
  } finally {
    if (redirected) {
      stderr.write = realWrite;
      restoreFd2(saved);
    }
    fs.closeSync(saved);
    let other = '';
    try {
      other = withoutDawnLimitWarnings(fs.readFileSync(capture, 'utf8'));
    } catch {
      // nothing captured
    }
    fs.rmSync(dir, { recursive: true, force: true });
    if (other) fs.writeSync(2, other);
    for (const s of held) process.stderr.write(s);
  }
}

/** Makes fd 2 the object `saved` refers to again (fd 2 must be free or the capture file). */
function restoreFd2(saved: number): void {
  try {
    fs.closeSync(2);
  } catch {
    // already closed
  }
  const fd = fs.openSync(`/proc/self/fd/${saved}`, 'a');
  if (fd !== 2) {
    // Should not happen (2 was just freed); keep the process usable rather than lose stderr silently.
    fs.closeSync(fd);
    throw new Error('could not restore stderr (fd 2) after capturing Dawn\'s start-up messages');
  }
}
