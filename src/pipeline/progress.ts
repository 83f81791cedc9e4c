/**
 * Progress on stderr while sorting: a redrawn bar on a terminal, at most one line per second
 * otherwise (logs, CI), and a one-line summary at the end. Silent when disabled.
 */

const TTY_INTERVAL_MS = 100;
const LOG_INTERVAL_MS = 1000;
const BAR_WIDTH = 24;

export class ProgressReporter {
  private readonly t0 = performance.now();
  private last = -Infinity;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly enabled: boolean,
    private readonly totalMs: number,
    _samplingFrequency: number,
    _samplesPerMs: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** doneMs of totalMs recording milliseconds processed. */
  update(doneMs: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    const final = doneMs >= this.totalMs;
    if (!final && now - this.last < (this.tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS)) return;
    this.last = now;
    const line = formatProgress(doneMs, this.totalMs, now - this.t0);
    if (this.tty) {
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  finish(summary: string): void {
    if (!this.enabled) return;
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(`${summary}\n`);
  }
}

export function formatProgress(doneMs: number, totalMs: number, elapsedMs: number): string {
  const frac = totalMs > 0 ? Math.min(1, doneMs / totalMs) : 1;
  const filled = Math.round(frac * BAR_WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
  const speed = elapsedMs > 0 ? doneMs / elapsedMs : 0;
  const etaS = speed > 0 ? (totalMs - doneMs) / speed / 1000 : NaN;
  const eta = Number.isFinite(etaS) ? formatSeconds(etaS) : '?';
  return `sorting [${bar}] ${(doneMs / 1000).toFixed(1)}/${(totalMs / 1000).toFixed(1)} s ` +
    `${(frac * 100).toFixed(0)}%  ${speed.toFixed(1)}x real time  ETA ${eta}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - 60 * m)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
