// Imported by vitest.config.ts, i.e. in vitest's main process, which forwards what the test
// workers write to their stderr. A worker's stderr is a socket, which the library cannot
// reopen to capture Dawn's native start-up warnings (src/engines/webgpu/native-stderr.ts), so
// they are dropped here, line by line, before vitest prints them.
import { DAWN_LIMIT_WARNING } from '../src/engines/webgpu/native-stderr.js';

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  (stream as unknown as { write: typeof write }).write = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : null;
    if (text === null || !text.includes('artificially reduced')) return write(chunk, ...rest);
    const kept = text.split('\n').filter((line) => !DAWN_LIMIT_WARNING.test(line.trim())).join('\n');
    return write(kept, ...rest);
  };
}
