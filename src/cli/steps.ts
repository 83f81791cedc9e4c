// What a command is doing while it runs, and what it took: one line when each long step
// starts and one when it ends (with its time), so no step runs for seconds without output; on a
// terminal the start line is replaced by the end line. The command's last line gives the total
// wall time and what was written where.

import type { CliIO } from './args.js';

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export class CommandSteps {
  private readonly t0 = performance.now();

  constructor(private readonly io: CliIO, private readonly quiet: boolean) {}

  /** Runs `fn` as one step called `label` ("exporting Phy folder"), printing its start and time. */
  async step<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
    const t = performance.now();
    const tty = this.io.isTTY === true;
    if (!this.quiet) {
      if (tty && this.io.errRaw) this.io.errRaw(`${label} ...`);
      else this.io.err(`${label} ...`);
    }
    const value = await fn();
    if (!this.quiet) {
      const line = `${label}: ${seconds(performance.now() - t)}`;
      if (tty && this.io.errRaw) this.io.errRaw(`\r${line}\x1b[K\n`);
      else this.io.err(line);
    }
    return value;
  }

  /** Wall time since the command started. */
  elapsedSeconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** The command's final line on stdout: total wall time and what was written where. */
  finish(what: string): void {
    this.io.out(`done in ${seconds(performance.now() - this.t0)} (wall time of the whole command): ${what}`);
  }
}
