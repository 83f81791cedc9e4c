import type { CliIO } from '../../src/cli/args.js';
import { runCli } from '../../src/cli/main.js';

export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process with captured output. */
export async function cli(...argv: (string | number)[]): Promise<Captured> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => void (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => void (err += t.endsWith('\n') ? t : t + '\n'),
  };
  const code = await runCli(argv.map(String), io);
  return { code, out, err };
}
